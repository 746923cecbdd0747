//! Choosing the compute backend by name (native only): `cpu` is burn's `flex` backend, always
//! built in; `wgpu` (Vulkan, Metal, DX12 through wgpu) and `cuda` need the crate features of
//! the same names. [`device`] opens one and checks that it computes, so a missing GPU or driver
//! is an [`Error`] here rather than a panic in the middle of training.

use burn::tensor::{Device, Tensor};

use crate::error::{Error, Result};

/// The names [`device`] accepts.
pub const BACKENDS: [&str; 3] = ["cpu", "wgpu", "cuda"];

/// Whether this build has the backend called `name` (`cpu` always).
pub fn built_in(name: &str) -> bool {
    match name {
        "cpu" => true,
        "wgpu" => cfg!(feature = "wgpu"),
        "cuda" => cfg!(feature = "cuda"),
        _ => false,
    }
}

/// Opens the backend called `name` ([`BACKENDS`]) and runs a tiny computation on it. The error
/// says why it is not available: not built in (with the feature to build it with), or no device
/// or driver found.
pub fn device(name: &str) -> Result<Device> {
    let bad = |problem: String| Error::invalid("device", problem);
    let device = match name {
        "cpu" => Device::flex(),
        "wgpu" | "cuda" if !built_in(name) => {
            return Err(bad(format!(
                "`{name}`: this localrec was built without the `{name}` feature (build with `--features {name}`)"
            )));
        }
        #[cfg(feature = "wgpu")]
        "wgpu" => Device::wgpu_options().init().map_err(|e| bad(format!("no wgpu device: {e}")))?,
        #[cfg(feature = "cuda")]
        "cuda" => Device::cuda(0),
        other => return Err(bad(format!("unknown backend `{other}` (available: {})", BACKENDS.join(", ")))),
    };
    probe(&device).map_err(|e| bad(format!("`{name}` is not usable here: {e}")))?;
    Ok(device)
}

/// Adds two numbers on `device` and reads the sum back; a backend that cannot start panics on
/// first use, which is caught (and kept off stderr) here.
fn probe(device: &Device) -> std::result::Result<(), String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(|| {
        let t = Tensor::<1>::from_floats([1.0, 2.0], device);
        t.sum().try_into_vec_as::<f32>().map_err(|e| format!("{e:?}"))
    });
    std::panic::set_hook(hook);
    match result {
        Ok(Ok(v)) if v == [3.0] => Ok(()),
        Ok(Ok(v)) => Err(format!("1 + 2 came back as {v:?}")),
        Ok(Err(e)) => Err(e),
        Err(panic) => Err(panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "it failed to start".into())
            .lines()
            .next()
            .unwrap_or("")
            .to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_always_works_and_other_names_are_clear_errors() {
        assert_eq!(device("cpu").unwrap(), Device::flex());
        let e = device("tpu").unwrap_err().to_string();
        assert!(e.contains("unknown backend `tpu`") && e.contains("cpu, wgpu, cuda"), "{e}");
        for gpu in ["wgpu", "cuda"] {
            if !built_in(gpu) {
                let e = device(gpu).unwrap_err().to_string();
                assert!(e.contains(&format!("--features {gpu}")), "{e}");
            }
        }
    }
}
