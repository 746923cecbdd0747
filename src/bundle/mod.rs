//! Model bundles: one self-describing file that carries a trained model to the browser.
//!
//! A bundle holds everything inference needs and nothing it does not: the encoder's kind and
//! configuration, the item catalogue (external ids in index order, titles, categories), the
//! training popularity counts (the cold-start fallback and popularity ranking), where the model
//! came from (dataset name, fingerprint, size, metrics) and the weights. The core API works on
//! bytes only, so it is the same in native code and in WebAssembly; native code also has
//! [`Bundle::save_file`] and [`Bundle::load_file`].
//!
//! # Files
//!
//! | file | concept |
//! |---|---|
//! | `mod.rs` | the file format: [`Bundle`] to and from bytes, [`Bundle::save_file`] and [`Bundle::load_file`], [`MAGIC`], [`FORMAT_VERSION`] and the header checks |
//! | `manifest.rs` | what the weights are: [`Manifest`] and its consistency checks, [`EncoderSpec`], [`TrainedOn`], [`TrainingInfo`] |
//! | `weights.rs` | the weights as safetensors: [`weights_of`], [`weights_with`] (the item table in f16), [`load_weights`], [`recode_weights`], [`weight_tensors`] |
//! | `checksum.rs` | the weights checksum: [`sha256`], [`sha256_hex`] |
//! | `fixtures.rs` | (tests only) the tiny model and manifest the tests share |
//!
//! # File layout
//!
//! All integers are little-endian.
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 8 | magic `LRECBNDL` |
//! | 8 | 4 | format version, `u32` ([`FORMAT_VERSION`]) |
//! | 12 | 8 | manifest length `m`, `u64` |
//! | 20 | `m` | the [`Manifest`], UTF-8 JSON |
//! | 20 + `m` | 8 | weights length `w`, `u64` |
//! | 28 + `m` | `w` | the weights, a [safetensors](https://huggingface.co/docs/safetensors) file |
//!
//! Nothing follows the weights. The manifest comes first so that a reader can show what a
//! bundle is without touching the weights, and it is JSON so that a person (or `head -c`) can
//! read it; the weights are a standard safetensors file, so other tools can open them too. The
//! manifest records the SHA-256 of the weights ([`Manifest::weights_sha256`]), which
//! [`Bundle::from_bytes`] checks.
//!
//! # Example
//!
//! ```
//! use localrec::bundle::{Bundle, TrainedOn, EncoderSpec, Manifest};
//!
//! let manifest = Manifest {
//!     format_version: localrec::bundle::FORMAT_VERSION,
//!     localrec_version: env!("CARGO_PKG_VERSION").into(),
//!     created: "2026-11-23T12:00:00Z".into(),
//!     encoder: EncoderSpec { kind: "sasrec".into(), config: serde_json::json!({ "dim": 64 }) },
//!     items: vec!["tea".into(), "cups".into()],
//!     titles: vec![Some("Green tea".into()), None],
//!     categories: vec![vec![0], vec![]],
//!     category_names: vec!["kitchen".into()],
//!     popularity: vec![3, 1],
//!     data: TrainedOn { name: "shop".into(), fingerprint: "0123".into(), users: 2, interactions: 4 },
//!     metrics: Default::default(),
//!     weights_sha256: String::new(), // filled in by `Bundle::new`
//!     half_precision_items: false,
//!     training: None,
//! };
//! let bundle = Bundle::new(manifest, b"weights would go here".to_vec());
//! let bytes = bundle.to_bytes();
//! let back = Bundle::from_bytes(&bytes)?;
//! assert_eq!(back, bundle);
//! assert_eq!(back.manifest.vocab()?.lookup("cups")?, 2);
//! assert!(Bundle::from_bytes(b"PK\x03\x04 a zip file").is_err());
//! # Ok::<(), localrec::Error>(())
//! ```

use crate::error::{Error, Result};

mod checksum;
#[cfg(test)]
mod fixtures;
mod manifest;
mod weights;

pub use checksum::{sha256, sha256_hex};
pub use manifest::{EncoderSpec, Manifest, TrainedOn, TrainingInfo};
pub use weights::{TensorInfo, load_weights, weights_of, weights_with};
#[cfg(not(target_arch = "wasm32"))]
pub use weights::{recode_weights, weight_tensors};

/// The first eight bytes of every bundle.
pub const MAGIC: &[u8; 8] = b"LRECBNDL";

/// The bundle format version this localrec writes and reads.
///
/// - 2: position embeddings count back from the newest item (SASRec, BERT4Rec, attention
///   pooling); the manifest may carry `training`. Version-1 weights would be misread, so they
///   are refused: retrain.
/// - 1: first version.
pub const FORMAT_VERSION: u32 = 2;

/// Bytes before the manifest: magic, version, manifest length.
const HEADER_LEN: usize = 8 + 4 + 8;

fn bundle_err(problem: impl Into<String>) -> Error {
    Error::Bundle { problem: problem.into() }
}

/// A manifest and the weights it describes.
#[derive(Clone, Debug, PartialEq)]
pub struct Bundle {
    /// What the weights are and how to use them.
    pub manifest: Manifest,
    /// The weights, a safetensors file (see [`weights_of`]).
    pub weights: Vec<u8>,
}

impl Bundle {
    /// A bundle of `manifest` and `weights`; sets the manifest's `format_version` to
    /// [`FORMAT_VERSION`] and its `weights_sha256` to the checksum of `weights`.
    pub fn new(mut manifest: Manifest, weights: Vec<u8>) -> Bundle {
        manifest.format_version = FORMAT_VERSION;
        manifest.weights_sha256 = sha256_hex(&weights);
        Bundle { manifest, weights }
    }

    /// The bundle as one file (layout in the [module docs](self)). The header and manifest
    /// always state [`FORMAT_VERSION`] and the checksum of `self.weights`, whatever the fields
    /// say, so the output always reads back.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut manifest = self.manifest.clone();
        manifest.format_version = FORMAT_VERSION;
        manifest.weights_sha256 = sha256_hex(&self.weights);
        // A manifest is strings, numbers and maps with string keys: serialisation cannot fail.
        let json = serde_json::to_vec(&manifest).expect("a manifest always serialises to JSON");
        let mut out = Vec::with_capacity(HEADER_LEN + json.len() + 8 + self.weights.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(json.len() as u64).to_le_bytes());
        out.extend_from_slice(&json);
        out.extend_from_slice(&(self.weights.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.weights);
        out
    }

    /// Reads a bundle written by [`Bundle::to_bytes`]. Checks, in order: the magic, the format
    /// version, the lengths, the manifest JSON, the weights checksum, the manifest's
    /// consistency ([`Manifest::validate`]). The error names the first problem found. Never
    /// panics, whatever the input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Bundle> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bundle_err("not a localrec bundle (the file does not start with `LRECBNDL`)"));
        }
        let mut r = Reader { bytes, pos: MAGIC.len() };
        let version = u32::from_le_bytes(r.array("the format version")?);
        if version != FORMAT_VERSION {
            return Err(bundle_err(format!(
                "bundle format version {version}, this localrec reads version {FORMAT_VERSION}"
            )));
        }
        let manifest_len = r.length("manifest")?;
        let manifest_bytes = r.take(manifest_len, "manifest")?;
        let weights_len = r.length("weights")?;
        let weights = r.take(weights_len, "weights")?;
        if r.pos != bytes.len() {
            return Err(bundle_err(format!(
                "corrupted bundle: {} unexpected bytes after the weights",
                bytes.len() - r.pos
            )));
        }
        let manifest: Manifest = serde_json::from_slice(manifest_bytes)
            .map_err(|e| bundle_err(format!("the bundle manifest is not valid: {e}")))?;
        if manifest.format_version != version {
            return Err(bundle_err(format!(
                "inconsistent bundle: the header says format version {version}, the manifest {}",
                manifest.format_version
            )));
        }
        if !sha256_hex(weights).eq_ignore_ascii_case(&manifest.weights_sha256) {
            return Err(bundle_err("weights checksum mismatch: the bundle is corrupted or was modified"));
        }
        manifest.validate()?;
        Ok(Bundle { manifest, weights: weights.to_vec() })
    }

    /// Writes the bundle to `path` atomically: to a temporary file beside it, then renamed over
    /// it, so a reader never sees half a bundle.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn save_file(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        use std::io::Write;

        let path = path.as_ref();
        let name =
            path.file_name().ok_or_else(|| Error::invalid("path", format!("{} is not a file", path.display())))?;
        let tmp = path.with_file_name(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&self.to_bytes())?;
            f.sync_all()
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::io(&tmp, e));
        }
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, e)
        })
    }

    /// Reads a bundle from `path` (see [`Bundle::from_bytes`]); errors name the file.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_file(path: impl AsRef<std::path::Path>) -> Result<Bundle> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Bundle::from_bytes(&bytes).map_err(|e| match e {
            Error::Bundle { problem } => bundle_err(format!("{}: {problem}", path.display())),
            other => other,
        })
    }
}

/// A cursor over the bundle bytes that never reads past the end.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(bundle_err(format!(
                "truncated bundle: expected {n} bytes of {what}, found {}",
                self.remaining()
            )));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// A u64 length, which must fit in what is left of the input.
    fn length(&mut self, what: &str) -> Result<usize> {
        let n = u64::from_le_bytes(self.array(&format!("the {what} length"))?);
        let left = self.remaining();
        match usize::try_from(n) {
            Ok(n) if n <= left => Ok(n),
            _ => Err(bundle_err(format!("truncated bundle: expected {n} bytes of {what}, found {left}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::fixtures::{Tiny, tiny_bundle};
    use super::*;

    fn err(bytes: &[u8]) -> String {
        Bundle::from_bytes(bytes).unwrap_err().to_string()
    }

    #[test]
    fn model_round_trip_is_bit_identical() {
        let _rng = crate::testing::rng_lock();
        let (model, bundle) = tiny_bundle();
        let bytes = bundle.to_bytes();
        assert_eq!(&bytes[..8], b"LRECBNDL");
        let back = Bundle::from_bytes(&bytes).unwrap();
        assert_eq!(back, bundle);

        let fresh = Tiny::new(6, 4, 3, 99);
        let expected = model.forward();
        assert_ne!(fresh.forward(), expected, "the fresh model must start from other weights");
        let loaded = load_weights(fresh, &back.weights).unwrap();
        let got = loaded.forward();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&expected));
    }

    #[test]
    fn header_errors() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        let bytes = bundle.to_bytes();
        assert!(err(b"").contains("not a localrec bundle"));
        assert!(err(b"LRECBND").contains("not a localrec bundle"));
        assert!(err(b"PK\x03\x04\x14\x00\x00\x00\x08\x00").contains("not a localrec bundle"));

        let mut v7 = bytes.clone();
        v7[8..12].copy_from_slice(&7u32.to_le_bytes());
        assert_eq!(err(&v7), "bundle format version 7, this localrec reads version 2");

        let cut = &bytes[..bytes.len() - 10];
        let w = bundle.weights.len();
        assert_eq!(err(cut), format!("truncated bundle: expected {w} bytes of weights, found {}", w - 10));
        assert!(err(&bytes[..10]).starts_with("truncated bundle"));
        assert!(err(&bytes[..25]).starts_with("truncated bundle: expected"));

        let mut huge = bytes.clone();
        huge[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(err(&huge).starts_with("truncated bundle"), "{}", err(&huge));

        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(err(&trailing).contains("1 unexpected bytes after the weights"));
    }

    /// Builds bundle bytes from a raw manifest JSON and weights, bypassing `to_bytes`.
    fn raw(json: &[u8], weights: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(json.len() as u64).to_le_bytes());
        out.extend_from_slice(json);
        out.extend_from_slice(&(weights.len() as u64).to_le_bytes());
        out.extend_from_slice(weights);
        out
    }

    #[test]
    fn manifest_and_checksum_errors() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        assert!(err(&raw(b"{not json", &bundle.weights)).starts_with("the bundle manifest is not valid"));
        assert!(err(&raw(b"{}", &bundle.weights)).starts_with("the bundle manifest is not valid"));

        let mut bytes = bundle.to_bytes();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        assert_eq!(err(&bytes), "weights checksum mismatch: the bundle is corrupted or was modified");

        let check = |edit: &dyn Fn(&mut Manifest), expect: &str| {
            let mut m = bundle.manifest.clone();
            edit(&mut m);
            let e = err(&raw(&serde_json::to_vec(&m).unwrap(), &bundle.weights));
            assert!(e.contains(expect), "{e} should contain {expect}");
        };
        check(&|m| m.weights_sha256 = sha256_hex(b"other"), "checksum mismatch");
        check(&|m| m.format_version = 3, "the manifest 3");
        check(&|m| m.titles.pop().map(drop).unwrap_or(()), "5 items but 4 entries in `titles`");
        check(&|m| m.popularity.push(1), "5 items but 6 entries in `popularity`");
        check(&|m| m.categories.clear(), "5 items but 0 entries in `categories`");
        check(&|m| m.items[3] = "item-1".into(), "duplicate item id `item-1`");
        check(&|m| m.items[0] = String::new(), "item 1 has an empty id");
        check(&|m| m.categories[0] = vec![2], "only 2 categories");
        check(&|m| m.encoder.kind = " ".into(), "encoder kind is empty");
    }

    #[test]
    fn save_and_load_file() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.lrec");
        bundle.save_file(&path).unwrap();
        bundle.save_file(&path).unwrap(); // overwrite
        assert_eq!(Bundle::load_file(&path).unwrap(), bundle);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left behind");
        std::fs::write(&path, b"junk").unwrap();
        let e = Bundle::load_file(&path).unwrap_err().to_string();
        assert!(e.contains("model.lrec: not a localrec bundle"), "{e}");
    }

    #[test]
    fn fuzz_never_panics() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        let bytes = bundle.to_bytes();
        let manifest_len = u64::from_le_bytes(bytes[12..20].try_into().unwrap()) as usize;
        let manifest_range = HEADER_LEN..HEADER_LEN + manifest_len;

        // Every truncation.
        for n in 0..bytes.len() {
            assert!(Bundle::from_bytes(&bytes[..n]).is_err(), "truncation to {n} bytes was accepted");
        }
        // Every single-bit flip: an error outside the manifest; inside, whatever, but no panic.
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                let r = Bundle::from_bytes(&b);
                if !manifest_range.contains(&i) {
                    assert!(r.is_err(), "flip of bit {bit} at byte {i} was accepted");
                }
            }
        }
        // Random bytes, plain and behind a valid header.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for round in 0..2000 {
            let len = rng.random_range(0..200);
            let mut b: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if round % 2 == 0 {
                let mut h = MAGIC.to_vec();
                h.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
                if round % 4 == 0 {
                    h.extend_from_slice(&(rng.random_range(0..64u64)).to_le_bytes());
                }
                h.extend(b);
                b = h;
            }
            assert!(Bundle::from_bytes(&b).is_err());
        }
        // Truncated and bit-flipped weights into a model: errors, not panics.
        let model = Tiny::new(6, 4, 3, 1);
        for n in (0..bundle.weights.len()).step_by(7) {
            assert!(load_weights(model.clone(), &bundle.weights[..n]).is_err(), "weights cut at {n}");
        }
        let header_len = u64::from_le_bytes(bundle.weights[..8].try_into().unwrap()) as usize + 8;
        for i in (0..header_len).step_by(3) {
            let mut w = bundle.weights.clone();
            w[i] ^= 0x20;
            let _ = load_weights(model.clone(), &w);
        }
    }
}
