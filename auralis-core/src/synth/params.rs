//! SF2 generators and modulators: numbering, defaults, how zones combine,
//! and how controller values become parameter changes (SF2 2.04 §8).

use super::sf2::{Generator, ModulatorRecord, Zone};

/// Number of generator slots (0–60, plus the internal pitch slot).
pub(crate) const GEN_COUNT: usize = 61;

/// Generator numbers used by the synthesizer.
#[allow(missing_docs)]
pub(crate) mod gen {
    pub(crate) const START_OFFSET: usize = 0;
    pub(crate) const END_OFFSET: usize = 1;
    pub(crate) const LOOP_START_OFFSET: usize = 2;
    pub(crate) const LOOP_END_OFFSET: usize = 3;
    pub(crate) const START_COARSE: usize = 4;
    pub(crate) const MOD_LFO_TO_PITCH: usize = 5;
    pub(crate) const VIB_LFO_TO_PITCH: usize = 6;
    pub(crate) const MOD_ENV_TO_PITCH: usize = 7;
    pub(crate) const FILTER_FC: usize = 8;
    pub(crate) const FILTER_Q: usize = 9;
    pub(crate) const MOD_LFO_TO_FC: usize = 10;
    pub(crate) const MOD_ENV_TO_FC: usize = 11;
    pub(crate) const END_COARSE: usize = 12;
    pub(crate) const MOD_LFO_TO_VOLUME: usize = 13;
    pub(crate) const CHORUS_SEND: usize = 15;
    pub(crate) const REVERB_SEND: usize = 16;
    pub(crate) const PAN: usize = 17;
    pub(crate) const MOD_LFO_DELAY: usize = 21;
    pub(crate) const MOD_LFO_FREQ: usize = 22;
    pub(crate) const VIB_LFO_DELAY: usize = 23;
    pub(crate) const VIB_LFO_FREQ: usize = 24;
    pub(crate) const MOD_ENV_DELAY: usize = 25;
    pub(crate) const MOD_ENV_ATTACK: usize = 26;
    pub(crate) const MOD_ENV_HOLD: usize = 27;
    pub(crate) const MOD_ENV_DECAY: usize = 28;
    pub(crate) const MOD_ENV_SUSTAIN: usize = 29;
    pub(crate) const MOD_ENV_RELEASE: usize = 30;
    pub(crate) const KEY_TO_MOD_ENV_HOLD: usize = 31;
    pub(crate) const KEY_TO_MOD_ENV_DECAY: usize = 32;
    pub(crate) const VOL_ENV_DELAY: usize = 33;
    pub(crate) const VOL_ENV_ATTACK: usize = 34;
    pub(crate) const VOL_ENV_HOLD: usize = 35;
    pub(crate) const VOL_ENV_DECAY: usize = 36;
    pub(crate) const VOL_ENV_SUSTAIN: usize = 37;
    pub(crate) const VOL_ENV_RELEASE: usize = 38;
    pub(crate) const KEY_TO_VOL_ENV_HOLD: usize = 39;
    pub(crate) const KEY_TO_VOL_ENV_DECAY: usize = 40;
    pub(crate) const INSTRUMENT: usize = 41;
    pub(crate) const KEY_RANGE: usize = 43;
    pub(crate) const VEL_RANGE: usize = 44;
    pub(crate) const LOOP_START_COARSE: usize = 45;
    pub(crate) const KEYNUM: usize = 46;
    pub(crate) const VELOCITY: usize = 47;
    pub(crate) const ATTENUATION: usize = 48;
    pub(crate) const LOOP_END_COARSE: usize = 50;
    pub(crate) const COARSE_TUNE: usize = 51;
    pub(crate) const FINE_TUNE: usize = 52;
    pub(crate) const SAMPLE_ID: usize = 53;
    pub(crate) const SAMPLE_MODES: usize = 54;
    pub(crate) const SCALE_TUNING: usize = 56;
    pub(crate) const EXCLUSIVE_CLASS: usize = 57;
    pub(crate) const ROOT_KEY: usize = 58;
    /// Not a file generator: the destination of the pitch-wheel default
    /// modulator ("initial pitch" in SF2 2.04 §8.4.10), in cents.
    pub(crate) const PITCH: usize = 59;
}

/// Generator defaults (SF2 2.04 §8.1.3).
pub(crate) const DEFAULTS: [i32; GEN_COUNT] = {
    let mut d = [0i32; GEN_COUNT];
    d[gen::FILTER_FC] = 13_500;
    d[gen::MOD_LFO_DELAY] = -12_000;
    d[gen::VIB_LFO_DELAY] = -12_000;
    d[gen::MOD_ENV_DELAY] = -12_000;
    d[gen::MOD_ENV_ATTACK] = -12_000;
    d[gen::MOD_ENV_HOLD] = -12_000;
    d[gen::MOD_ENV_DECAY] = -12_000;
    d[gen::MOD_ENV_RELEASE] = -12_000;
    d[gen::VOL_ENV_DELAY] = -12_000;
    d[gen::VOL_ENV_ATTACK] = -12_000;
    d[gen::VOL_ENV_HOLD] = -12_000;
    d[gen::VOL_ENV_DECAY] = -12_000;
    d[gen::VOL_ENV_RELEASE] = -12_000;
    d[gen::KEY_RANGE] = 0x7f00;
    d[gen::VEL_RANGE] = 0x7f00;
    d[gen::KEYNUM] = -1;
    d[gen::VELOCITY] = -1;
    d[gen::SCALE_TUNING] = 100;
    d[gen::ROOT_KEY] = -1;
    d
};

/// Whether a preset-level generator may add to this one. Sample address
/// offsets, key/velocity overrides, sample modes, exclusive class and the
/// root key are instrument-only (§8.5); the range and link generators are
/// structural.
pub(crate) const fn preset_may_add(g: usize) -> bool {
    !matches!(
        g,
        0..=4 | 12 | 14 | 18..=20 | 41..=47 | 49 | 50 | 53..=55 | 57..=60
    )
}

/// Applies a zone's generators to `g` (overwriting), skipping structural
/// ones. Unknown operators are ignored as the specification asks.
pub(crate) fn apply(g: &mut [i32; GEN_COUNT], zone: &Zone<'_>) {
    for Generator { oper, amount } in zone.generators() {
        let o = usize::from(oper);
        if matches!(
            o,
            gen::INSTRUMENT | gen::SAMPLE_ID | gen::KEY_RANGE | gen::VEL_RANGE
        ) {
            continue;
        }
        if let Some(slot) = g.get_mut(o) {
            *slot = i32::from(amount as i16);
        }
    }
}

/// A modulator as the synthesizer uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Modulator {
    pub(crate) source: u16,
    pub(crate) dest: u16,
    pub(crate) amount: i16,
    pub(crate) amount_source: u16,
    pub(crate) transform: u16,
}

impl Modulator {
    const fn new(source: u16, dest: u16, amount: i16, amount_source: u16) -> Self {
        Self {
            source,
            dest,
            amount,
            amount_source,
            transform: 0,
        }
    }

    /// Same modulator in the sense of §9.5.1: equal sources, destination
    /// and transform (the amount may differ).
    pub(crate) fn identical(&self, o: &Modulator) -> bool {
        self.source == o.source
            && self.dest == o.dest
            && self.amount_source == o.amount_source
            && self.transform == o.transform
    }
}

impl From<ModulatorRecord> for Modulator {
    fn from(r: ModulatorRecord) -> Self {
        Self {
            source: r.source,
            dest: r.dest,
            amount: r.amount,
            amount_source: r.amount_source,
            transform: r.transform,
        }
    }
}

/// The default modulators every voice starts with (SF2 2.04 §8.4).
pub(crate) const DEFAULT_MODULATORS: [Modulator; 10] = [
    // Note-on velocity to attenuation: negative, concave.
    Modulator::new(0x0502, gen::ATTENUATION as u16, 960, 0),
    // Note-on velocity to filter cutoff: negative, linear, gated by a
    // negative velocity switch as the specification gives it (soft notes,
    // below velocity 64, are darker). Fonts that turn it off with an
    // identical modulator of amount 0 (TimGM6mb does) are obeyed;
    // FluidSynth uses a positive switch here instead.
    Modulator::new(0x0102, gen::FILTER_FC as u16, -2400, 0x0D02),
    // Channel pressure to vibrato depth.
    Modulator::new(0x000D, gen::VIB_LFO_TO_PITCH as u16, 50, 0),
    // Mod wheel (CC1) to vibrato depth.
    Modulator::new(0x0081, gen::VIB_LFO_TO_PITCH as u16, 50, 0),
    // CC7 volume to attenuation: negative, concave.
    Modulator::new(0x0587, gen::ATTENUATION as u16, 960, 0),
    // CC10 pan: bipolar, linear.
    Modulator::new(0x028A, gen::PAN as u16, 500, 0),
    // CC11 expression to attenuation: negative, concave.
    Modulator::new(0x058B, gen::ATTENUATION as u16, 960, 0),
    // CC91 to reverb send.
    Modulator::new(0x00DB, gen::REVERB_SEND as u16, 200, 0),
    // CC93 to chorus send.
    Modulator::new(0x00DD, gen::CHORUS_SEND as u16, 200, 0),
    // Pitch wheel, scaled by the pitch-wheel sensitivity (RPN 0).
    Modulator::new(0x020E, gen::PITCH as u16, 12_700, 0x0010),
];

/// What a modulator source reads: the channel's controllers and the note.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SourceValues<'c> {
    pub(crate) cc: &'c [u8; 128],
    pub(crate) key: u8,
    pub(crate) velocity: u8,
    pub(crate) pressure: u8,
    /// 14-bit pitch wheel, 8192 centre.
    pub(crate) bend: u16,
    /// Pitch-wheel sensitivity in semitones.
    pub(crate) bend_range: u8,
}

/// The concave curve of §8.2.1: 0 at 0, 1 at 1, steep near 1.
fn concave(x: f32) -> f32 {
    if x >= 1.0 {
        return 1.0;
    }
    if x <= 0.0 {
        return 0.0;
    }
    (-(5.0 / 12.0) * libm::log10f(1.0 - x)).min(1.0)
}

fn convex(x: f32) -> f32 {
    1.0 - concave(1.0 - x)
}

impl SourceValues<'_> {
    /// The value of a modulator source, after direction, polarity and
    /// curve: in [0, 1] (unipolar) or [-1, 1] (bipolar). Sources the
    /// synthesizer does not know read 0, which disables the modulator.
    pub(crate) fn read(&self, source: u16) -> f32 {
        let index = usize::from(source & 0x7f);
        let raw = if source & 0x80 != 0 {
            f32::from(self.cc.get(index).copied().unwrap_or(0)) / 127.0
        } else {
            match index {
                0 => return 1.0,
                2 => f32::from(self.velocity) / 127.0,
                3 => f32::from(self.key) / 127.0,
                13 => f32::from(self.pressure) / 127.0,
                14 => f32::from(self.bend) / 16_383.0,
                16 => f32::from(self.bend_range) / 127.0,
                _ => return 0.0,
            }
        };
        let x = if source & 0x100 != 0 { 1.0 - raw } else { raw };
        let bipolar = source & 0x200 != 0;
        let curve = source >> 10;
        let shape = |v: f32| match curve {
            1 => concave(v),
            2 => convex(v),
            3 => {
                if v >= 0.5 {
                    1.0
                } else {
                    0.0
                }
            }
            _ => v,
        };
        if !bipolar {
            return shape(x);
        }
        if curve == 3 {
            return 2.0 * shape(x) - 1.0;
        }
        let y = 2.0 * x - 1.0;
        if y >= 0.0 {
            if curve == 0 {
                y
            } else {
                shape(y)
            }
        } else if curve == 0 {
            y
        } else {
            -shape(-y)
        }
    }

    /// A modulator's contribution to its destination.
    pub(crate) fn contribution(&self, m: &Modulator) -> f32 {
        let v = f32::from(m.amount) * self.read(m.source) * self.read(m.amount_source);
        if m.transform == 2 {
            v.abs()
        } else {
            v
        }
    }
}

/// Collects a zone pair's modulators into `out`: the defaults, then the
/// instrument's (global, then local; an identical one replaces), then the
/// preset's (global, then local), which add to whatever is there.
pub(crate) fn collect_modulators<const N: usize>(
    out: &mut heapless::Vec<Modulator, N>,
    inst_global: Option<&Zone<'_>>,
    inst: &Zone<'_>,
    preset_global: Option<&Zone<'_>>,
    preset: &Zone<'_>,
) {
    out.clear();
    for m in DEFAULT_MODULATORS {
        let _ = out.push(m);
    }
    let merge = |out: &mut heapless::Vec<Modulator, N>, zone: &Zone<'_>, replace: bool| {
        for r in zone.modulators() {
            let m = Modulator::from(r);
            if replace {
                if let Some(slot) = out.iter_mut().find(|o| o.identical(&m)) {
                    *slot = m;
                    continue;
                }
            }
            // A full list drops the extra modulator: fonts with more than
            // the capacity are vanishingly rare, and the sound stays sane.
            let _ = out.push(m);
        }
    };
    if let Some(z) = inst_global {
        merge(out, z, true);
    }
    merge(out, inst, true);
    if let Some(z) = preset_global {
        merge(out, z, false);
    }
    merge(out, preset, false);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(cc: &[u8; 128], vel: u8) -> SourceValues<'_> {
        SourceValues {
            cc,
            key: 60,
            velocity: vel,
            pressure: 0,
            bend: 8192,
            bend_range: 2,
        }
    }

    #[test]
    fn velocity_attenuation_follows_the_concave_curve() {
        let cc = [0u8; 128];
        let m = DEFAULT_MODULATORS[0];
        assert!(values(&cc, 127).contribution(&m).abs() < 1e-3);
        // Velocity 64: amplitude about (64/127)², i.e. about 11.9 dB down.
        let half = values(&cc, 64).contribution(&m);
        assert!((half - 119.0).abs() < 2.0, "{half}");
        assert!(values(&cc, 1).contribution(&m) > 800.0);
    }

    #[test]
    fn pitch_wheel_scales_with_sensitivity() {
        let cc = [0u8; 128];
        let mut v = values(&cc, 100);
        let m = DEFAULT_MODULATORS[9];
        v.bend = 16_383;
        assert!((v.contribution(&m) - 200.0).abs() < 0.5);
        v.bend = 0;
        v.bend_range = 12;
        assert!((v.contribution(&m) + 1200.0).abs() < 0.5);
    }

    #[test]
    fn pan_is_bipolar() {
        let mut cc = [0u8; 128];
        cc[10] = 0;
        let m = DEFAULT_MODULATORS[5];
        assert!((values(&cc, 1).contribution(&m) + 500.0).abs() < 0.1);
        cc[10] = 127;
        assert!((values(&cc, 1).contribution(&m) - 500.0).abs() < 0.1);
    }
}
