//! `localrec`: the command-line tool. Thin: it parses arguments and calls the library.
//!
//! Where things are: `args.rs` holds every flag (clap) and turns them into the library's
//! configurations; each command with real work has its own file (`data.rs`, `compare.rs` for
//! `eval`, `compare` and `results`, `train.rs`, `export.rs`, `start.rs`, `ab_estimate.rs`); `ui.rs` is the
//! progress shown on stderr and `output.rs` the files and JSON written.

use std::process::ExitCode;

use clap::Parser;

use localrec::Result;
use localrec::data::format::default_data_dir;

mod ab_estimate;
mod args;
mod compare;
mod data;
mod export;
mod output;
mod start;
mod train;
mod ui;

use args::{Cli, Command};
use ui::Ui;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("localrec: internal error (please report it): {info}");
    }));
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("localrec: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    let data_dir = cli.data_dir.clone().unwrap_or_else(default_data_dir);
    let ui = Ui { quiet: cli.quiet };
    match cli.command {
        Command::Data(cmd) => data::run(cmd, &data_dir, &ui),
        Command::Eval(a) => compare::run_compare(&[a.model], &a.opts, &data_dir, &ui, false),
        Command::Compare(a) => compare::run_compare(&a.models, &a.opts, &data_dir, &ui, true),
        Command::Train(a) => train::run_train(&a, &data_dir, &ui),
        Command::Export(a) => export::run_export(&a),
        Command::AbEstimate(a) => ab_estimate::run_ab_estimate(&a),
        Command::Results { file } => compare::run_results(&file),
        Command::Start { out, port, no_serve, max_minutes } => {
            start::run_start(out, port, no_serve, max_minutes, &data_dir, &ui)
        }
    }
}
