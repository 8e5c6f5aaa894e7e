//! One sounding note: sample playback with a fixed-point phase, loops,
//! envelopes, LFOs, filter and pan, rendered into the synthesizer's mix.

use super::dsp::{
    abs_cents_to_hz, cb_to_gain, timecents_to_secs, EnvLevel, EnvParams, Exp2Memo, Lfo, LowPass,
    ModEnvelope, Stage, StepMemo, VolumeEnvelope, CONTROL_FRAMES,
};
use super::params::{gen, Modulator, SourceValues, GEN_COUNT};
use super::sf2::SoundFont;

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

/// The part of a voice the renderer reads and advances every frame
/// ([`super::lanes`]); the rest of [`Voice`] changes at control rate.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AudioState {
    /// Playback position in sample frames, 32.32 fixed point.
    pub(crate) phase: u64,
    /// Position advance per output frame, 32.32 fixed point.
    pub(crate) step: u64,
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) loop_start: u32,
    pub(crate) loop_end: u32,
    loop_mode: LoopMode,
    pub(crate) filter: LowPass,
    /// Gains at the start of the control block, their per-frame slopes,
    /// and frames of the block already rendered: a gain is always
    /// `start + (pos + 1) × slope`, however rendering is split.
    pub(crate) gain_l: f32,
    pub(crate) gain_r: f32,
    pub(crate) dgain_l: f32,
    pub(crate) dgain_r: f32,
    pub(crate) ramp_pos: u32,
    /// Reverb and chorus send levels (applied to the sum of both sides).
    pub(crate) reverb: f32,
    pub(crate) chorus: f32,
}

impl AudioState {
    const EMPTY: AudioState = AudioState {
        phase: 0,
        step: 0,
        start: 0,
        end: 0,
        loop_start: 0,
        loop_end: 0,
        loop_mode: LoopMode::None,
        filter: LowPass::new(),
        gain_l: 0.0,
        gain_r: 0.0,
        dgain_l: 0.0,
        dgain_r: 0.0,
        ramp_pos: 0,
        reverb: 0.0,
        chorus: 0.0,
    };

    /// Whether the sample loops now (a release-ending loop stops looping
    /// at the note-off).
    pub(crate) fn looping(&self, released: bool) -> bool {
        match self.loop_mode {
            LoopMode::Continuous => true,
            LoopMode::UntilRelease => !released,
            LoopMode::None => false,
        }
    }
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
    /// What the renderer reads and advances every frame.
    pub(crate) audio: AudioState,
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
    /// The last pitch ratio and gain, kept while their inputs hold.
    pitch_memo: StepMemo,
    gain_memo: Exp2Memo,
    /// Frames left until the next control update.
    pub(crate) block_left: u32,
    /// Frames left of a stealing or cut fade, when one is running.
    fade: Option<u32>,
    /// The voice has finished and may be removed.
    pub(crate) done: bool,
    /// Finished at a control-grid point: the voice no longer holds a
    /// lane. Lanes change only on the grid, so that how rendering is
    /// split into calls cannot change the order voices are summed in.
    pub(crate) retired: bool,
}

/// Gain under which a fading voice is inaudible in 16-bit output (−90 dB).
const NOISE_FLOOR: f32 = 3.2e-5;
/// [`NOISE_FLOOR`] as attenuation: −200·log10(3.2e-5) centibels.
const NOISE_FLOOR_CB: f32 = 898.97;

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
        audio: AudioState::EMPTY,
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
        pitch_memo: StepMemo::new(),
        gain_memo: Exp2Memo::new(),
        block_left: 0,
        fade: None,
        done: true,
        retired: true,
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
        self.audio.start = start;
        self.audio.end = end;
        self.audio.loop_start = loop_start;
        self.audio.loop_end = loop_end;
        self.audio.loop_mode = loop_mode;
        self.audio.phase = u64::from(start) << 32;
        self.gens = *g;
        self.mods.clone_from(s.mods);
        self.done = false;
        self.retired = false;

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
        self.audio.step = self.pitch_memo.step(cents);
        let fc = l.filter_fc + mod_lfo * l.mod_lfo_to_fc + mod_env * l.mod_env_to_fc;
        self.audio.filter.set(fc, l.filter_q, sample_rate);

        self.vol.advance(&self.vol_params, n);
        self.modenv.advance(&self.mod_params, n);
        self.mod_lfo.advance(n);
        self.vib_lfo.advance(n);
        // The whole attenuation in centibels, one power of two for it.
        let atten = l.attenuation + mod_lfo * l.mod_lfo_to_volume;
        let mut amp = match self.vol.level() {
            EnvLevel::Silent => 0.0,
            EnvLevel::Linear(a) => a * self.gain_memo.cb_to_gain(atten),
            EnvLevel::Centibels(cb) => self.gain_memo.cb_to_gain(cb + atten),
        };
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
                self.vol_params.sustain + l.attenuation > NOISE_FLOOR_CB
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
        let a = &mut self.audio;
        let pos = a.ramp_pos as f32;
        let (cl, cr) = (a.gain_l + pos * a.dgain_l, a.gain_r + pos * a.dgain_r);
        a.gain_l = cl;
        a.gain_r = cr;
        if frames == CONTROL_FRAMES as u32 {
            // Exactly the division: a power of two's reciprocal is exact.
            const INV: f32 = 1.0 / CONTROL_FRAMES as f32;
            a.dgain_l = (tl - cl) * INV;
            a.dgain_r = (tr - cr) * INV;
        } else {
            a.dgain_l = (tl - cl) / n;
            a.dgain_r = (tr - cr) / n;
        }
        a.ramp_pos = 0;
        a.reverb = self.live.reverb * 0.5;
        a.chorus = self.live.chorus * 0.5;
        self.block_left = frames;
    }

    /// Starts a control block if one is due, `to_grid` frames long;
    /// returns whether the voice still sounds.
    pub(crate) fn prepare_block(&mut self, sample_rate: f32, to_grid: u32) -> bool {
        if self.done {
            return false;
        }
        if self.block_left == 0 {
            // Fully silent and finished: stop instead of starting a block.
            let a = &self.audio;
            let pos = a.ramp_pos as f32;
            let silent = a.gain_l + pos * a.dgain_l == 0.0 && a.gain_r + pos * a.dgain_r == 0.0;
            if (self.vol.stage == Stage::Done && silent) || self.fade == Some(0) {
                self.done = true;
                return false;
            }
            self.control(sample_rate, to_grid.clamp(1, CONTROL_FRAMES as u32));
        }
        true
    }
}
