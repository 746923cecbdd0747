//! SHA-256 (FIPS 180-4, by the `sha2` crate) and the two checksums of a bundle: the whole-file
//! checksum at the end of a version-3 file ([`seal`], [`unseal`]) and the weights checksum a
//! manifest records ([`Manifest::weights_sha256`](super::Manifest::weights_sha256)).

use super::bundle_err;
use crate::error::Result;

/// Bytes of the whole-file checksum that ends a version-3 bundle: the SHA-256 of every byte
/// before it.
pub const CHECKSUM_LEN: usize = 32;

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// SHA-256 of `data` as 64 lower-case hex digits.
pub fn sha256_hex(data: &[u8]) -> String {
    sha256(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends the SHA-256 of everything in `out` to `out`.
pub(super) fn seal(out: &mut Vec<u8>) {
    let sum = sha256(out);
    out.extend_from_slice(&sum);
}

/// The bytes before the checksum of a file [`seal`]ed to at least `min_len` bytes, if its last
/// [`CHECKSUM_LEN`] bytes are the SHA-256 of the bytes before them. A file shorter than
/// `min_len`, or whose checksum does not match, is an error that names the problem: whatever
/// was cut off, appended or changed, the sum no longer matches.
pub(super) fn unseal(bytes: &[u8], min_len: usize) -> Result<&[u8]> {
    let min_len = min_len.max(CHECKSUM_LEN);
    if bytes.len() < min_len {
        return Err(bundle_err(format!(
            "the bundle is corrupted or truncated: {} bytes, a bundle has at least {min_len}",
            bytes.len()
        )));
    }
    let (body, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
    if sha256(body) != sum {
        return Err(bundle_err(
            "the bundle is corrupted or truncated: checksum mismatch (its last 32 bytes are not the SHA-256 of the \
             bytes before them)",
        ));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_fips_vectors() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(
            sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            sha256_hex(
                b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
            ),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        );
        assert_eq!(
            sha256_hex(&vec![b'a'; 1_000_000]),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn seal_and_unseal() {
        let mut sealed = b"some bytes".to_vec();
        seal(&mut sealed);
        assert_eq!(sealed.len(), 10 + CHECKSUM_LEN);
        assert_eq!(sealed[10..], sha256(b"some bytes"));
        assert_eq!(unseal(&sealed, 0).unwrap(), b"some bytes");

        let msg = |r: Result<&[u8]>| r.unwrap_err().to_string();
        assert_eq!(
            msg(unseal(&sealed, 43)),
            "the bundle is corrupted or truncated: 42 bytes, a bundle has at least 43"
        );
        assert_eq!(
            msg(unseal(&[0; 31], 0)),
            "the bundle is corrupted or truncated: 31 bytes, a bundle has at least 32"
        );
        for i in 0..sealed.len() {
            let mut b = sealed.clone();
            b[i] ^= 0x80;
            assert!(msg(unseal(&b, 0)).contains("checksum mismatch"), "flip at {i} passed");
        }
        let mut longer = sealed.clone();
        longer.push(0);
        assert!(msg(unseal(&longer, 0)).contains("checksum mismatch"));
        assert!(msg(unseal(&sealed[..sealed.len() - 1], 0)).contains("checksum mismatch"));
    }
}
