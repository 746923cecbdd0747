//! Which variant of an experiment a device sees: sticky, seeded, without a server.
//!
//! A device draws a random id once (kept with its events); its variant is a hash of that id
//! and the experiment's name, mapped onto the variants' weights. The same device and
//! experiment always give the same variant; different experiments are independent; over many
//! devices the shares follow the weights.

use crate::error::{Error, Result};

/// 64-bit FNV-1a of `bytes`, then a final avalanche (splitmix64) so that close inputs land
/// far apart.
fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The index of the variant that device `device_id` sees in `experiment`, given each variant's
/// weight (in order): a uniform number in `[0, 1)` from the hash of `device_id:experiment`,
/// placed on the cumulative shares. Errors: no variant, or a weight that is negative, not
/// finite, or all zero.
pub fn assign(device_id: &str, experiment: &str, weights: &[f64]) -> Result<usize> {
    if weights.is_empty() {
        return Err(Error::invalid("variants", "an experiment needs at least one variant"));
    }
    if let Some(w) = weights.iter().find(|w| !w.is_finite() || **w < 0.0) {
        return Err(Error::invalid("weights", format!("a variant's weight must be a finite number ≥ 0, got {w}")));
    }
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return Err(Error::invalid("weights", "at least one variant needs a weight above 0"));
    }
    let u = (hash(format!("{device_id}:{experiment}").as_bytes()) >> 11) as f64 / (1u64 << 53) as f64;
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w / total;
        if u < acc && *w > 0.0 {
            return Ok(i);
        }
    }
    Ok(weights.iter().rposition(|w| *w > 0.0).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sticky_balanced_and_weighted() {
        assert_eq!(assign("device-1", "exp", &[1.0, 1.0]).unwrap(), assign("device-1", "exp", &[1.0, 1.0]).unwrap());
        let share = |weights: &[f64], exp: &str| {
            let n = 20_000;
            let first = (0..n).filter(|d| assign(&format!("dev-{d}"), exp, weights).unwrap() == 0).count();
            first as f64 / n as f64
        };
        let half = share(&[1.0, 1.0], "a");
        assert!((half - 0.5).abs() < 0.015, "{half}");
        let tenth = share(&[1.0, 9.0], "a");
        assert!((tenth - 0.1).abs() < 0.01, "{tenth}");
        assert_eq!(share(&[0.0, 1.0], "a"), 0.0, "a zero weight is never drawn");
        // Two experiments split the same devices independently: about half agree.
        let n = 20_000;
        let agree = (0..n)
            .filter(|d| {
                let id = format!("dev-{d}");
                assign(&id, "x", &[1.0, 1.0]).unwrap() == assign(&id, "y", &[1.0, 1.0]).unwrap()
            })
            .count() as f64
            / n as f64;
        assert!((agree - 0.5).abs() < 0.015, "{agree}");
    }

    #[test]
    fn bad_weights_are_errors() {
        assert!(assign("d", "e", &[]).is_err());
        assert!(assign("d", "e", &[0.0, 0.0]).is_err());
        assert!(assign("d", "e", &[1.0, -1.0]).is_err());
        assert!(assign("d", "e", &[f64::NAN]).is_err());
        assert_eq!(assign("d", "e", &[3.0]).unwrap(), 0);
    }
}
