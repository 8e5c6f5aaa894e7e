//! One sounding note: sample playback with a fixed-point phase, loops,
//! envelopes, LFOs, filter and pan, rendered into the synthesizer's mix.

use fixed::types::U32F32;

use super::dsp::{
    abs_cents_to_hz, cb_to_gain, timecents_to_secs, EnvParams, Lfo, LowPass, ModEnvelope, Stage,
    VolumeEnvelope, CONTROL_FRAMES,
};
use super::params::{gen, Modulator, SourceValues, GEN_COUNT};
use super::sf2::SoundFont;

/// Playback position in sample frames: 32 integer bits, 32 fraction bits.
pub(crate) type Phase = U32F32;

/// Most modulators one voice carries (10 defaults plus the font's own).
pub(crate) const MAX_MODULATORS: usize = 32;

/// How a voice interpolates between sample frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Interpolation {
    /// Straight line between two neighbouring frames.
    Linear,
    /// 4-point cubic (Catmull–Rom) through four neighbouring frames.
    #[default]
    Cubic,
}

/// The mix buffers a voice adds into, one control block long.
pub(crate) struct Mix<'m> {
    pub(crate) left: &'m mut [f32],
    pub(crate) right: &'m mut [f32],
    pub(crate) reverb: &'m mut [f32],
    pub(crate) chorus: &'m mut [f32],
}

/// Sample loop behaviour (generator 54).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LoopMode {
    None,
    Continuous,
    UntilRelease,
}

/// Parameters that controllers can change while the voice sounds.
#[derive(Clone, Copy, Debug, Default)]
struct Live {
    /// Pitch in cents relative to playing the sample at its own rate.
    pitch: f32,
    attenuation: f32,
    pan_left: f32,
    pan_right: f32,
    reverb: f32,
    chorus: f32,
    filter_fc: f32,
    filter_q: f32,
    mod_lfo_to_pitch: f32,
    vib_lfo_to_pitch: f32,
    mod_env_to_pitch: f32,
    mod_lfo_to_fc: f32,
    mod_env_to_fc: f32,
    mod_lfo_to_volume: f32,
}

/// One voice of the pool.
#[derive(Clone, Debug)]
pub(crate) struct Voice {
    pub(crate) channel: u8,
    pub(crate) key: u8,
    pub(crate) velocity: u8,
    /// Order of starting: smaller is older.
    pub(crate) serial: u64,
    pub(crate) exclusive_class: i32,
    /// The note-off has arrived.
    pub(crate) released: bool,
    /// The note-off arrived while the sustain pedal was down.
    pub(crate) sustained: bool,
    /// Which loaded font the sample comes from.
    pub(crate) font: usize,
    start: u32,
    end: u32,
    loop_start: u32,
    loop_end: u32,
    loop_mode: LoopMode,
    phase: Phase,
    /// Sample rate over output rate, as cents (added to the pitch).
    rate_cents: f32,
    gens: [i32; GEN_COUNT],
    mods: heapless::Vec<Modulator, MAX_MODULATORS>,
    live: Live,
    vol: VolumeEnvelope,
    vol_params: EnvParams,
    modenv: ModEnvelope,
    mod_params: EnvParams,
    mod_lfo: Lfo,
    vib_lfo: Lfo,
    filter: LowPass,
    step: Phase,
    /// Gains at the start of the control block, their per-frame slopes,
    /// and frames of the block already rendered: a gain is always
    /// `start + (pos + 1) × slope`, however rendering is split.
    gain_l: f32,
    gain_r: f32,
    dgain_l: f32,
    dgain_r: f32,
    ramp_pos: u32,
    /// Frames left until the next control update.
    block_left: u32,
    /// Frames left of a stealing or cut fade, when one is running.
    fade: Option<u32>,
    /// The voice has finished and may be removed.
    pub(crate) done: bool,
}

/// Gain under which a fading voice is inaudible in 16-bit output (−90 dB).
const NOISE_FLOOR: f32 = 3.2e-5;

/// Frames over which a stolen or cut voice fades to silence (about 3 ms).
pub(crate) const FADE_FRAMES: u32 = 128;

/// Everything a new voice needs.
pub(crate) struct VoiceStart<'s> {
    pub(crate) channel: u8,
    pub(crate) key: u8,
    pub(crate) velocity: u8,
    pub(crate) serial: u64,
    pub(crate) font: usize,
    pub(crate) sample: usize,
    pub(crate) gens: &'s [i32; GEN_COUNT],
    pub(crate) mods: &'s heapless::Vec<Modulator, MAX_MODULATORS>,
    /// Frames until the next control-grid point.
    pub(crate) to_grid: u32,
}

impl Voice {
    pub(crate) const EMPTY: Voice = Voice {
        channel: 0,
        key: 0,
        velocity: 0,
        serial: 0,
        exclusive_class: 0,
        released: false,
        sustained: false,
        font: 0,
        start: 0,
        end: 0,
        loop_start: 0,
        loop_end: 0,
        loop_mode: LoopMode::None,
        phase: Phase::ZERO,
        rate_cents: 0.0,
        gens: [0; GEN_COUNT],
        mods: heapless::Vec::new(),
        live: Live {
            pitch: 0.0,
            attenuation: 0.0,
            pan_left: 0.0,
            pan_right: 0.0,
            reverb: 0.0,
            chorus: 0.0,
            filter_fc: 0.0,
            filter_q: 0.0,
            mod_lfo_to_pitch: 0.0,
            vib_lfo_to_pitch: 0.0,
            mod_env_to_pitch: 0.0,
            mod_lfo_to_fc: 0.0,
            mod_env_to_fc: 0.0,
            mod_lfo_to_volume: 0.0,
        },
        vol: VolumeEnvelope::new(),
        vol_params: EnvParams::ZERO,
        modenv: ModEnvelope::new(),
        mod_params: EnvParams::ZERO,
        mod_lfo: Lfo::new(),
        vib_lfo: Lfo::new(),
        filter: LowPass::new(),
        step: Phase::ZERO,
        gain_l: 0.0,
        gain_r: 0.0,
        dgain_l: 0.0,
        dgain_r: 0.0,
        ramp_pos: 0,
        block_left: 0,
        fade: None,
        done: true,
    };

    /// Sets this voice up to play a note. Returns `false` when the sample
    /// cannot be played (a ROM sample, or nothing left after offsets).
    pub(crate) fn start(
        &mut self,
        font: &SoundFont<'_>,
        s: &VoiceStart<'_>,
        cc: SourceValues<'_>,
        sample_rate: f32,
    ) -> bool {
        let Some(h) = font.sample(s.sample) else {
            return false;
        };
        if h.kind & 0x8000 != 0 {
            return false;
        }
        let g = s.gens;
        let at = |i: usize| g.get(i).copied().unwrap_or(0);
        let frames = font.frames() as i64;
        let off = |base: u32, fine: usize, coarse: usize| {
            (i64::from(base) + i64::from(at(fine)) + 32_768 * i64::from(at(coarse)))
                .clamp(0, frames) as u32
        };
        let start = off(h.start, gen::START_OFFSET, gen::START_COARSE);
        let end = off(h.end, gen::END_OFFSET, gen::END_COARSE);
        if end <= start + 1 {
            return false;
        }
        let loop_start =
            off(h.loop_start, gen::LOOP_START_OFFSET, gen::LOOP_START_COARSE).clamp(start, end);
        let loop_end =
            off(h.loop_end, gen::LOOP_END_OFFSET, gen::LOOP_END_COARSE).clamp(start, end);
        let loop_mode = match at(gen::SAMPLE_MODES) & 3 {
            _ if loop_end < loop_start + 2 => LoopMode::None,
            1 => LoopMode::Continuous,
            3 => LoopMode::UntilRelease,
            _ => LoopMode::None,
        };

        *self = Voice::EMPTY;
        self.channel = s.channel;
        self.key = s.key;
        self.velocity = s.velocity;
        self.serial = s.serial;
        self.font = s.font;
        self.exclusive_class = at(gen::EXCLUSIVE_CLASS);
        self.start = start;
        self.end = end;
        self.loop_start = loop_start;
        self.loop_end = loop_end;
        self.loop_mode = loop_mode;
        self.phase = Phase::from_num(start);
        self.gens = *g;
        self.mods.clone_from(s.mods);
        self.done = false;

        // Pitch: key (or its override) against the root key, scale tuning,
        // coarse and fine tune, the sample's correction and rate.
        let root = match at(gen::ROOT_KEY) {
            r @ 0..=127 => r,
            _ if h.original_pitch <= 127 => i32::from(h.original_pitch),
            _ => 60,
        };
        let key = match at(gen::KEYNUM) {
            k @ 0..=127 => k,
            _ => i32::from(s.key),
        };
        let base = (key - root) as f32 * at(gen::SCALE_TUNING) as f32
            + 100.0 * at(gen::COARSE_TUNE) as f32
            + at(gen::FINE_TUNE) as f32
            + f32::from(h.pitch_correction);
        self.rate_cents = 1200.0 * libm::log2f(h.sample_rate as f32 / sample_rate) + base;

        let tc = |i: usize| timecents_to_secs(at(i) as f32) * sample_rate;
        let key_scaled = |i: usize, k: usize| {
            timecents_to_secs((at(i) + at(k) * (60 - i32::from(s.key))) as f32) * sample_rate
        };
        self.vol_params = EnvParams {
            delay: tc(gen::VOL_ENV_DELAY),
            attack: tc(gen::VOL_ENV_ATTACK),
            hold: key_scaled(gen::VOL_ENV_HOLD, gen::KEY_TO_VOL_ENV_HOLD),
            decay: key_scaled(gen::VOL_ENV_DECAY, gen::KEY_TO_VOL_ENV_DECAY),
            sustain: at(gen::VOL_ENV_SUSTAIN) as f32,
            release: tc(gen::VOL_ENV_RELEASE),
        };
        self.mod_params = EnvParams {
            delay: tc(gen::MOD_ENV_DELAY),
            attack: tc(gen::MOD_ENV_ATTACK),
            hold: key_scaled(gen::MOD_ENV_HOLD, gen::KEY_TO_MOD_ENV_HOLD),
            decay: key_scaled(gen::MOD_ENV_DECAY, gen::KEY_TO_MOD_ENV_DECAY),
            sustain: 1.0 - at(gen::MOD_ENV_SUSTAIN) as f32 / 1000.0,
            release: tc(gen::MOD_ENV_RELEASE),
        };
        self.mod_lfo.start(
            tc(gen::MOD_LFO_DELAY),
            abs_cents_to_hz(at(gen::MOD_LFO_FREQ) as f32),
            sample_rate,
        );
        self.vib_lfo.start(
            tc(gen::VIB_LFO_DELAY),
            abs_cents_to_hz(at(gen::VIB_LFO_FREQ) as f32),
            sample_rate,
        );
        self.update(cc);
        // The first control block runs to the next grid point.
        self.block_left = 0;
        self.control(sample_rate, s.to_grid.max(1));
        true
    }

    /// Recomputes what controllers and modulators feed (after a control
    /// change, pitch bend or pressure).
    pub(crate) fn update(&mut self, cc: SourceValues<'_>) {
        let cc = SourceValues {
            key: match self.gens.get(gen::KEYNUM).copied() {
                Some(k @ 0..=127) => k as u8,
                _ => self.key,
            },
            velocity: match self.gens.get(gen::VELOCITY).copied() {
                Some(v @ 0..=127) => v as u8,
                _ => self.velocity,
            },
            ..cc
        };
        let mut m = [0f32; GEN_COUNT];
        for md in &self.mods {
            if let Some(slot) = m.get_mut(usize::from(md.dest)) {
                *slot += cc.contribution(md);
            }
        }
        let v = |i: usize| {
            self.gens.get(i).copied().unwrap_or(0) as f32 + m.get(i).copied().unwrap_or(0.0)
        };
        // EMU hardware scaled the attenuation generator by 0.4 and fonts
        // are voiced for it (FluidSynth does the same); modulators are not.
        // A resonant filter's peak is paid for with half its height in
        // level, as FluidSynth and rustysynth do.
        let attenuation = 0.4 * self.gens.get(gen::ATTENUATION).copied().unwrap_or(0) as f32
            + m.get(gen::ATTENUATION).copied().unwrap_or(0.0)
            + 0.5 * v(gen::FILTER_Q).clamp(0.0, 960.0);
        let pan = v(gen::PAN).clamp(-500.0, 500.0);
        let angle = (pan + 500.0) / 1000.0 * core::f32::consts::FRAC_PI_2;
        self.live = Live {
            pitch: m.get(gen::PITCH).copied().unwrap_or(0.0)
                + m.get(gen::FINE_TUNE).copied().unwrap_or(0.0)
                + 100.0 * m.get(gen::COARSE_TUNE).copied().unwrap_or(0.0),
            attenuation: attenuation.clamp(0.0, 1440.0),
            pan_left: libm::cosf(angle),
            pan_right: libm::sinf(angle),
            reverb: (v(gen::REVERB_SEND) / 1000.0).clamp(0.0, 1.0),
            chorus: (v(gen::CHORUS_SEND) / 1000.0).clamp(0.0, 1.0),
            filter_fc: v(gen::FILTER_FC),
            filter_q: v(gen::FILTER_Q),
            mod_lfo_to_pitch: v(gen::MOD_LFO_TO_PITCH),
            vib_lfo_to_pitch: v(gen::VIB_LFO_TO_PITCH),
            mod_env_to_pitch: v(gen::MOD_ENV_TO_PITCH),
            mod_lfo_to_fc: v(gen::MOD_LFO_TO_FC),
            mod_env_to_fc: v(gen::MOD_ENV_TO_FC),
            mod_lfo_to_volume: v(gen::MOD_LFO_TO_VOLUME),
        };
    }

    /// Note-off (or pedal release): enter the release stages.
    pub(crate) fn release(&mut self) {
        self.released = true;
        self.sustained = false;
        self.vol.release();
        self.modenv.release();
    }

    /// Fades the voice out over [`FADE_FRAMES`] (stealing, exclusive
    /// class, all-sound-off): quick, but never a click.
    pub(crate) fn cut(&mut self) {
        if self.fade.is_none() {
            self.fade = Some(FADE_FRAMES);
            self.released = true;
            self.block_left = 0;
        }
    }

    /// Loudness now, for choosing which voice to steal.
    pub(crate) fn loudness(&self) -> f32 {
        self.vol.gain() * cb_to_gain(self.live.attenuation)
    }

    /// A control-rate update at the start of a block of `frames` frames:
    /// advances envelopes and LFOs and sets this block's pitch, filter and
    /// gain ramp.
    fn control(&mut self, sample_rate: f32, frames: u32) {
        let n = frames as f32;
        let (mod_lfo, vib_lfo, mod_env) = (
            self.mod_lfo.value(),
            self.vib_lfo.value(),
            self.modenv.value(),
        );
        let l = &self.live;
        let cents = self.rate_cents
            + l.pitch
            + mod_lfo * l.mod_lfo_to_pitch
            + vib_lfo * l.vib_lfo_to_pitch
            + mod_env * l.mod_env_to_pitch;
        self.step = Phase::saturating_from_num(libm::exp2f(cents / 1200.0));
        let fc = l.filter_fc + mod_lfo * l.mod_lfo_to_fc + mod_env * l.mod_env_to_fc;
        self.filter.set(fc, l.filter_q, sample_rate);

        self.vol.advance(&self.vol_params, n);
        self.modenv.advance(&self.mod_params, n);
        self.mod_lfo.advance(n);
        self.vib_lfo.advance(n);
        let mut amp = self.vol.gain() * cb_to_gain(l.attenuation + mod_lfo * l.mod_lfo_to_volume);
        if let Some(left) = self.fade {
            let after = left.saturating_sub(frames);
            amp *= after as f32 / FADE_FRAMES as f32;
            self.fade = Some(after);
            if left == 0 {
                self.done = true;
            }
        }
        // A voice that is fading for good (released, or decaying towards a
        // silent sustain) ends once its whole gain is under the noise
        // floor of 16-bit output, not just its envelope.
        let fading = match self.vol.stage {
            Stage::Release => true,
            Stage::Decay | Stage::Sustain => {
                cb_to_gain(self.vol_params.sustain + l.attenuation) < NOISE_FLOOR
            }
            _ => false,
        };
        if fading && amp < NOISE_FLOOR {
            self.vol.stage = Stage::Done;
        }
        if self.vol.stage == Stage::Done {
            amp = 0.0;
        }
        let (tl, tr) = (amp * l.pan_left, amp * l.pan_right);
        let pos = self.ramp_pos as f32;
        let (cl, cr) = (
            self.gain_l + pos * self.dgain_l,
            self.gain_r + pos * self.dgain_r,
        );
        self.gain_l = cl;
        self.gain_r = cr;
        self.dgain_l = (tl - cl) / n;
        self.dgain_r = (tr - cr) / n;
        self.ramp_pos = 0;
        self.block_left = frames;
    }

    /// Renders `mix.left.len()` frames (at most up to the next control
    /// point) into the mix. `to_grid` is how far the next grid point is.
    ///
    /// # Real-time
    /// No allocation, no locks; O(frames).
    pub(crate) fn render(
        &mut self,
        font: &SoundFont<'_>,
        mix: Mix<'_>,
        interp: Interpolation,
        sample_rate: f32,
        to_grid: u32,
    ) {
        let mut block = [0f32; CONTROL_FRAMES as usize];
        let produced = self.source(
            font,
            mix.left.len(),
            interp,
            sample_rate,
            to_grid,
            &mut block,
        );
        if let Some(b) = block.get_mut(..produced) {
            self.filter_block(b);
        }
        self.mix_block(block.get(..produced).unwrap_or(&[]), mix);
    }

    /// Renders two voices, filtering both in one loop so the two filters'
    /// dependency chains overlap; the result is exactly that of rendering
    /// them one after the other.
    pub(crate) fn render_pair<'f>(
        pair: (&mut Voice, &mut Voice),
        font_of: impl Fn(usize) -> Option<SoundFont<'f>>,
        mix: (&mut [f32], &mut [f32], &mut [f32], &mut [f32]),
        interp: Interpolation,
        sample_rate: f32,
        to_grid: u32,
    ) {
        let (a, b) = pair;
        let (left, right, reverb, chorus) = mix;
        let n = left.len();
        let mut ba = [0f32; CONTROL_FRAMES as usize];
        let mut bb = [0f32; CONTROL_FRAMES as usize];
        let pa = match font_of(a.font) {
            Some(f) => a.source(&f, n, interp, sample_rate, to_grid, &mut ba),
            None => {
                a.done = true;
                0
            }
        };
        let pb = match font_of(b.font) {
            Some(f) => b.source(&f, n, interp, sample_rate, to_grid, &mut bb),
            None => {
                b.done = true;
                0
            }
        };
        if let (Some(xa), Some(xb)) = (ba.get_mut(..pa), bb.get_mut(..pb)) {
            if a.filter.active && b.filter.active {
                let (mut fa, mut fb) = (a.filter, b.filter);
                let both = xa.len().min(xb.len());
                for (x, y) in xa.iter_mut().zip(xb.iter_mut()) {
                    *x = fa.process(*x);
                    *y = fb.process(*y);
                }
                for x in xa.iter_mut().skip(both) {
                    *x = fa.process(*x);
                }
                for y in xb.iter_mut().skip(both) {
                    *y = fb.process(*y);
                }
                a.filter = fa;
                b.filter = fb;
            } else {
                a.filter_block(xa);
                b.filter_block(xb);
            }
        }
        a.mix_block(
            ba.get(..pa).unwrap_or(&[]),
            Mix {
                left: &mut *left,
                right: &mut *right,
                reverb: &mut *reverb,
                chorus: &mut *chorus,
            },
        );
        b.mix_block(
            bb.get(..pb).unwrap_or(&[]),
            Mix {
                left,
                right,
                reverb,
                chorus,
            },
        );
    }

    /// Starts a control block if one is due and resamples up to `frames`
    /// frames into `block` (raw 16-bit units); returns how many.
    fn source(
        &mut self,
        font: &SoundFont<'_>,
        frames: usize,
        interp: Interpolation,
        sample_rate: f32,
        to_grid: u32,
        block: &mut [f32; CONTROL_FRAMES as usize],
    ) -> usize {
        if self.done {
            return 0;
        }
        if self.block_left == 0 {
            // Fully silent and finished: stop instead of starting a block.
            let pos = self.ramp_pos as f32;
            let silent =
                self.gain_l + pos * self.dgain_l == 0.0 && self.gain_r + pos * self.dgain_r == 0.0;
            if self.vol.stage == Stage::Done && silent {
                self.done = true;
                return 0;
            }
            if self.fade == Some(0) {
                self.done = true;
                return 0;
            }
            self.control(sample_rate, to_grid.clamp(1, CONTROL_FRAMES as u32));
        }
        let n = frames.min(self.block_left as usize);
        match block.get_mut(..n) {
            Some(out) => match interp {
                Interpolation::Linear => self.resample::<false>(font, out),
                Interpolation::Cubic => self.resample::<true>(font, out),
            },
            None => 0,
        }
    }

    /// Runs the voice's filter over `block`, when it is on.
    fn filter_block(&mut self, block: &mut [f32]) {
        if self.filter.active {
            let mut f = self.filter;
            for x in block.iter_mut() {
                *x = f.process(*x);
            }
            self.filter = f;
        }
    }

    /// Adds `mono` (filtered, raw 16-bit units) to the mix with this
    /// block's gain ramp and sends, and advances the block.
    fn mix_block(&mut self, mono: &[f32], mix: Mix<'_>) {
        let produced = mono.len();
        // Mix with a linear gain ramp, computed from the frame index so the
        // loop carries no dependency and vectorises.
        const SCALE: f32 = 1.0 / 32_768.0;
        let (gl, gr) = (self.gain_l * SCALE, self.gain_r * SCALE);
        let (dl, dr) = (self.dgain_l * SCALE, self.dgain_r * SCALE);
        let base = self.ramp_pos as f32 + 1.0;
        for (k, ((x, l), r)) in mono
            .iter()
            .zip(mix.left.iter_mut())
            .zip(mix.right.iter_mut())
            .enumerate()
        {
            let t = base + k as f32;
            *l += x * (gl + t * dl);
            *r += x * (gr + t * dr);
        }
        let (send_r, send_c) = (self.live.reverb * 0.5, self.live.chorus * 0.5);
        for (send, bus) in [(send_r, mix.reverb), (send_c, mix.chorus)] {
            if send > 0.0 {
                let (g, d) = ((gl + gr) * send, (dl + dr) * send);
                for (k, (x, b)) in mono.iter().zip(bus.iter_mut()).enumerate() {
                    *b += x * (g + (base + k as f32) * d);
                }
            }
        }
        self.ramp_pos += produced as u32;
        self.block_left -= (produced as u32).min(self.block_left);
    }

    /// Reads the sample at the voice's pitch into `out` (raw 16-bit units),
    /// linear or cubic; returns how many frames were produced (fewer when
    /// an unlooped sample ends).
    #[inline(always)]
    fn resample<const CUBIC: bool>(&mut self, font: &SoundFont<'_>, out: &mut [f32]) -> usize {
        let data = font.sample_data();
        let looping = match self.loop_mode {
            LoopMode::Continuous => true,
            LoopMode::UntilRelease => !self.released,
            LoopMode::None => false,
        };
        let limit = if looping { self.loop_end } else { self.end };
        let loop_len = Phase::from_num(self.loop_end.saturating_sub(self.loop_start));
        let loop_end = Phase::from_num(self.loop_end);
        let end = Phase::from_num(self.end);
        let (start, step) = (self.start, self.step);
        let mut phase = self.phase;
        let mut produced = out.len();
        for (k, o) in out.iter_mut().enumerate() {
            let bits = phase.to_bits();
            let i = (bits >> 32) as u32;
            let frac = (bits as u32) as f32 * (1.0 / 4_294_967_296.0);
            *o = if CUBIC {
                // One bounds check for the four frames around the position.
                let at = 2 * i as usize;
                let window = if i > start && i + 2 < limit {
                    data.get(at - 2..at + 6)
                } else {
                    None
                };
                let (p0, p1, p2, p3) = match window {
                    Some(&[a0, a1, b0, b1, c0, c1, d0, d1]) => (
                        f32::from(i16::from_le_bytes([a0, a1])),
                        f32::from(i16::from_le_bytes([b0, b1])),
                        f32::from(i16::from_le_bytes([c0, c1])),
                        f32::from(i16::from_le_bytes([d0, d1])),
                    ),
                    _ => (
                        self.fetch(font, i.wrapping_sub(1), looping),
                        self.fetch(font, i, looping),
                        self.fetch(font, i + 1, looping),
                        self.fetch(font, i + 2, looping),
                    ),
                };
                let [c0, c1, c2, c3] = cubic_weights(bits as u32);
                (c0 * p0 + c1 * p1) + (c2 * p2 + c3 * p3)
            } else {
                let at = 2 * i as usize;
                let window = if i + 1 < limit {
                    data.get(at..at + 4)
                } else {
                    None
                };
                let (a, b) = match window {
                    Some(&[a0, a1, b0, b1]) => (
                        f32::from(i16::from_le_bytes([a0, a1])),
                        f32::from(i16::from_le_bytes([b0, b1])),
                    ),
                    _ => (
                        self.fetch(font, i, looping),
                        self.fetch(font, i + 1, looping),
                    ),
                };
                a + frac * (b - a)
            };
            phase = phase.wrapping_add(step);
            if looping {
                if phase >= loop_end {
                    phase -= loop_len;
                }
            } else if phase >= end {
                self.done = true;
                produced = k + 1;
                break;
            }
        }
        self.phase = phase;
        produced
    }

    /// Frame `i` in raw 16-bit units, wrapping into the loop while looping
    /// and reading silence outside the sample.
    #[inline(never)]
    fn fetch(&self, font: &SoundFont<'_>, i: u32, looping: bool) -> f32 {
        let mut i = i;
        if looping && i >= self.loop_end {
            let len = self.loop_end - self.loop_start;
            i = self.loop_start + (i - self.loop_end) % len.max(1);
        }
        if i < self.start || i >= self.end {
            return 0.0;
        }
        frame(font, i)
    }
}

#[inline(always)]
fn frame(font: &SoundFont<'_>, i: u32) -> f32 {
    f32::from(font.frame(i as usize))
}

/// Fraction bits that select a row of [`CUBIC`].
const CUBIC_BITS: u32 = 10;

/// Catmull–Rom weights of the four frames around a position, for 1024
/// fractions between frames. Built at compile time from polynomials only,
/// so identical on every target.
// The index runs at compile time: out of range, it fails the build.
#[allow(clippy::indexing_slicing)]
static CUBIC: [[f32; 4]; 1 << CUBIC_BITS] = {
    let mut t = [[0f32; 4]; 1 << CUBIC_BITS];
    let mut i = 0;
    while i < t.len() {
        let x = i as f32 / (1 << CUBIC_BITS) as f32;
        let (x2, x3) = (x * x, x * x * x);
        t[i] = [
            -0.5 * x3 + x2 - 0.5 * x,
            1.5 * x3 - 2.5 * x2 + 1.0,
            -1.5 * x3 + 2.0 * x2 + 0.5 * x,
            0.5 * x3 - 0.5 * x2,
        ];
        i += 1;
    }
    t
};

/// The cubic weights for a 32-bit phase fraction.
#[inline(always)]
fn cubic_weights(frac: u32) -> [f32; 4] {
    CUBIC
        .get((frac >> (32 - CUBIC_BITS)) as usize)
        .copied()
        .unwrap_or([0.0, 1.0, 0.0, 0.0])
}
