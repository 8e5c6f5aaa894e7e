//! What an engine holds behind its opaque handle: the core engine, the
//! font it plays and who frees it, the last error's detail, figures.

use crate::types::{AuralisConfig, AuralisParams, AuralisStatus, DEFAULT_CONFIG};
use crate::{AURALIS_MAX_VOICES, BLOCK, ERROR_MAX, VOICES};
use auralis_core::engine::Engine;
use auralis_core::font_file::FontFile;
use auralis_core::metrics::Histogram;
use auralis_core::music::{Mode, MusicalContext};
use auralis_core::SampleRate;
use std::time::Instant;

/// Where the engine's SoundFont lives.
pub(crate) enum Font {
    /// The built-in bank (static).
    Builtin,
    /// Caller memory, valid until the engine is freed or loads another.
    Borrowed,
    /// A copy the library made and frees.
    Owned(*mut [u8]),
    /// A file the library opened (mapped or read) and closes.
    File(*mut FontFile),
}

impl Font {
    /// Frees what the library owns.
    ///
    /// # Safety
    /// No engine may borrow the font any more, and it is freed only once.
    pub(crate) unsafe fn free(self) {
        match self {
            // SAFETY: from `Box::into_raw` in `load_owned`, per the contract.
            Font::Owned(ptr) => drop(unsafe { Box::from_raw(ptr) }),
            // SAFETY: from `Box::into_raw` in `load_file`, per the contract.
            Font::File(ptr) => drop(unsafe { Box::from_raw(ptr) }),
            Font::Builtin | Font::Borrowed => {}
        }
    }
}

/// An engine: opaque to C. Make it with `auralis_engine_new` (heap) or
/// `auralis_engine_init` (caller memory); free it with
/// `auralis_engine_free`.
pub struct AuralisEngine {
    // Declared first, so dropped first: it borrows the font below.
    pub(crate) engine: Engine<'static, auralis_core::synth::Synth<'static, VOICES>>,
    pub(crate) font: HeldFont,
    pub(crate) in_caller_memory: bool,
    /// A call panicked inside this engine: its state may be half-updated,
    /// so every later call refuses (INTERNAL) until it is freed.
    pub(crate) poisoned: bool,
    pub(crate) config: AuralisConfig,
    pub(crate) reverb: Option<(f32, f32, f32)>,
    pub(crate) timing: Histogram,
    pub(crate) chunks: u64,
    pub(crate) error: [u8; ERROR_MAX],
    pub(crate) error_len: usize,
    pub(crate) left: [f32; BLOCK],
    pub(crate) right: [f32; BLOCK],
}

/// The font an engine plays, freed when this is dropped. It is the field
/// after the engine in [`AuralisEngine`], and fields drop in order: the
/// engine that borrows the font is always gone before the font is.
pub(crate) struct HeldFont(Font);

impl Drop for HeldFont {
    fn drop(&mut self) {
        let font = core::mem::replace(&mut self.0, Font::Builtin);
        // SAFETY: freed only here, once; the engine borrowing it was
        // dropped (or re-built on another font) before this runs.
        unsafe { font.free() };
    }
}

pub(crate) struct Detail<'a>(&'a mut [u8; ERROR_MAX], &'a mut usize);

impl core::fmt::Write for Detail<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        // Leave room for the NUL; cut at a character boundary.
        let room = ERROR_MAX - 1 - *self.1;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        if let Some(dst) = self.0.get_mut(*self.1..*self.1 + take) {
            dst.copy_from_slice(&s.as_bytes()[..take]);
            *self.1 += take;
        }
        Ok(())
    }
}

impl AuralisEngine {
    pub(crate) fn fail(
        &mut self,
        status: AuralisStatus,
        args: core::fmt::Arguments<'_>,
    ) -> AuralisStatus {
        self.error_len = 0;
        let _ = core::fmt::write(&mut Detail(&mut self.error, &mut self.error_len), args);
        status
    }

    pub(crate) fn ok(&mut self) -> AuralisStatus {
        self.error_len = 0;
        AuralisStatus::Ok
    }

    /// An engine that has not been initialised: copied into place, then
    /// [`AuralisEngine::init`] builds it there, never on the stack.
    pub(crate) const IDLE: Self = Self {
        engine: Engine::idle(),
        font: HeldFont(Font::Builtin),
        in_caller_memory: false,
        poisoned: false,
        config: DEFAULT_CONFIG,
        reverb: None,
        timing: Histogram::new(),
        chunks: 0,
        error: [0; ERROR_MAX],
        error_len: 0,
        left: [0.0; BLOCK],
        right: [0.0; BLOCK],
    };

    /// Builds the engine in place for `config`, on the built-in bank.
    pub(crate) fn init(
        &mut self,
        config: &AuralisConfig,
        in_caller_memory: bool,
    ) -> Result<(), AuralisStatus> {
        let rate = check_config(config)?;
        self.engine
            .init(
                config.seed,
                rate,
                MusicalContext::DEFAULT,
                auralis_core::bank::DEFAULT_SF2,
            )
            .map_err(|_| AuralisStatus::InvalidArgument)?;
        self.engine.set_polyphony(config.polyphony as usize);
        self.in_caller_memory = in_caller_memory;
        self.config = *config;
        Ok(())
    }

    /// Plays `font` instead: the engine is rebuilt in place and the stream
    /// restarts with the same seed, parameters, polyphony, composing and
    /// reverb. A font that fails its checks leaves everything as it was.
    pub(crate) fn load(&mut self, font: &'static [u8], kind: Font) -> AuralisStatus {
        let c = self.config;
        // What the rebuilt engine keeps from this one.
        let (context, composing) = (self.engine.context(), self.engine.is_composing());
        let rate = self.engine.sample_rate();
        match self
            .engine
            .init(c.seed, rate, MusicalContext::DEFAULT, font)
        {
            Ok(()) => {
                let engine = &mut self.engine;
                engine.set_polyphony(c.polyphony as usize);
                engine.set_context(context);
                engine.set_composing(composing);
                if let Some((room, damp, wet)) = self.reverb {
                    engine.configure_reverb(room, damp, wet);
                }
                // The engine now borrows the new font; the old one goes.
                drop(core::mem::replace(&mut self.font, HeldFont(kind)));
                self.chunks = 0;
                self.ok()
            }
            Err(e) => {
                // SAFETY: the new font was never handed to the engine.
                unsafe { kind.free() };
                self.fail(AuralisStatus::SoundfontInvalid, format_args!("{e}"))
            }
        }
    }

    /// Plays a copy the library owns from now on (freed when replaced or
    /// when the engine is).
    pub(crate) fn load_owned(&mut self, bytes: Box<[u8]>) -> AuralisStatus {
        let ptr = Box::into_raw(bytes);
        // SAFETY: `ptr` is a live allocation that `load` either hands to the
        // engine (and frees when it is replaced or dropped) or frees at once.
        let font: &'static [u8] = unsafe { &*ptr };
        self.load(font, Font::Owned(ptr))
    }

    /// Plays a font file the library opened (mapped or read; closed when
    /// replaced or when the engine is freed).
    pub(crate) fn load_file(&mut self, file: FontFile) -> AuralisStatus {
        let ptr = Box::into_raw(Box::new(file));
        // SAFETY: `ptr` is a live allocation that `load` either hands to the
        // engine (and frees when it is replaced or dropped) or frees at
        // once; the bytes it views live as long as it does.
        let font: &'static [u8] = unsafe { (*ptr).bytes() };
        self.load(font, Font::File(ptr))
    }

    pub(crate) fn timed<R>(&mut self, frames: usize, f: impl FnOnce(&mut Self) -> R) -> R {
        let t = Instant::now();
        let r = f(self);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let per_100ms = f64::from(self.config.sample_rate) / 10.0 / frames.max(1) as f64;
        if frames > 0 {
            self.timing.record(ms * per_100ms);
        }
        r
    }
}

/// The configuration's rate, checked (the one place a rate from C is
/// checked), and its polyphony in range.
pub(crate) fn check_config(c: &AuralisConfig) -> Result<SampleRate, AuralisStatus> {
    let rate = auralis_core::engine::stream_rate(c.sample_rate)
        .map_err(|_| AuralisStatus::InvalidArgument)?;
    if !(1..=AURALIS_MAX_VOICES).contains(&c.polyphony) {
        return Err(AuralisStatus::InvalidArgument);
    }
    Ok(rate)
}

pub(crate) fn context_of(p: &AuralisParams) -> Option<MusicalContext> {
    let mode = *Mode::ALL.get(usize::try_from(p.mode).ok()?)?;
    let key = u8::try_from(p.key).ok()?;
    MusicalContext::new(key, mode, p.bpm, p.intensity).ok()
}

pub(crate) fn params_of(c: &MusicalContext) -> AuralisParams {
    AuralisParams {
        key: u32::from(c.key()),
        mode: Mode::ALL.iter().position(|m| *m == c.mode()).unwrap_or(0) as u32,
        bpm: c.bpm(),
        intensity: c.intensity(),
    }
}
