//! Bounded little-endian reads and RIFF chunk walking. Nothing here can
//! read out of bounds: every read returns `None` past the end.

/// Reads a little-endian `u16` at `at`.
pub(crate) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([*s.first()?, *s.get(1)?]))
}

/// Reads a little-endian `i16` at `at`.
pub(crate) fn i16_at(b: &[u8], at: usize) -> Option<i16> {
    u16_at(b, at).map(|v| v as i16)
}

/// Reads a little-endian `u32` at `at`.
pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    let mut a = [0u8; 4];
    a.copy_from_slice(s);
    Some(u32::from_le_bytes(a))
}

/// One chunk: its four-character id and its data.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Chunk<'a> {
    pub(crate) id: [u8; 4],
    pub(crate) data: &'a [u8],
}

/// Why a chunk could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChunkError {
    /// The header itself is cut short.
    ShortHeader { offset: usize },
    /// The chunk says it holds more bytes than remain.
    Overrun {
        id: [u8; 4],
        size: u32,
        available: usize,
    },
}

/// Walks consecutive chunks in `data`.
pub(crate) struct Chunks<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Chunks<'a> {
    /// Chunks of `data`, which starts `base` bytes into the file (for error
    /// offsets).
    pub(crate) fn new(data: &'a [u8], base: usize) -> Self {
        Self { data, pos: 0, base }
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = Result<Chunk<'a>, ChunkError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.data.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let (Some(id), Some(size)) = (rest.get(0..4), u32_at(rest, 4)) else {
            self.pos = self.data.len();
            return Some(Err(ChunkError::ShortHeader {
                offset: self.base + self.pos,
            }));
        };
        let mut id4 = [0u8; 4];
        id4.copy_from_slice(id);
        let available = rest.len() - 8;
        let Some(data) = rest
            .get(8..8 + size as usize)
            .filter(|_| size as usize <= available)
        else {
            self.pos = self.data.len();
            return Some(Err(ChunkError::Overrun {
                id: id4,
                size,
                available,
            }));
        };
        // Chunks are padded to an even size.
        self.pos += 8 + size as usize + (size as usize & 1);
        Some(Ok(Chunk { id: id4, data }))
    }
}
