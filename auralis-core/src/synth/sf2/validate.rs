//! The checks [`SoundFont::parse`] runs once: every cross-reference
//! between the records, and every sample's range, loop and rate.

use core::ops::Range;

use super::{SampleHeader, SampleProblem, Sf2Error, SoundFont, Zone};
use super::{BAG, GEN, INST, MAX_SAMPLE_RATE, MOD, PHDR, SHDR};
use crate::synth::riff::u16_at;

impl SoundFont<'_> {
    /// Checks every cross-reference and sample range.
    pub(super) fn validate(&self) -> Result<(), Sf2Error> {
        let n_pbag = (self.pbag.len() / BAG) as u32;
        let n_ibag = (self.ibag.len() / BAG) as u32;
        let n_inst = (self.inst.len() / INST) as u32 - 1;
        let n_shdr = (self.shdr.len() / SHDR) as u32 - 1;
        // Header → bag indices: non-decreasing and inside the bag list.
        check_bags(self.phdr, PHDR, 24, n_pbag, "pdta/phdr", "preset")?;
        check_bags(self.inst, INST, 20, n_ibag, "pdta/inst", "instrument")?;
        // Bag → generator and modulator indices.
        let n_pgen = (self.pgen.len() / GEN) as u32;
        let n_pmod = (self.pmod.len() / MOD) as u32;
        let n_igen = (self.igen.len() / GEN) as u32;
        let n_imod = (self.imod.len() / MOD) as u32;
        check_bags(self.pbag, BAG, 0, n_pgen, "pdta/pbag", "zone")?;
        check_bags_target(self.pbag, BAG, 2, n_pmod, "pdta/pbag", "modulator")?;
        check_bags(self.ibag, BAG, 0, n_igen, "pdta/ibag", "zone")?;
        check_bags_target(self.ibag, BAG, 2, n_imod, "pdta/ibag", "modulator")?;
        // Generator references: preset zones → instruments, instrument
        // zones → samples.
        let preset_zones = |p: usize| self.preset(p).map_or(0..0, |h| h.zones);
        let preset_zone = |b: usize| self.preset_zone(b);
        let refs = References {
            chunk: "pdta/pgen",
            owner: "preset",
            target: "instrument",
            count: n_inst,
        };
        refs.check(
            self.preset_count(),
            preset_zones,
            preset_zone,
            |z: &Zone<'_>| z.instrument(),
        )?;
        let inst_zones = |i: usize| self.instrument(i).map_or(0..0, |h| h.zones);
        let inst_zone = |b: usize| self.instrument_zone(b);
        let refs = References {
            chunk: "pdta/igen",
            owner: "instrument",
            target: "sample",
            count: n_shdr,
        };
        refs.check(n_inst as usize, inst_zones, inst_zone, |z: &Zone<'_>| {
            z.sample()
        })?;
        let frames = (self.smpl.len() / 2) as u32;
        for s in 0..n_shdr as usize {
            let Some(h) = self.raw_sample(s) else {
                continue;
            };
            if h.kind & 0x8000 != 0 {
                // ROM samples refer to hardware memory we do not have;
                // zones that use them stay silent.
                continue;
            }
            let problem = if h.end <= h.start {
                Some(SampleProblem::Empty {
                    start: h.start,
                    end: h.end,
                })
            } else if h.end > frames {
                Some(SampleProblem::PastEnd { end: h.end, frames })
            } else if h.sample_rate == 0 || h.sample_rate > MAX_SAMPLE_RATE {
                Some(SampleProblem::Rate(h.sample_rate))
            } else if !loop_ok(&h) {
                Some(SampleProblem::LoopOutside {
                    loop_start: h.loop_start,
                    loop_end: h.loop_end,
                })
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(Sf2Error::Sample {
                    index: s as u32,
                    problem,
                });
            }
        }
        Ok(())
    }
}

/// A loop is fine when it lies inside the sample; an empty loop (start at
/// or after end) is treated as "no loop" and is fine too.
fn loop_ok(h: &SampleHeader<'_>) -> bool {
    h.loop_start >= h.loop_end || (h.loop_start >= h.start && h.loop_end <= h.end)
}

/// One kind of generator reference to check: which chunk holds it, who
/// owns it, what it points at and how many of those there are.
struct References {
    chunk: &'static str,
    owner: &'static str,
    target: &'static str,
    count: u32,
}

impl References {
    /// Checks every zone of `owners` owners: the index it refers to (if
    /// any) must be below `count`.
    fn check<'a>(
        &self,
        owners: usize,
        zones_of: impl Fn(usize) -> Range<usize>,
        zone_at: impl Fn(usize) -> Option<Zone<'a>>,
        refers_to: impl Fn(&Zone<'a>) -> Option<usize>,
    ) -> Result<(), Sf2Error> {
        for o in 0..owners {
            for (z, bag) in zones_of(o).enumerate() {
                let Some(i) = zone_at(bag).as_ref().and_then(&refers_to) else {
                    continue;
                };
                if i as u32 >= self.count {
                    return Err(index_err(
                        self.chunk,
                        self.owner,
                        o,
                        z,
                        self.target,
                        i,
                        self.count,
                    ));
                }
            }
        }
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn index_err(
    chunk: &'static str,
    owner: &'static str,
    o: usize,
    z: usize,
    target: &'static str,
    i: usize,
    n: u32,
) -> Sf2Error {
    Sf2Error::Index {
        chunk,
        owner,
        owner_index: o as u32,
        zone: Some(z as u32),
        target,
        index: i as u32,
        count: n,
    }
}

/// Checks the index field at `field` of each record: non-decreasing, and
/// at most `count - 1` (the last record of the target list is its
/// terminal, which a terminal header may point at).
fn check_bags(
    data: &[u8],
    size: usize,
    field: usize,
    count: u32,
    chunk: &'static str,
    owner: &'static str,
) -> Result<(), Sf2Error> {
    let target = if owner == "zone" { "generator" } else { "zone" };
    check_index_field(data, size, field, count, chunk, owner, target)
}

fn check_bags_target(
    data: &[u8],
    size: usize,
    field: usize,
    count: u32,
    chunk: &'static str,
    target: &'static str,
) -> Result<(), Sf2Error> {
    check_index_field(data, size, field, count, chunk, "zone", target)
}

fn check_index_field(
    data: &[u8],
    size: usize,
    field: usize,
    count: u32,
    chunk: &'static str,
    owner: &'static str,
    target: &'static str,
) -> Result<(), Sf2Error> {
    let mut prev = 0u32;
    for (i, r) in data.chunks_exact(size).enumerate() {
        let v = u32::from(u16_at(r, field).unwrap_or(0));
        if v < prev {
            return Err(Sf2Error::Order {
                chunk,
                record: i as u32,
            });
        }
        if v >= count {
            return Err(Sf2Error::Index {
                chunk,
                owner,
                owner_index: i as u32,
                zone: None,
                target,
                index: v,
                count,
            });
        }
        prev = v;
    }
    Ok(())
}
