//! `localrec data` (fetch, list, export, stats), and loading the data every command works on.

use std::path::Path;
use std::time::Instant;

use localrec::Result;
use localrec::data::fetch::fetch_ml100k;
use localrec::data::format::{NAMED_DATASETS, Source, find_shared_dir};
use localrec::data::loaders::load;
use localrec::data::{DataSpec, Dataset, Split};

use crate::args::{DataArgs, DataCommand, LoadArgs};
use crate::output::{to_json, write_file};
use crate::ui::Ui;

/// Runs a `localrec data` subcommand.
pub fn run(cmd: DataCommand, data_dir: &Path, ui: &Ui) -> Result<()> {
    match cmd {
        DataCommand::Fetch { name: _, wheel } => {
            let dir = fetch_ml100k(data_dir, wheel.as_deref())?;
            println!("ml-100k is ready in {}", dir.display());
            Ok(())
        }
        DataCommand::List => {
            list_datasets(data_dir);
            Ok(())
        }
        DataCommand::Export { data, load, out } => {
            let ds = load_data(&data, &load, data_dir, ui)?;
            write_file(&out, ds.to_json()?.as_bytes())?;
            ui.say(&format!(
                "{} ({} users, {} items, fingerprint {}) written to {}",
                ds.name,
                ds.seqs.len(),
                ds.num_items(),
                ds.fingerprint(),
                out.display()
            ));
            Ok(())
        }
        DataCommand::Stats { data, load, json } => {
            let ds = load_data(&data, &load, data_dir, ui)?;
            let s = ds.stats();
            if json {
                println!("{}", to_json(&s)?);
            } else {
                print_stats(&s);
            }
            Ok(())
        }
    }
}

fn load_data(spec: &str, args: &LoadArgs, data_dir: &Path, ui: &Ui) -> Result<Dataset> {
    let spec = DataSpec::parse(spec);
    if matches!(&spec, DataSpec::Named(n) if n == "ml-100k") && !data_dir.join("ml-100k").join("ml-100k.inter").exists()
    {
        ui.say("ml-100k is not in the data folder yet: fetching it from the recbole 1.2.1 wheel on PyPI ...");
        fetch_ml100k(data_dir, None)?;
    }
    let opts = args.load_options(data_dir)?;
    let t = Instant::now();
    let ds = load(&spec, &opts)?;
    ui.say(&format!(
        "loaded {}: {} users, {} items, {} interactions in {:.1}s",
        ds.name,
        ds.num_users(),
        ds.num_items(),
        ds.num_interactions(),
        t.elapsed().as_secs_f64()
    ));
    Ok(ds)
}

pub fn load_split(d: &DataArgs, data_dir: &Path, ui: &Ui) -> Result<Split> {
    Split::new(load_data(&d.data, &d.load, data_dir, ui)?, d.split)
}

fn print_stats(s: &localrec::data::DatasetStats) {
    println!("dataset        {}", s.name);
    println!("users          {}", s.users);
    println!("items          {}", s.items);
    println!("interactions   {}", s.interactions);
    println!("density        {:.5}%", s.density * 100.0);
    println!("sequence len   min {}  median {}  mean {:.2}  max {}", s.min_len, s.median_len, s.mean_len, s.max_len);
    let kinds: Vec<String> = s.kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!("event kinds    {}", kinds.join(", "));
    match s.time_span_ms {
        Some((a, b)) => println!("time span      {} .. {} (ms since epoch)", a, b),
        None => println!("time span      none (the data has no timestamps; order by position)"),
    }
    println!("titles         {} items", s.items_with_title);
    println!("categories     {}", s.categories);
    println!("top-20% share  {:.1}% of interactions", s.top20_share * 100.0);
    println!("fingerprint    {}", s.fingerprint);
}

fn list_datasets(data_dir: &Path) {
    let shared = find_shared_dir();
    for d in NAMED_DATASETS {
        let status = match (&d.source, &shared) {
            (Source::Fetched { dir }, _) if data_dir.join(dir).is_dir() => "ready".to_string(),
            (Source::Fetched { .. }, _) => "fetched on first use".to_string(),
            (Source::Shared { path }, Some(s)) if s.join(path).is_file() => "ready".to_string(),
            (Source::Shared { .. }, _) => "needs ../shared/data".to_string(),
            (Source::Unavailable { .. }, _) => "unavailable".to_string(),
        };
        println!("{:<13} {:<22} {}", d.name, status, d.description);
    }
}
