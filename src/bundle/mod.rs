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
//! | `item_table.rs` | the item table in another format: [`Bundle::with_item_format`] (`localrec export --items`), [`Bundle::compressed_item_table`] |
//! | `weights.rs` | the weights as safetensors: [`weights_of`], [`weights_with`] (the item table in f16), [`load_weights`], [`recode_weights`], [`weight_tensors`] |
//! | `checksum.rs` | the checksums: [`sha256`], [`sha256_hex`], the whole-file checksum that ends a file ([`CHECKSUM_LEN`]) |
//! | `fixtures.rs` | (tests only) the tiny model and manifest the tests share |
//!
//! # File layout
//!
//! All integers are little-endian. Version 3 ([`FORMAT_VERSION`], what [`Bundle::to_bytes`]
//! writes):
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 8 | magic `LRECBNDL` |
//! | 8 | 4 | format version, `u32`: 3 |
//! | 12 | 8 | manifest length `m`, `u64` |
//! | 20 | `m` | the [`Manifest`], UTF-8 JSON |
//! | 20 + `m` | 8 | weights length `w`, `u64` |
//! | 28 + `m` | `w` | the weights, a [safetensors](https://huggingface.co/docs/safetensors) file |
//! | 28 + `m` + `w` | 32 | the file checksum: SHA-256 of bytes `0 .. 28 + m + w` (everything before it) |
//!
//! The file is exactly `60 + m + w` bytes: nothing follows the checksum. The manifest comes
//! first so that a reader can show what a bundle is without touching the weights, and it is
//! JSON so that a person (or `head -c`) can read it; the weights are a standard safetensors
//! file, so other tools can open them too. The manifest also records the SHA-256 of the weights
//! alone ([`Manifest::weights_sha256`]).
//!
//! [`Bundle::from_bytes`] checks the magic and the version, then the file checksum, before it
//! parses anything else: a file with any byte changed, cut short or with bytes appended is
//! refused as "corrupted or truncated". Then the lengths must add up to exactly the bytes before
//! the checksum, the manifest must parse and state the header's version, the weights must match
//! `weights_sha256`, and the manifest must agree with itself ([`Manifest::validate`]).
//!
//! Version 2 ([`LEGACY_FORMAT_VERSION`]) is the same without the file checksum: the file ends
//! with the weights, `28 + m + w` bytes. It is still read, with the checks above except the file
//! checksum, so bundles made before version 3 keep working; it is never written (re-writing a
//! version-2 bundle, e.g. with `localrec export --out`, gives version 3). Only its weights are
//! checksummed: a changed byte inside its manifest JSON (a letter of an item id or a title)
//! can load unnoticed. A version-3 file whose version is changed to 2 is refused: its 32
//! checksum bytes are then bytes after the weights, and its manifest states version 3.
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
//!     item_table: None,
//! };
//! let bundle = Bundle::new(manifest, b"weights would go here".to_vec());
//! let bytes = bundle.to_bytes();
//! let back = Bundle::from_bytes(&bytes)?;
//! assert_eq!(back, bundle);
//! assert_eq!(back.manifest.vocab()?.lookup("cups")?, 2);
//! assert!(Bundle::from_bytes(b"PK\x03\x04 a zip file").is_err());
//! let mut corrupted = bytes.clone();
//! corrupted[30] ^= 0x01; // a byte of the manifest JSON
//! assert!(Bundle::from_bytes(&corrupted).unwrap_err().to_string().contains("checksum mismatch"));
//! # Ok::<(), localrec::Error>(())
//! ```

use crate::error::{Error, Result};

mod checksum;
#[cfg(test)]
mod fixtures;
mod item_table;
mod manifest;
mod weights;

pub use checksum::{CHECKSUM_LEN, sha256, sha256_hex};
pub use manifest::{EncoderSpec, Manifest, TrainedOn, TrainingInfo};
pub use weights::{TensorInfo, load_weights, load_weights_without_item_table, weights_of, weights_with};
#[cfg(not(target_arch = "wasm32"))]
pub use weights::{recode_weights, weight_tensors};

/// The first eight bytes of every bundle.
pub const MAGIC: &[u8; 8] = b"LRECBNDL";

/// The bundle format version this localrec writes (and reads, as well as
/// [`LEGACY_FORMAT_VERSION`]).
///
/// - 3: the file ends with the SHA-256 of every byte before it (header, manifest, weights),
///   checked before anything is parsed; before, only the weights were checksummed. The
///   manifest and the weights are those of version 2.
/// - 2: position embeddings count back from the newest item (SASRec, BERT4Rec, attention
///   pooling); the manifest may carry `training`. Version-1 weights would be misread, so they
///   are refused: retrain.
/// - 1: first version.
pub const FORMAT_VERSION: u32 = 3;

/// The older format version this localrec still reads but never writes: version 2, the layout
/// of version 3 without the file checksum (see the [module docs](self)).
pub const LEGACY_FORMAT_VERSION: u32 = 2;

/// Bytes before the manifest: magic, version, manifest length.
const HEADER_LEN: usize = 8 + 4 + 8;

/// The shortest version-3 file: the header, an empty manifest, the weights length, no weights
/// and the checksum.
const MIN_LEN: usize = HEADER_LEN + 8 + CHECKSUM_LEN;

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

    /// The bundle as one file in format [`FORMAT_VERSION`] (layout in the [module docs](self)),
    /// ending with its checksum. The header and manifest always state [`FORMAT_VERSION`] and the
    /// checksum of `self.weights`, whatever the fields say, so the output always reads back.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut manifest = self.manifest.clone();
        manifest.format_version = FORMAT_VERSION;
        manifest.weights_sha256 = sha256_hex(&self.weights);
        // A manifest is strings, numbers and maps with string keys: serialisation cannot fail.
        let json = serde_json::to_vec(&*manifest.compact()).expect("a manifest always serialises to JSON");
        let mut out = Vec::with_capacity(MIN_LEN + json.len() + self.weights.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(json.len() as u64).to_le_bytes());
        out.extend_from_slice(&json);
        out.extend_from_slice(&(self.weights.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.weights);
        checksum::seal(&mut out);
        out
    }

    /// Reads a bundle written by [`Bundle::to_bytes`] (format version 3), or one of format
    /// version 2 ([`LEGACY_FORMAT_VERSION`]). Checks, in order: the magic, the format version,
    /// the file checksum (version 3), that the lengths add up to exactly the bytes before the
    /// checksum (version 2: the end of the file), the manifest JSON and that it states the
    /// header's version, the weights checksum, the manifest's consistency
    /// ([`Manifest::validate`]). The error, an [`Error::Bundle`], names the first problem found.
    /// Never panics, whatever the input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Bundle> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bundle_err("not a localrec bundle (the file does not start with `LRECBNDL`)"));
        }
        let version = u32::from_le_bytes(Reader { bytes, pos: MAGIC.len() }.array("the format version")?);
        let body = match version {
            FORMAT_VERSION => checksum::unseal(bytes, MIN_LEN)?,
            LEGACY_FORMAT_VERSION => bytes,
            _ => {
                return Err(bundle_err(format!(
                    "bundle format version {version}, this localrec reads version {FORMAT_VERSION} (and the \
                     older {LEGACY_FORMAT_VERSION})"
                )));
            }
        };
        let mut r = Reader { bytes: body, pos: MAGIC.len() + 4 };
        let manifest_len = r.length("manifest")?;
        let manifest_bytes = r.take(manifest_len, "manifest")?;
        let weights_len = r.length("weights")?;
        let weights = r.take(weights_len, "weights")?;
        if r.pos != body.len() {
            return Err(bundle_err(format!(
                "corrupted bundle: {} unexpected bytes after the weights",
                body.len() - r.pos
            )));
        }
        let mut manifest: Manifest = serde_json::from_slice(manifest_bytes)
            .map_err(|e| bundle_err(format!("the bundle manifest is not valid: {e}")))?;
        manifest.expand_compact();
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

    /// Asserts that `bytes` are refused with an `Error::Bundle`; `what` says what was done to them.
    fn assert_refused(bytes: &[u8], what: &dyn Fn() -> String) {
        match Bundle::from_bytes(bytes) {
            Err(Error::Bundle { .. }) => {}
            Err(other) => panic!("{}: refused, but not as a bad bundle: {other}", what()),
            Ok(_) => panic!("{}: the bundle was accepted", what()),
        }
    }

    /// Bundle bytes in the layout of `version` from a raw manifest JSON and weights, bypassing
    /// `to_bytes`: header, manifest, weights, and for version 3 the file checksum. For version 2
    /// this is what the version-2 writer wrote.
    fn raw(version: u32, json: &[u8], weights: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&(json.len() as u64).to_le_bytes());
        out.extend_from_slice(json);
        out.extend_from_slice(&(weights.len() as u64).to_le_bytes());
        out.extend_from_slice(weights);
        if version >= 3 {
            checksum::seal(&mut out);
        }
        out
    }

    /// The tiny bundle as the version-2 writer wrote it.
    fn v2_bytes(bundle: &Bundle) -> Vec<u8> {
        let mut m = bundle.manifest.clone();
        m.format_version = LEGACY_FORMAT_VERSION;
        raw(LEGACY_FORMAT_VERSION, &serde_json::to_vec(&m).unwrap(), &bundle.weights)
    }

    /// Where the manifest JSON of `bytes` lies.
    fn manifest_range(bytes: &[u8]) -> std::ops::Range<usize> {
        HEADER_LEN..HEADER_LEN + u64::from_le_bytes(bytes[12..20].try_into().unwrap()) as usize
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
    fn version_3_layout() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        let bytes = bundle.to_bytes();
        let json = serde_json::to_vec(&bundle.manifest).unwrap();
        let (m, w) = (json.len(), bundle.weights.len());
        assert_eq!(bytes.len(), 60 + m + w);
        assert_eq!(bytes[8..12], 3u32.to_le_bytes());
        assert_eq!(bytes[12..20], (m as u64).to_le_bytes());
        assert_eq!(bytes[20..20 + m], json[..]);
        assert_eq!(bytes[20 + m..28 + m], (w as u64).to_le_bytes());
        assert_eq!(bytes[28 + m..28 + m + w], bundle.weights[..]);
        assert_eq!(bytes[28 + m + w..], sha256(&bytes[..28 + m + w]));
        assert_eq!(bytes, raw(FORMAT_VERSION, &json, &bundle.weights));
        assert_eq!(bundle.manifest.weights_sha256, sha256_hex(&bundle.weights));
    }

    #[test]
    fn header_errors() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        let bytes = bundle.to_bytes();
        assert!(err(b"").contains("not a localrec bundle"));
        assert!(err(b"LRECBND").contains("not a localrec bundle"));
        assert!(err(b"PK\x03\x04\x14\x00\x00\x00\x08\x00").contains("not a localrec bundle"));
        assert_eq!(err(b"LRECBNDL\x03\x00"), "truncated bundle: expected 4 bytes of the format version, found 2");

        let mut v7 = bytes.clone();
        v7[8..12].copy_from_slice(&7u32.to_le_bytes());
        assert_eq!(err(&v7), "bundle format version 7, this localrec reads version 3 (and the older 2)");
        let mut v1 = v2_bytes(&bundle);
        v1[8..12].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(err(&v1), "bundle format version 1, this localrec reads version 3 (and the older 2)");

        let mismatch = "the bundle is corrupted or truncated: checksum mismatch \
                        (its last 32 bytes are not the SHA-256 of the bytes before them)";
        assert_eq!(err(&bytes[..bytes.len() - 10]), mismatch);
        assert_eq!(err(&bytes[..bytes.len() - 32]), mismatch, "the checksum cut off");
        assert_eq!(err(&bytes[..59]), "the bundle is corrupted or truncated: 59 bytes, a bundle has at least 60");
        assert!(err(&bytes[..12]).contains("12 bytes, a bundle has at least 60"));

        // A huge length in a checksummed file: refused by the lengths, not by a panic.
        let mut huge = bytes[..bytes.len() - CHECKSUM_LEN].to_vec();
        huge[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
        checksum::seal(&mut huge);
        assert!(err(&huge).starts_with("truncated bundle: expected 18446744073709551615 bytes of manifest"));
        let mut huge = v2_bytes(&bundle);
        huge[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(err(&huge).starts_with("truncated bundle"), "{}", err(&huge));
    }

    #[test]
    fn every_byte_flip_is_rejected() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        let bytes = bundle.to_bytes();
        assert!(bytes.len() < 4096, "keep the bundle tiny: {} bytes", bytes.len());
        let mut b = bytes.clone();
        for i in 0..bytes.len() {
            for mask in [0x01u8, 0xFF] {
                b[i] ^= mask;
                assert_refused(&b, &|| format!("byte {i} of {} xor {mask:#04x}", bytes.len()));
                b[i] ^= mask;
            }
        }
        assert_eq!(b, bytes);
        // The manifest bytes too, which version 2 did not protect: e.g. a letter of a title.
        let at = manifest_range(&bytes).start + find(&bytes[manifest_range(&bytes)], b"Title 2").unwrap();
        let mut title = bytes.clone();
        title[at] ^= 0x01;
        assert!(err(&title).contains("checksum mismatch"));
    }

    #[test]
    fn every_truncation_is_rejected() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        for bytes in [bundle.to_bytes(), v2_bytes(&bundle)] {
            for n in 0..bytes.len() {
                assert_refused(&bytes[..n], &|| format!("{} bytes cut to {n}", bytes.len()));
            }
        }
    }

    #[test]
    fn appended_bytes_are_rejected() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        let bytes = bundle.to_bytes();
        for extra in [&[0u8][..], &[0; 32], &bytes[bytes.len() - 32..], b"LRECBNDL"] {
            let mut b = bytes.clone();
            b.extend_from_slice(extra);
            assert!(err(&b).contains("checksum mismatch"), "{} bytes appended", extra.len());
        }
        // Appended bytes sealed with a checksum of their own: the lengths no longer add up.
        let mut resealed = bytes.clone();
        resealed.push(0);
        checksum::seal(&mut resealed);
        assert_eq!(err(&resealed), "corrupted bundle: 33 unexpected bytes after the weights");
        // Version 2: nothing may follow the weights.
        let mut v2 = v2_bytes(&bundle);
        v2.push(0);
        assert_eq!(err(&v2), "corrupted bundle: 1 unexpected bytes after the weights");
    }

    #[test]
    fn version_3_with_version_2_in_its_header_is_rejected() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        let mut bytes = bundle.to_bytes();
        assert_eq!(bytes[8] ^ 0x01, 2, "one flipped bit turns version 3 into 2");
        bytes[8] ^= 0x01;
        assert_eq!(err(&bytes), "corrupted bundle: 32 unexpected bytes after the weights");
        // And without its checksum, the manifest still says 3.
        let cut = &bytes[..bytes.len() - CHECKSUM_LEN];
        assert_eq!(err(cut), "inconsistent bundle: the header says format version 2, the manifest 3");
    }

    #[test]
    fn version_2_still_reads_and_is_written_as_version_3() {
        let _rng = crate::testing::rng_lock();
        let (model, bundle) = tiny_bundle();
        let v2 = v2_bytes(&bundle);
        assert_eq!(v2.len(), bundle.to_bytes().len() - CHECKSUM_LEN);
        let back = Bundle::from_bytes(&v2).unwrap();
        assert_eq!(back.manifest.format_version, 2);
        assert_eq!(back.weights, bundle.weights);
        assert_eq!(
            Bundle { manifest: Manifest { format_version: 3, ..back.manifest.clone() }, ..back.clone() },
            bundle
        );
        let loaded = load_weights(Tiny::new(6, 4, 3, 99), &back.weights).unwrap();
        assert_eq!(loaded.forward(), model.forward());
        // Re-written, it is version 3, byte for byte what the bundle itself writes.
        assert_eq!(back.to_bytes(), bundle.to_bytes());

        // Its weights are checksummed as before: every flip of a weights byte is refused.
        let weights_at = v2.len() - bundle.weights.len();
        for i in weights_at..v2.len() {
            let mut b = v2.clone();
            b[i] ^= 0x01;
            assert!(err(&b).contains("weights checksum mismatch"), "weights byte {i}");
        }
        // Its manifest is not: a changed letter of a title loads unnoticed, as it always did.
        // This is what version 3 fixes; version-2 bundles are read as they always were.
        let range = manifest_range(&v2);
        let at = range.start + find(&v2[range], b"Title 2").unwrap() + 6;
        let mut title = v2.clone();
        title[at] = b'7';
        let silently = Bundle::from_bytes(&title).unwrap();
        assert_eq!(silently.manifest.titles[1].as_deref(), Some("Title 7"));
        assert_eq!(bundle.manifest.titles[1].as_deref(), Some("Title 2"));
    }

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    #[test]
    fn manifest_and_checksum_errors() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        for version in [FORMAT_VERSION, LEGACY_FORMAT_VERSION] {
            let raw = |json: &[u8]| raw(version, json, &bundle.weights);
            assert!(err(&raw(b"{not json")).starts_with("the bundle manifest is not valid"));
            assert!(err(&raw(b"{}")).starts_with("the bundle manifest is not valid"));

            let check = |edit: &dyn Fn(&mut Manifest), expect: &str| {
                let mut m = bundle.manifest.clone();
                m.format_version = version;
                edit(&mut m);
                let e = err(&raw(&serde_json::to_vec(&m).unwrap()));
                assert!(e.contains(expect), "version {version}: {e} should contain {expect}");
            };
            check(&|m| m.weights_sha256 = sha256_hex(b"other"), "weights checksum mismatch");
            check(&|m| m.format_version = 4, &format!("the header says format version {version}, the manifest 4"));
            check(&|m| m.titles.pop().map(drop).unwrap_or(()), "5 items but 4 entries in `titles`");
            check(&|m| m.popularity.push(1), "5 items but 6 entries in `popularity`");
            check(&|m| m.categories.clear(), "5 items but 0 entries in `categories`");
            check(&|m| m.items[3] = "item-1".into(), "duplicate item id `item-1`");
            check(&|m| m.items[0] = String::new(), "item 1 has an empty id");
            check(&|m| m.categories[0] = vec![2], "only 2 categories");
            check(&|m| m.encoder.kind = " ".into(), "encoder kind is empty");
        }
        // Weights changed and the file checksum recomputed: the weights checksum still catches it.
        let mut bytes = bundle.to_bytes();
        bytes.truncate(bytes.len() - CHECKSUM_LEN);
        *bytes.last_mut().unwrap() ^= 0x01;
        checksum::seal(&mut bytes);
        assert_eq!(err(&bytes), "weights checksum mismatch: the bundle is corrupted or was modified");
    }

    #[test]
    fn save_and_load_file() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.lrec");
        bundle.save_file(&path).unwrap();
        bundle.save_file(&path).unwrap(); // overwrite
        assert_eq!(std::fs::read(&path).unwrap(), bundle.to_bytes());
        assert_eq!(Bundle::load_file(&path).unwrap(), bundle);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left behind");
        std::fs::write(&path, b"junk").unwrap();
        let e = Bundle::load_file(&path).unwrap_err().to_string();
        assert!(e.contains("model.lrec: not a localrec bundle"), "{e}");
        let mut cut = bundle.to_bytes();
        cut.pop();
        std::fs::write(&path, cut).unwrap();
        let e = Bundle::load_file(&path).unwrap_err().to_string();
        assert!(e.contains("model.lrec: the bundle is corrupted or truncated: checksum mismatch"), "{e}");
    }

    #[test]
    fn fuzz_never_panics() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        let bytes = bundle.to_bytes();
        let manifest_range = manifest_range(&bytes);
        let body_len = bytes.len() - CHECKSUM_LEN;

        // Every single-bit flip behind a valid file checksum (as a writer that computed it after
        // the damage would make, or a version-2 file): what the parser sees past the checksum.
        // An error outside the manifest; inside, whatever, but no panic.
        for i in 0..body_len {
            for bit in 0..8 {
                let mut b = bytes[..body_len].to_vec();
                b[i] ^= 1 << bit;
                checksum::seal(&mut b);
                let r = Bundle::from_bytes(&b);
                if !manifest_range.contains(&i) {
                    assert!(r.is_err(), "flip of bit {bit} at byte {i} was accepted");
                }
            }
        }
        // Random bytes, plain and behind a valid header of either version.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for round in 0..2000 {
            let len = rng.random_range(0..200);
            let mut b: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if round % 2 == 0 {
                let version = if round % 3 == 0 { LEGACY_FORMAT_VERSION } else { FORMAT_VERSION };
                let mut h = MAGIC.to_vec();
                h.extend_from_slice(&version.to_le_bytes());
                if round % 4 == 0 {
                    h.extend_from_slice(&(rng.random_range(0..64u64)).to_le_bytes());
                }
                h.extend(b);
                if round % 8 == 0 {
                    checksum::seal(&mut h);
                }
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
