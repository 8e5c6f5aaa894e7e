//! A validated, zero-copy view of a SoundFont 2 file.
//!
//! [`SoundFont::parse`] walks the RIFF structure once and checks every
//! chunk size, record count, index, sample range and loop range. After
//! that, nothing that reads the view can go out of bounds: accessors still
//! use checked reads, and return defaults where a check already ruled a
//! case out. Sample data is read in place from the caller's bytes.

use core::ops::Range;

use super::riff::{i16_at, u16_at, u32_at, Chunk, ChunkError, Chunks};

mod error;
mod validate;

pub use error::{SampleProblem, Sf2Error};

const PHDR: usize = 38;
const BAG: usize = 4;
const MOD: usize = 10;
const GEN: usize = 4;
const INST: usize = 22;
const SHDR: usize = 46;

/// Generator operator numbers that refer to other records.
const GEN_INSTRUMENT: u16 = 41;
const GEN_SAMPLE_ID: u16 = 53;

/// Highest sample rate a sample may declare (anything above is a broken
/// header, not a real recording).
const MAX_SAMPLE_RATE: u32 = 1_000_000;

/// A preset header (`phdr` record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresetHeader<'a> {
    /// The name, without trailing NULs.
    pub name: &'a [u8],
    /// MIDI program, 0–127.
    pub program: u16,
    /// MIDI bank (128 is percussion by convention).
    pub bank: u16,
    /// Indices of its zones in `pbag`.
    pub zones: Range<usize>,
}

/// An instrument header (`inst` record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstrumentHeader<'a> {
    /// The name, without trailing NULs.
    pub name: &'a [u8],
    /// Indices of its zones in `ibag`.
    pub zones: Range<usize>,
}

/// A sample header (`shdr` record), validated against the sample data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleHeader<'a> {
    /// The name, without trailing NULs.
    pub name: &'a [u8],
    /// First frame in the sample data.
    pub start: u32,
    /// One past the last frame.
    pub end: u32,
    /// First frame of the loop.
    pub loop_start: u32,
    /// One past the last frame of the loop.
    pub loop_end: u32,
    /// Recording rate in Hz.
    pub sample_rate: u32,
    /// MIDI key of the recorded pitch (255 means 60).
    pub original_pitch: u8,
    /// Pitch correction in cents.
    pub pitch_correction: i8,
    /// Sample type bits (1 mono, 2 right, 4 left, 8 linked, 0x8000 ROM).
    pub kind: u16,
}

/// One generator: operator and raw 16-bit amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generator {
    /// The generator operator (SF2 §8.1.2).
    pub oper: u16,
    /// The amount as stored; signed, unsigned or a (lo, hi) range.
    pub amount: u16,
}

impl Generator {
    /// The amount as a signed value.
    pub const fn signed(self) -> i16 {
        self.amount as i16
    }

    /// The amount as a (low, high) byte range.
    pub const fn range(self) -> (u8, u8) {
        ((self.amount & 0xff) as u8, (self.amount >> 8) as u8)
    }
}

/// One modulator record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModulatorRecord {
    /// Primary source (SF2 §8.2).
    pub source: u16,
    /// Destination generator.
    pub dest: u16,
    /// Amount.
    pub amount: i16,
    /// Secondary (amount) source.
    pub amount_source: u16,
    /// Transform (0 linear, 2 absolute value).
    pub transform: u16,
}

/// A zone: its generators and modulators.
#[derive(Clone, Copy, Debug)]
pub struct Zone<'a> {
    gens: &'a [u8],
    mods: &'a [u8],
}

impl<'a> Zone<'a> {
    /// The zone's generators, in file order.
    pub fn generators(&self) -> impl Iterator<Item = Generator> + 'a {
        self.gens.chunks_exact(GEN).map(|r| Generator {
            oper: u16_at(r, 0).unwrap_or(0),
            amount: u16_at(r, 2).unwrap_or(0),
        })
    }

    /// The zone's modulators, in file order.
    pub fn modulators(&self) -> impl Iterator<Item = ModulatorRecord> + 'a {
        self.mods.chunks_exact(MOD).map(|r| ModulatorRecord {
            source: u16_at(r, 0).unwrap_or(0),
            dest: u16_at(r, 2).unwrap_or(0),
            amount: i16_at(r, 4).unwrap_or(0),
            amount_source: u16_at(r, 6).unwrap_or(0),
            transform: u16_at(r, 8).unwrap_or(0),
        })
    }

    /// The last generator, which names the instrument (preset zones) or
    /// sample (instrument zones) of a non-global zone.
    fn last(&self) -> Option<Generator> {
        self.generators().last()
    }

    /// The instrument a preset zone plays; `None` for a global zone.
    pub fn instrument(&self) -> Option<usize> {
        self.last()
            .filter(|g| g.oper == GEN_INSTRUMENT)
            .map(|g| usize::from(g.amount))
    }

    /// The sample an instrument zone plays; `None` for a global zone.
    pub fn sample(&self) -> Option<usize> {
        self.last()
            .filter(|g| g.oper == GEN_SAMPLE_ID)
            .map(|g| usize::from(g.amount))
    }

    /// The zone's key range (0–127 when unset).
    pub fn key_range(&self) -> (u8, u8) {
        self.generators()
            .find(|g| g.oper == 43)
            .map_or((0, 127), Generator::range)
    }

    /// The zone's velocity range (0–127 when unset).
    pub fn velocity_range(&self) -> (u8, u8) {
        self.generators()
            .find(|g| g.oper == 44)
            .map_or((0, 127), Generator::range)
    }

    /// Whether the zone plays `key` at `velocity`.
    pub fn matches(&self, key: u8, velocity: u8) -> bool {
        let (kl, kh) = self.key_range();
        let (vl, vh) = self.velocity_range();
        (kl..=kh).contains(&key) && (vl..=vh).contains(&velocity)
    }
}

/// A SoundFont held in a byte slice, checked once and then read in place.
///
/// Methods: [`SoundFont::parse`], [`SoundFont::name`],
/// [`SoundFont::preset_count`], [`SoundFont::preset`],
/// [`SoundFont::find_preset`], [`SoundFont::preset_zone`],
/// [`SoundFont::instrument`], [`SoundFont::instrument_zone`],
/// [`SoundFont::sample`], [`SoundFont::sample_count`],
/// [`SoundFont::frame`], [`SoundFont::frames`].
#[derive(Clone, Copy, Debug)]
pub struct SoundFont<'a> {
    name: &'a [u8],
    smpl: &'a [u8],
    phdr: &'a [u8],
    pbag: &'a [u8],
    pmod: &'a [u8],
    pgen: &'a [u8],
    inst: &'a [u8],
    ibag: &'a [u8],
    imod: &'a [u8],
    igen: &'a [u8],
    shdr: &'a [u8],
}

fn trim_name(raw: &[u8]) -> &[u8] {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    raw.get(..end).unwrap_or(raw)
}

fn convert(e: ChunkError) -> Sf2Error {
    match e {
        ChunkError::ShortHeader { offset } => Sf2Error::ShortHeader { offset },
        ChunkError::Overrun {
            id,
            size,
            available,
        } => Sf2Error::Truncated {
            chunk: id,
            size,
            available,
        },
    }
}

/// The sub-chunks of a LIST chunk of type `kind`, if `chunk` is one.
fn list<'a>(chunk: &Chunk<'a>, kind: &[u8; 4]) -> Option<&'a [u8]> {
    (&chunk.id == b"LIST" && chunk.data.get(0..4) == Some(kind.as_slice()))
        .then(|| chunk.data.get(4..).unwrap_or(&[]))
}

fn records<'a>(
    data: Option<&'a [u8]>,
    chunk: &'static str,
    size: usize,
    min: usize,
) -> Result<&'a [u8], Sf2Error> {
    let data = data.ok_or(Sf2Error::Missing(chunk))?;
    if data.len() % size != 0 {
        return Err(Sf2Error::RecordSize {
            chunk,
            size: data.len(),
            record: size,
        });
    }
    if data.len() / size < min {
        return Err(Sf2Error::TooFew {
            chunk,
            count: data.len() / size,
        });
    }
    Ok(data)
}

impl<'a> SoundFont<'a> {
    /// Checks `bytes` as a SoundFont 2 file and returns a view of it.
    ///
    /// Runs once per font, in time linear in its size; allocates nothing.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Sf2Error> {
        if bytes.get(0..4) != Some(b"RIFF".as_slice()) {
            return Err(Sf2Error::NotRiff);
        }
        let riff = Chunks::new(bytes, 0)
            .next()
            .ok_or(Sf2Error::NotRiff)?
            .map_err(convert)?;
        let form = riff
            .data
            .get(0..4)
            .ok_or(Sf2Error::ShortHeader { offset: 8 })?;
        if form != b"sfbk" {
            let mut f = [0u8; 4];
            f.copy_from_slice(form);
            return Err(Sf2Error::NotSoundFont(f));
        }
        let body = riff.data.get(4..).unwrap_or(&[]);
        let (mut info, mut sdta, mut pdta) = (None, None, None);
        for chunk in Chunks::new(body, 12) {
            let chunk = chunk.map_err(convert)?;
            if let Some(d) = list(&chunk, b"INFO") {
                info = Some(d);
            } else if let Some(d) = list(&chunk, b"sdta") {
                sdta = Some(d);
            } else if let Some(d) = list(&chunk, b"pdta") {
                pdta = Some(d);
            }
        }
        let info = info.ok_or(Sf2Error::Missing("INFO"))?;
        let sdta = sdta.ok_or(Sf2Error::Missing("sdta"))?;
        let pdta = pdta.ok_or(Sf2Error::Missing("pdta"))?;

        let mut name: &[u8] = b"";
        let mut version = false;
        for c in Chunks::new(info, 0) {
            let c = c.map_err(convert)?;
            match &c.id {
                b"ifil" if c.data.len() >= 4 => version = true,
                b"INAM" => name = trim_name(c.data),
                _ => {}
            }
        }
        if !version {
            return Err(Sf2Error::Missing("INFO/ifil"));
        }
        let mut smpl = None;
        for c in Chunks::new(sdta, 0) {
            let c = c.map_err(convert)?;
            if &c.id == b"smpl" {
                smpl = Some(c.data);
            }
        }
        let smpl = smpl.ok_or(Sf2Error::Missing("sdta/smpl"))?;

        let mut sub: [Option<&[u8]>; 9] = [None; 9];
        const IDS: [&[u8; 4]; 9] = [
            b"phdr", b"pbag", b"pmod", b"pgen", b"inst", b"ibag", b"imod", b"igen", b"shdr",
        ];
        for c in Chunks::new(pdta, 0) {
            let c = c.map_err(convert)?;
            if let Some(i) = IDS.iter().position(|id| **id == c.id) {
                if let Some(slot) = sub.get_mut(i) {
                    *slot = Some(c.data);
                }
            }
        }
        let [phdr, pbag, pmod, pgen, inst, ibag, imod, igen, shdr] = sub;
        let sf = SoundFont {
            name,
            smpl,
            phdr: records(phdr, "pdta/phdr", PHDR, 2)?,
            pbag: records(pbag, "pdta/pbag", BAG, 1)?,
            pmod: records(pmod, "pdta/pmod", MOD, 1)?,
            pgen: records(pgen, "pdta/pgen", GEN, 1)?,
            inst: records(inst, "pdta/inst", INST, 2)?,
            ibag: records(ibag, "pdta/ibag", BAG, 1)?,
            imod: records(imod, "pdta/imod", MOD, 1)?,
            igen: records(igen, "pdta/igen", GEN, 1)?,
            shdr: records(shdr, "pdta/shdr", SHDR, 2)?,
        };
        sf.validate()?;
        Ok(sf)
    }

    /// The font's name from `INFO/INAM` (empty when absent).
    pub fn name(&self) -> &'a [u8] {
        self.name
    }

    /// Number of presets (the terminal record excluded).
    pub fn preset_count(&self) -> usize {
        self.phdr.len() / PHDR - 1
    }

    /// Preset header `i`.
    pub fn preset(&self, i: usize) -> Option<PresetHeader<'a>> {
        if i >= self.preset_count() {
            return None;
        }
        let r = self.phdr.get(i * PHDR..(i + 2) * PHDR)?;
        Some(PresetHeader {
            name: trim_name(r.get(0..20)?),
            program: u16_at(r, 20)?,
            bank: u16_at(r, 22)?,
            zones: usize::from(u16_at(r, 24)?)..usize::from(u16_at(r, PHDR + 24)?),
        })
    }

    /// The index of the preset with this bank and program.
    pub fn find_preset(&self, bank: u16, program: u16) -> Option<usize> {
        (0..self.preset_count()).find(|&i| {
            self.preset(i)
                .is_some_and(|p| p.bank == bank && p.program == program)
        })
    }

    /// Preset zone `bag` (an index into `pbag`).
    pub fn preset_zone(&self, bag: usize) -> Option<Zone<'a>> {
        zone(self.pbag, self.pgen, self.pmod, bag)
    }

    /// The global zone of preset `i`: its first zone, when that names no
    /// instrument.
    pub fn preset_global_zone(&self, i: usize) -> Option<Zone<'a>> {
        let first = self.preset(i)?.zones.next()?;
        self.preset_zone(first).filter(|z| z.instrument().is_none())
    }

    /// The global zone of instrument `i`: its first zone, when that names
    /// no sample.
    pub fn instrument_global_zone(&self, i: usize) -> Option<Zone<'a>> {
        let first = self.instrument(i)?.zones.next()?;
        self.instrument_zone(first).filter(|z| z.sample().is_none())
    }

    /// Number of instruments (the terminal record excluded).
    pub fn instrument_count(&self) -> usize {
        self.inst.len() / INST - 1
    }

    /// Instrument header `i`.
    pub fn instrument(&self, i: usize) -> Option<InstrumentHeader<'a>> {
        if i >= self.instrument_count() {
            return None;
        }
        let r = self.inst.get(i * INST..(i + 2) * INST)?;
        Some(InstrumentHeader {
            name: trim_name(r.get(0..20)?),
            zones: usize::from(u16_at(r, 20)?)..usize::from(u16_at(r, INST + 20)?),
        })
    }

    /// Instrument zone `bag` (an index into `ibag`).
    pub fn instrument_zone(&self, bag: usize) -> Option<Zone<'a>> {
        zone(self.ibag, self.igen, self.imod, bag)
    }

    /// Number of samples (the terminal record excluded).
    pub fn sample_count(&self) -> usize {
        self.shdr.len() / SHDR - 1
    }

    /// Sample header `i`.
    pub fn sample(&self, i: usize) -> Option<SampleHeader<'a>> {
        (i < self.sample_count())
            .then(|| self.raw_sample(i))
            .flatten()
    }

    fn raw_sample(&self, i: usize) -> Option<SampleHeader<'a>> {
        let r = self.shdr.get(i * SHDR..(i + 1) * SHDR)?;
        Some(SampleHeader {
            name: trim_name(r.get(0..20)?),
            start: u32_at(r, 20)?,
            end: u32_at(r, 24)?,
            loop_start: u32_at(r, 28)?,
            loop_end: u32_at(r, 32)?,
            sample_rate: u32_at(r, 36)?,
            original_pitch: *r.get(40)?,
            pitch_correction: *r.get(41)? as i8,
            kind: u16_at(r, 44)?,
        })
    }

    /// Frames of 16-bit sample data.
    pub fn frames(&self) -> usize {
        self.smpl.len() / 2
    }

    /// Frame `i` of the sample data as a signed 16-bit value (0 past the end).
    #[inline]
    pub fn frame(&self, i: usize) -> i16 {
        match self.smpl.get(2 * i..2 * i + 2) {
            Some(&[lo, hi]) => i16::from_le_bytes([lo, hi]),
            _ => 0,
        }
    }

    /// The sample data (16-bit little-endian frames), in place.
    pub fn sample_data(&self) -> &'a [u8] {
        self.smpl
    }
}

fn zone<'a>(bags: &'a [u8], gens: &'a [u8], mods: &'a [u8], bag: usize) -> Option<Zone<'a>> {
    let b = bags.get(bag * BAG..(bag + 2) * BAG)?;
    let (g0, m0) = (usize::from(u16_at(b, 0)?), usize::from(u16_at(b, 2)?));
    let (g1, m1) = (
        usize::from(u16_at(b, BAG)?),
        usize::from(u16_at(b, BAG + 2)?),
    );
    Some(Zone {
        gens: gens.get(g0 * GEN..g1 * GEN)?,
        mods: mods.get(m0 * MOD..m1 * MOD)?,
    })
}
