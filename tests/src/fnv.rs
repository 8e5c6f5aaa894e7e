//! FNV-1a 64, the hash every bit-for-bit comparison here prints and
//! compares (the firmware computes the same on its side).

/// The hash of nothing: where every FNV-1a 64 starts.
pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// `hash` continued over `bytes`.
pub fn fnv1a64(hash: u64, bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(hash, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `hash` continued over 16-bit samples, little-endian.
pub fn fnv1a64_pcm(hash: u64, samples: &[i16]) -> u64 {
    fnv1a64(hash, samples.iter().flat_map(|v| v.to_le_bytes()))
}
