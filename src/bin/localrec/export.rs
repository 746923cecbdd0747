//! `localrec export`: re-write a model bundle (e.g. with a half-precision item table), or check one.

use std::path::Path;
use std::time::Instant;

use localrec::bundle::{Bundle, CHECKSUM_LEN, FORMAT_VERSION, sha256, sha256_hex};
use localrec::item_table::TableFormat;
use localrec::{Error, Result, model};

use crate::args::ExportArgs;

pub fn run_export(a: &ExportArgs) -> Result<()> {
    let bundle = Bundle::load_file(&a.model)?;
    // Loading the weights into the model proves they fit the config.
    model::from_bundle(&bundle)?;
    let Some(out) = &a.out else {
        print_bundle_summary(&a.model, &bundle)?;
        return Ok(());
    };
    let format = match (&a.items, a.half) {
        (Some(f), _) => TableFormat::parse(f)?,
        (None, true) => TableFormat::F16,
        (None, false) => TableFormat::F32,
    };
    let t = Instant::now();
    let recoded = bundle.with_item_format(format, a.exact, a.seed)?;
    let encode_s = t.elapsed().as_secs_f64();
    model::from_bundle(&recoded)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    recoded.save_file(out)?;
    let file = std::fs::metadata(out).map_err(|e| Error::io(out, e))?.len();
    let exact =
        if a.exact > 0 { format!(", {} exact rows", a.exact.min(bundle.manifest.num_items())) } else { String::new() };
    println!(
        "{} ({}, item table {format}{exact}, encoded in {encode_s:.1} s) written to {}: {file} bytes ({} of weights, was {})",
        a.model.display(),
        recoded.manifest.encoder.kind,
        out.display(),
        recoded.weights.len(),
        bundle.weights.len()
    );
    Ok(())
}

fn print_bundle_summary(path: &Path, b: &Bundle) -> Result<()> {
    let m = &b.manifest;
    let tensors = localrec::bundle::weight_tensors(&b.weights)?;
    let table = tensors.iter().find(|t| t.item_table);
    let config = serde_json::to_string(&m.encoder.config).unwrap_or_default();
    let file = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    println!("bundle      {} ({} bytes)", path.display(), file.len());
    println!("format      {} (localrec {}, created {})", m.format_version, m.localrec_version, m.created);
    println!("encoder     {} {config}", m.encoder.kind);
    println!(
        "items       {} ({} with a title, {} categories)",
        m.num_items(),
        m.titles.iter().filter(|t| t.is_some()).count(),
        m.category_names.len()
    );
    match (&m.item_table, table) {
        (Some(spec), _) => println!(
            "item table  {} (version {}) {} rows x {}{}{}",
            spec.format,
            spec.version,
            spec.rows,
            spec.dim,
            if spec.format == "pq" {
                format!(", {} sub-spaces, {} exact rows", spec.subspaces, spec.exact)
            } else {
                String::new()
            },
            if spec.extra > 0 { format!(", {} extra rows", spec.extra) } else { String::new() }
        ),
        (None, Some(t)) => println!("item table  {} {:?}", t.dtype, t.shape),
        (None, None) => println!("item table  none found"),
    }
    println!(
        "weights     {} tensors, {} bytes, sha256 {} (checksum OK)",
        tensors.len(),
        b.weights.len(),
        m.weights_sha256
    );
    if m.format_version >= 3 && file.len() >= CHECKSUM_LEN {
        let (body, sum) = file.split_at(file.len() - CHECKSUM_LEN);
        let ok = if sha256(body) == sum { "checksum OK" } else { "checksum MISMATCH: the file changed after loading" };
        println!("file        sha256 {} of every byte before the last {CHECKSUM_LEN} ({ok})", sha256_hex(body));
    } else {
        println!(
            "file        no file checksum (format {}: only the weights are checked; `localrec export --out` writes \
             format {FORMAT_VERSION})",
            m.format_version
        );
    }
    println!(
        "data        {}: {} users, {} interactions, fingerprint {}",
        m.data.name, m.data.users, m.data.interactions, m.data.fingerprint
    );
    let metrics: Vec<String> = m.metrics.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
    println!("metrics     {}", if metrics.is_empty() { "none".to_string() } else { metrics.join(", ") });
    println!("model       loads ({} weights fit the config)", m.encoder.kind);
    Ok(())
}
