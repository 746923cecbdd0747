//! What the user sees while a command runs: progress bars and messages on stderr, none with --quiet.

use indicatif::{ProgressBar, ProgressStyle};

/// How a command talks to the user on stderr (`--quiet`: not at all).
pub struct Ui {
    pub quiet: bool,
}

impl Ui {
    pub fn bar(&self, len: u64, msg: &str) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::new(len);
        pb.set_style(
            ProgressStyle::with_template("{msg:>12} [{bar:30}] {human_pos}/{human_len} cases, eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        pb.set_message(msg.to_string());
        pb
    }

    pub fn say(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }
}
