//! A tiny, valid SoundFont written from scratch, and the broken variants
//! of it that make up the parser's corpus of bad input.

/// One sample of 64 frames, one instrument, one preset.
pub struct Tiny {
    /// The file.
    pub bytes: Vec<u8>,
    /// Byte offsets of every chunk header (id and size), in file order,
    /// with the chunk's id.
    pub chunks: Vec<(usize, [u8; 4])>,
}

/// Chunk headers seen so far: (offset, id).
type Marks = Vec<(usize, [u8; 4])>;

fn chunk(
    out: &mut Vec<u8>,
    marks: &mut Marks,
    id: &[u8; 4],
    body: impl FnOnce(&mut Vec<u8>, &mut Marks),
) {
    let at = out.len();
    marks.push((at, *id));
    out.extend_from_slice(id);
    out.extend_from_slice(&[0; 4]);
    body(out, marks);
    let size = (out.len() - at - 8) as u32;
    out[at + 4..at + 8].copy_from_slice(&size.to_le_bytes());
    if size % 2 == 1 {
        out.push(0);
    }
}

fn data(bytes: Vec<u8>) -> impl FnOnce(&mut Vec<u8>, &mut Marks) {
    move |out: &mut Vec<u8>, _: &mut Marks| out.extend_from_slice(&bytes)
}

fn name(s: &str) -> Vec<u8> {
    let mut n = [0u8; 20];
    n[..s.len()].copy_from_slice(s.as_bytes());
    n.to_vec()
}

fn le16(v: u16) -> [u8; 2] {
    v.to_le_bytes()
}

fn le32(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

/// Builds the tiny font.
pub fn tiny() -> Tiny {
    let mut out = Vec::new();
    let mut marks = Vec::new();
    // 64 frames of a sine, then 46 zero frames.
    let mut smpl = Vec::new();
    for i in 0..64 {
        let v = (f64::sin(i as f64 / 64.0 * std::f64::consts::TAU) * 20_000.0) as i16;
        smpl.extend_from_slice(&v.to_le_bytes());
    }
    smpl.extend_from_slice(&[0u8; 92]);
    let phdr = [
        name("Tiny"),
        [le16(0), le16(0), le16(0)].concat(),
        vec![0; 12],
        name("EOP"),
        [le16(0), le16(0), le16(1)].concat(),
        vec![0; 12],
    ]
    .concat();
    let pbag = [le16(0), le16(0), le16(1), le16(0)].concat();
    let pgen = [le16(41), le16(0), le16(0), le16(0)].concat();
    let inst = [
        name("Tiny"),
        le16(0).to_vec(),
        name("EOI"),
        le16(1).to_vec(),
    ]
    .concat();
    let ibag = [le16(0), le16(0), le16(2), le16(0)].concat();
    let igen = [le16(54), le16(1), le16(53), le16(0), le16(0), le16(0)].concat();
    let shdr = [
        name("sine"),
        [le32(0), le32(64), le32(8), le32(56), le32(44_100)].concat(),
        vec![69, 0],
        [le16(0), le16(1)].concat(),
        name("EOS"),
        vec![0; 26],
    ]
    .concat();
    let nomod = vec![0u8; 10];
    chunk(&mut out, &mut marks, b"RIFF", |o, m| {
        o.extend_from_slice(b"sfbk");
        chunk(o, m, b"LIST", |o, m| {
            o.extend_from_slice(b"INFO");
            chunk(o, m, b"ifil", data(vec![2, 0, 1, 0]));
            chunk(o, m, b"INAM", data(b"Tiny\0\0".to_vec()));
        });
        chunk(o, m, b"LIST", |o, m| {
            o.extend_from_slice(b"sdta");
            chunk(o, m, b"smpl", data(smpl));
        });
        chunk(o, m, b"LIST", |o, m| {
            o.extend_from_slice(b"pdta");
            for (id, body) in [
                (b"phdr", phdr),
                (b"pbag", pbag),
                (b"pmod", nomod.clone()),
                (b"pgen", pgen),
                (b"inst", inst),
                (b"ibag", ibag),
                (b"imod", nomod.clone()),
                (b"igen", igen),
                (b"shdr", shdr),
            ] {
                chunk(o, m, id, data(body));
            }
        });
    });
    Tiny {
        bytes: out,
        chunks: marks,
    }
}

impl Tiny {
    /// Offset of the data of the first chunk with this id.
    pub fn data_of(&self, id: &[u8; 4]) -> usize {
        self.chunks
            .iter()
            .find(|(_, i)| i == id)
            .map(|(at, _)| at + 8)
            .expect("chunk present")
    }

    /// A copy with `bytes` written at `offset`.
    pub fn patched(&self, offset: usize, bytes: &[u8]) -> Vec<u8> {
        let mut b = self.bytes.clone();
        b[offset..offset + bytes.len()].copy_from_slice(bytes);
        b
    }
}

/// The broken variants: (file name, bytes, a phrase the error must contain).
pub fn broken() -> Vec<(String, Vec<u8>, &'static str)> {
    let t = tiny();
    let mut out: Vec<(String, Vec<u8>, &'static str)> = Vec::new();
    // Cut at every chunk boundary: before each header, inside it, and
    // just after it.
    for (i, &(at, id)) in t.chunks.iter().enumerate() {
        let id = String::from_utf8_lossy(&id).to_string();
        for (what, cut) in [("before", at), ("inside", at + 5), ("after", at + 8)] {
            if cut > 0 && cut < t.bytes.len() {
                out.push((
                    format!("truncated-{i:02}-{what}-{id}.sf2"),
                    t.bytes[..cut].to_vec(),
                    "truncated",
                ));
            }
        }
    }
    let shdr = t.data_of(b"shdr");
    let phdr = t.data_of(b"phdr");
    let pbag = t.data_of(b"pbag");
    let pgen = t.data_of(b"pgen");
    let ibag = t.data_of(b"ibag");
    let igen = t.data_of(b"igen");
    let u32le = |v: u32| v.to_le_bytes();
    let u16le = |v: u16| v.to_le_bytes();
    let cases: Vec<(&str, Vec<u8>, &'static str)> = vec![
        ("not-riff.sf2", t.patched(0, b"RIFX"), "RIFF"),
        ("wrong-form.sf2", t.patched(8, b"WAVE"), "not 'sfbk'"),
        (
            "absurd-riff-size.sf2",
            t.patched(4, &u32le(u32::MAX)),
            "truncated",
        ),
        (
            "absurd-chunk-size.sf2",
            t.patched(shdr - 4, &u32le(0x7fff_fff0)),
            "truncated",
        ),
        (
            "shdr-not-whole-records.sf2",
            t.patched(shdr - 4, &u32le(91)),
            "whole number",
        ),
        (
            "preset-zone-out-of-range.sf2",
            t.patched(phdr + 24, &u16le(900)),
            "refers to zone 900",
        ),
        (
            "terminal-zone-out-of-range.sf2",
            t.patched(phdr + 38 + 24, &u16le(7)),
            "refers to zone 7",
        ),
        (
            "generator-index-out-of-range.sf2",
            t.patched(pbag + 4, &u16le(60)),
            "refers to generator 60",
        ),
        (
            "modulator-index-out-of-range.sf2",
            t.patched(ibag + 2, &u16le(9)),
            "refers to modulator 9",
        ),
        (
            "instrument-out-of-range.sf2",
            t.patched(pgen + 2, &u16le(5)),
            "refers to instrument 5, but there are 1",
        ),
        (
            "sample-out-of-range.sf2",
            t.patched(igen + 6, &u16le(5123)),
            "instrument 0 zone 0 refers to sample 5123, but there are 1",
        ),
        (
            "zero-length-sample.sf2",
            t.patched(shdr + 24, &u32le(0)),
            "is empty",
        ),
        (
            "sample-past-data.sf2",
            t.patched(shdr + 24, &u32le(1_000_000)),
            "past the",
        ),
        (
            "loop-past-end.sf2",
            t.patched(shdr + 32, &u32le(400)),
            "outside the sample",
        ),
        (
            "loop-before-start.sf2",
            t.patched(shdr + 20, &u32le(10)),
            "outside the sample",
        ),
        (
            "zero-sample-rate.sf2",
            t.patched(shdr + 36, &u32le(0)),
            "sample rate",
        ),
        (
            "bags-go-backwards.sf2",
            t.patched(ibag, &[2, 0, 0, 0, 1, 0, 0, 0]),
            "before the record before it",
        ),
        (
            "no-presets.sf2",
            {
                let mut b = t.bytes.clone();
                // Rename phdr so it is missing.
                b[phdr - 8..phdr - 4].copy_from_slice(b"xxxx");
                b
            },
            "phdr chunk is missing",
        ),
    ];
    for (n, b, e) in cases {
        out.push((n.to_string(), b, e));
    }
    out
}
