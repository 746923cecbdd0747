//! What the commands write besides their reports: files (atomically), JSON text, and the provenance
//! recorded with results (the backend and the command line behind them).

use std::path::Path;

use localrec::{Error, Result};

/// Writes `bytes` to `path` atomically (a temporary file, then a rename), creating folders.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// `v` as indented JSON.
pub fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v).map_err(|e| Error::Output(format!("could not write JSON: {e}")))
}

/// How a backend name of `--device` is reported (the CPU backend is burn's `flex`).
pub fn backend_label(device: &str) -> String {
    if device == "cpu" { "cpu (flex)".into() } else { device.into() }
}

/// This process's command line as `localrec <args>` (arguments with spaces quoted).
pub fn command_line() -> String {
    let mut s = String::from("localrec");
    for a in std::env::args().skip(1) {
        s.push(' ');
        if a.is_empty() || a.contains(char::is_whitespace) {
            s.push_str(&format!("'{a}'"));
        } else {
            s.push_str(&a);
        }
    }
    s
}
