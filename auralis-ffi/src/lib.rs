#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![allow(clippy::missing_safety_doc)] // every function documents its contract in prose

use core::ffi::{c_char, c_void, CStr};
use core::mem::{align_of, size_of};
use core::panic::AssertUnwindSafe;
use std::panic::catch_unwind;
use std::time::Instant;

use auralis_core::engine::{Engine, MAX_CHUNK_SAMPLES};
use auralis_core::font_file::FontFile;
use auralis_core::metrics::Histogram;
use auralis_core::music::{Mode, MusicalContext, Preset};
use auralis_core::synth::{SoundFontRenderer, SynthError};

/// The library version, NUL-terminated, taken from `Cargo.toml`.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// Major version of the library (checked against `Cargo.toml` by a test).
pub const AURALIS_VERSION_MAJOR: u32 = 0;
/// Minor version of the library.
pub const AURALIS_VERSION_MINOR: u32 = 1;
/// Patch version of the library.
pub const AURALIS_VERSION_PATCH: u32 = 0;
/// Voices this build's engine holds: the most `polyphony` can be.
pub const AURALIS_MAX_VOICES: u32 = 64;
/// Samples (not frames) in the longest chunk: 100 ms of stereo at 48 kHz.
pub const AURALIS_CHUNK_MAX_SAMPLES: u32 = 9600;
const _: () = assert!(AURALIS_CHUNK_MAX_SAMPLES as usize == MAX_CHUNK_SAMPLES);
/// Bytes that always hold an engine's error message, NUL included.
pub const AURALIS_ERROR_MAX: u32 = 256;

const VOICES: usize = AURALIS_MAX_VOICES as usize;
const ERROR_MAX: usize = AURALIS_ERROR_MAX as usize;
/// Frames rendered at a time into the engine's scratch buffers.
const BLOCK: usize = 256;

/// What every fallible function returns. Numbers are never reused.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuralisStatus {
    /// Success.
    Ok = 0,
    /// A required pointer was NULL.
    NullPointer = 1,
    /// A value was out of range (sample rate, key, tempo, channel, …).
    InvalidArgument = 2,
    /// A caller buffer was too small (or a sample count odd).
    BufferTooSmall = 3,
    /// The SoundFont is corrupt or unusable.
    SoundfontInvalid = 4,
    /// A file could not be read.
    Io = 5,
    /// Not available on this engine (for example a heap operation on an
    /// engine in caller memory).
    Unsupported = 6,
    /// Caller memory is not aligned as `auralis_engine_align()` says.
    Misaligned = 7,
    /// An internal error (a bug in Auralis) was caught at the boundary.
    Internal = 8,
}

/// Modes, for `AuralisParams::mode`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuralisMode {
    /// Natural minor (the default).
    Aeolian = 0,
    /// Minor with a raised sixth.
    Dorian = 1,
    /// Major with a raised fourth.
    Lydian = 2,
    /// Minor with a lowered second.
    Phrygian = 3,
    /// Major.
    Ionian = 4,
    /// Major with a lowered seventh.
    Mixolydian = 5,
}

/// Presets, for `auralis_engine_set_preset`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuralisPreset {
    /// Dorian, intensity 0.5, 60 BPM.
    Focus = 0,
    /// Aeolian, intensity 0.3, 50 BPM.
    Meditation = 1,
    /// Phrygian, intensity 0.2, 40 BPM.
    Sleep = 2,
    /// Lydian, intensity 0.6, 70 BPM.
    Bright = 3,
}

/// How to make an engine. Start from `auralis_config_default()`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuralisConfig {
    /// Output rate in Hz: a multiple of 10 from 8000 to 48000 (44100 or
    /// 48000 for 100 ms chunks of 4410 or 4800 frames).
    pub sample_rate: u32,
    /// Most voices at once, 1 to `AURALIS_MAX_VOICES`.
    pub polyphony: u32,
    /// The composition's seed: the same seed gives the same samples.
    pub seed: u64,
}

/// The musical parameters.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AuralisParams {
    /// Root as a MIDI pitch, 60 (C) to 71 (B).
    pub key: u32,
    /// One of `AuralisMode`.
    pub mode: u32,
    /// Tempo, 40 to 90 BPM.
    pub bpm: f32,
    /// Note density, 0 to 1.
    pub intensity: f32,
}

/// What `auralis_engine_next_chunk` rendered.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AuralisChunkInfo {
    /// Sequence number: 0, 1, 2, … with no gaps.
    pub seq: u64,
    /// Frame of the stream at which the chunk starts.
    pub start_frame: u64,
    /// Frames in the chunk (sample rate / 10).
    pub frames: u32,
    /// Always 2.
    pub channels: u32,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// 1 when new parameters sound from this chunk on, else 0.
    pub params_changed: u32,
    /// The parameters of the phrase playing at the chunk's end: the new
    /// ones when `params_changed` is 1.
    pub params: AuralisParams,
}

/// A snapshot of an engine's figures.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AuralisMetrics {
    /// Frames rendered since the engine was made (or its font loaded).
    pub frames: u64,
    /// Chunks taken with `auralis_engine_next_chunk`.
    pub chunks: u64,
    /// Render calls timed (every render and chunk call).
    pub renders: u64,
    /// Voices sounding now.
    pub active_voices: u32,
    /// The polyphony limit.
    pub polyphony: u32,
    /// Mean time per 100 ms of audio rendered, ms.
    pub render_ms_per_100ms_avg: f64,
    /// Median of the same, ms.
    pub render_ms_per_100ms_p50: f64,
    /// 95th percentile, ms.
    pub render_ms_per_100ms_p95: f64,
    /// 99th percentile, ms.
    pub render_ms_per_100ms_p99: f64,
}

/// Where the engine's SoundFont lives.
enum Font {
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
    unsafe fn free(self) {
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
    engine: Engine<'static, VOICES>,
    font: HeldFont,
    in_caller_memory: bool,
    /// A call panicked inside this engine: its state may be half-updated,
    /// so every later call refuses (INTERNAL) until it is freed.
    poisoned: bool,
    config: AuralisConfig,
    reverb: Option<(f32, f32, f32)>,
    timing: Histogram,
    chunks: u64,
    error: [u8; ERROR_MAX],
    error_len: usize,
    left: [f32; BLOCK],
    right: [f32; BLOCK],
}

/// The font an engine plays, freed when this is dropped. It is the field
/// after the engine in [`AuralisEngine`], and fields drop in order: the
/// engine that borrows the font is always gone before the font is.
struct HeldFont(Font);

impl Drop for HeldFont {
    fn drop(&mut self) {
        let font = core::mem::replace(&mut self.0, Font::Builtin);
        // SAFETY: freed only here, once; the engine borrowing it was
        // dropped (or re-built on another font) before this runs.
        unsafe { font.free() };
    }
}

struct Detail<'a>(&'a mut [u8; ERROR_MAX], &'a mut usize);

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
    fn fail(&mut self, status: AuralisStatus, args: core::fmt::Arguments<'_>) -> AuralisStatus {
        self.error_len = 0;
        let _ = core::fmt::write(&mut Detail(&mut self.error, &mut self.error_len), args);
        status
    }

    fn ok(&mut self) -> AuralisStatus {
        self.error_len = 0;
        AuralisStatus::Ok
    }

    /// An engine that has not been initialised: copied into place, then
    /// [`AuralisEngine::init`] builds it there, never on the stack.
    const IDLE: Self = Self {
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
    fn init(
        &mut self,
        config: &AuralisConfig,
        in_caller_memory: bool,
    ) -> Result<(), AuralisStatus> {
        check_config(config)?;
        self.engine
            .init(
                config.seed,
                config.sample_rate,
                MusicalContext::DEFAULT,
                auralis_core::bank::DEFAULT_SF2,
            )
            .map_err(|_| AuralisStatus::InvalidArgument)?;
        self.engine
            .synth_mut()
            .set_polyphony(config.polyphony as usize);
        self.in_caller_memory = in_caller_memory;
        self.config = *config;
        Ok(())
    }

    /// Plays `font` instead: the engine is rebuilt in place and the stream
    /// restarts with the same seed, parameters, polyphony, composing and
    /// reverb. A font that fails its checks leaves everything as it was.
    fn load(&mut self, font: &'static [u8], kind: Font) -> AuralisStatus {
        let c = self.config;
        // What the rebuilt engine keeps from this one.
        let (context, composing) = (self.engine.context(), self.engine.is_composing());
        match self
            .engine
            .init(c.seed, c.sample_rate, MusicalContext::DEFAULT, font)
        {
            Ok(()) => {
                let engine = &mut self.engine;
                engine.synth_mut().set_polyphony(c.polyphony as usize);
                engine.set_context(context);
                engine.set_composing(composing);
                if let Some((room, damp, wet)) = self.reverb {
                    engine.synth_mut().configure_reverb(room, damp, wet);
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
    fn load_owned(&mut self, bytes: Box<[u8]>) -> AuralisStatus {
        let ptr = Box::into_raw(bytes);
        // SAFETY: `ptr` is a live allocation that `load` either hands to the
        // engine (and frees when it is replaced or dropped) or frees at once.
        let font: &'static [u8] = unsafe { &*ptr };
        self.load(font, Font::Owned(ptr))
    }

    /// Plays a font file the library opened (mapped or read; closed when
    /// replaced or when the engine is freed).
    fn load_file(&mut self, file: FontFile) -> AuralisStatus {
        let ptr = Box::into_raw(Box::new(file));
        // SAFETY: `ptr` is a live allocation that `load` either hands to the
        // engine (and frees when it is replaced or dropped) or frees at
        // once; the bytes it views live as long as it does.
        let font: &'static [u8] = unsafe { (*ptr).bytes() };
        self.load(font, Font::File(ptr))
    }

    fn timed<R>(&mut self, frames: usize, f: impl FnOnce(&mut Self) -> R) -> R {
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

fn check_config(c: &AuralisConfig) -> Result<(), AuralisStatus> {
    let rate_ok = c.sample_rate % 10 == 0 && (8_000..=48_000).contains(&c.sample_rate);
    let voices_ok = (1..=AURALIS_MAX_VOICES).contains(&c.polyphony);
    if rate_ok && voices_ok {
        Ok(())
    } else {
        Err(AuralisStatus::InvalidArgument)
    }
}

/// Runs an exported body: a panic becomes `AURALIS_STATUS_INTERNAL`.
fn guard(body: impl FnOnce() -> AuralisStatus) -> AuralisStatus {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(AuralisStatus::Internal)
}

/// Runs `body` on the engine behind `engine` (NULL: NULL_POINTER). A
/// panic inside it becomes INTERNAL and poisons the engine: from then on
/// every call on it returns INTERNAL, so nothing ever runs on state a
/// panic left half-updated.
fn with_engine(
    engine: *mut AuralisEngine,
    body: impl FnOnce(&mut AuralisEngine) -> AuralisStatus,
) -> AuralisStatus {
    if engine.is_null() {
        return AuralisStatus::NullPointer;
    }
    let status = guard(|| {
        // SAFETY: the caller passes a live engine from
        // auralis_engine_new/_init that no other thread is using.
        let e = unsafe { &mut *engine };
        if e.poisoned {
            return e.fail(
                AuralisStatus::Internal,
                format_args!(
                    "an earlier call panicked inside this engine: free it and make another"
                ),
            );
        }
        body(e)
    });
    if status == AuralisStatus::Internal {
        // SAFETY: as above; the borrow inside `guard` has ended (the body
        // returned or unwound).
        unsafe { (*engine).poisoned = true };
    }
    status
}

/// Runs `body` on the engine behind `engine` without changing it: for the
/// functions that take `const AuralisEngine *` (any number of them may
/// run at once on one engine, but never beside a call that changes it).
fn with_engine_ref(
    engine: *const AuralisEngine,
    body: impl FnOnce(&AuralisEngine) -> AuralisStatus,
) -> AuralisStatus {
    guard(|| {
        // SAFETY: the caller passes NULL or a live engine, and no call that
        // changes it runs meanwhile; only shared references are made.
        match unsafe { engine.as_ref() } {
            Some(e) if e.poisoned => AuralisStatus::Internal,
            Some(e) => body(e),
            None => AuralisStatus::NullPointer,
        }
    })
}

fn context_of(p: &AuralisParams) -> Option<MusicalContext> {
    let mode = *Mode::ALL.get(usize::try_from(p.mode).ok()?)?;
    let key = u8::try_from(p.key).ok()?;
    MusicalContext::new(key, mode, p.bpm, p.intensity).ok()
}

fn params_of(c: &MusicalContext) -> AuralisParams {
    AuralisParams {
        key: u32::from(c.key()),
        mode: Mode::ALL.iter().position(|m| *m == c.mode()).unwrap_or(0) as u32,
        bpm: c.bpm(),
        intensity: c.intensity(),
    }
}

/// Returns the library version as a static, NUL-terminated string such as
/// `"0.1.0"`.
///
/// Ownership: the string is static; never free it.
/// Thread safety: any thread, any time. Real-time safe.
#[no_mangle]
pub extern "C" fn auralis_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

/// A static, NUL-terminated description of a status, such as
/// `"ok"`; unknown numbers give `"unknown status"`.
///
/// Ownership: static; never free it.
/// Thread safety: any thread. Real-time safe.
#[no_mangle]
pub extern "C" fn auralis_status_str(status: i32) -> *const c_char {
    let s: &'static CStr = match status {
        0 => c"ok",
        1 => c"a required pointer was NULL",
        2 => c"a value is out of range",
        3 => c"a buffer is too small",
        4 => c"the SoundFont is corrupt or unusable",
        5 => c"a file could not be read",
        6 => c"not supported by this engine",
        7 => c"memory is not aligned for an engine",
        8 => c"internal error (a bug in Auralis)",
        _ => c"unknown status",
    };
    s.as_ptr()
}

const DEFAULT_CONFIG: AuralisConfig = AuralisConfig {
    sample_rate: 44_100,
    polyphony: AURALIS_MAX_VOICES,
    seed: 0,
};

/// The default configuration: 44100 Hz, `AURALIS_MAX_VOICES` voices,
/// seed 0.
///
/// Thread safety: any thread. Real-time safe.
#[no_mangle]
pub extern "C" fn auralis_config_default() -> AuralisConfig {
    DEFAULT_CONFIG
}

/// Makes an engine on the heap playing the built-in bank, and stores it in
/// `*out` (written only on success).
///
/// Ownership: the caller owns the engine and frees it with
/// `auralis_engine_free`. `config` is only read during the call.
/// Thread safety: any thread. Not real-time safe (allocates the engine,
/// `auralis_engine_size()` bytes, and builds it in place).
/// Errors: NULL_POINTER, INVALID_ARGUMENT (sample rate, polyphony).
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_new(
    config: *const AuralisConfig,
    out: *mut *mut AuralisEngine,
) -> AuralisStatus {
    guard(|| {
        // SAFETY: NULL or a readable AuralisConfig, per the contract.
        let Some(config) = (unsafe { config.as_ref() }) else {
            return AuralisStatus::NullPointer;
        };
        if out.is_null() {
            return AuralisStatus::NullPointer;
        }
        if let Err(s) = check_config(config) {
            return s;
        }
        let mut slot = Box::<AuralisEngine>::new_uninit();
        // SAFETY: the box is ours and sized for an engine: an idle engine
        // is copied in (from the constant, not through the stack), after
        // which the box holds a valid value.
        let mut engine = unsafe {
            slot.as_mut_ptr().write(AuralisEngine::IDLE);
            slot.assume_init()
        };
        match engine.init(config, false) {
            Ok(()) => {
                // SAFETY: `out` is non-NULL and writable, per the contract.
                unsafe { out.write(Box::into_raw(engine)) };
                AuralisStatus::Ok
            }
            Err(s) => s,
        }
    })
}

/// Bytes an engine needs in caller memory (for `auralis_engine_init`).
///
/// Thread safety: any thread. Real-time safe.
#[no_mangle]
pub extern "C" fn auralis_engine_size() -> usize {
    size_of::<AuralisEngine>()
}

/// Alignment an engine needs in caller memory.
///
/// Thread safety: any thread. Real-time safe.
#[no_mangle]
pub extern "C" fn auralis_engine_align() -> usize {
    align_of::<AuralisEngine>()
}

/// Makes an engine inside caller memory — `len` bytes at `memory`, at
/// least `auralis_engine_size()` bytes aligned to `auralis_engine_align()` —
/// and stores its handle in `*out` (written only on success). Nothing this
/// engine does afterwards allocates: it plays the built-in bank or a
/// borrowed SoundFont (copying and file loading say UNSUPPORTED).
///
/// Ownership: the memory stays the caller's; it must outlive the engine
/// and not be touched until `auralis_engine_free(engine)` (which releases
/// nothing but the engine's own state); then it may be reused.
/// Thread safety: any thread. Allocation-free; the engine is built in
/// place, never on the stack (128 KB of stack is plenty, tested).
/// Errors: NULL_POINTER, BUFFER_TOO_SMALL, MISALIGNED, INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_init(
    memory: *mut c_void,
    len: usize,
    config: *const AuralisConfig,
    out: *mut *mut AuralisEngine,
) -> AuralisStatus {
    guard(|| {
        // SAFETY: NULL or a readable AuralisConfig, per the contract.
        let Some(config) = (unsafe { config.as_ref() }) else {
            return AuralisStatus::NullPointer;
        };
        if memory.is_null() || out.is_null() {
            return AuralisStatus::NullPointer;
        }
        if len < size_of::<AuralisEngine>() {
            return AuralisStatus::BufferTooSmall;
        }
        if (memory as usize) % align_of::<AuralisEngine>() != 0 {
            return AuralisStatus::Misaligned;
        }
        if let Err(s) = check_config(config) {
            return s;
        }
        let slot = memory.cast::<AuralisEngine>();
        // SAFETY: `memory` is non-NULL, large and aligned enough (checked
        // above) and the caller's to use, per the contract: an idle engine
        // is copied in, then built in place.
        let engine = unsafe {
            slot.write(AuralisEngine::IDLE);
            &mut *slot
        };
        match engine.init(config, true) {
            Ok(()) => {
                // SAFETY: `out` is non-NULL and writable.
                unsafe { out.write(slot) };
                AuralisStatus::Ok
            }
            Err(s) => {
                // SAFETY: the idle engine written above, dropped once; the
                // memory is the caller's again.
                unsafe { core::ptr::drop_in_place(slot) };
                s
            }
        }
    })
}

/// Frees an engine from `auralis_engine_new`, or ends one made by
/// `auralis_engine_init` (its memory is the caller's again). NULL is
/// fine. The handle is invalid afterwards.
///
/// Thread safety: the thread that owns the engine. Not real-time safe
/// (frees memory).
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_free(engine: *mut AuralisEngine) {
    if engine.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: a live engine from _new or _init, per the contract, not
        // used again after this call.
        unsafe {
            if (*engine).in_caller_memory {
                core::ptr::drop_in_place(engine);
            } else {
                drop(Box::from_raw(engine));
            }
        }
    }));
}

/// Copies the detail of the engine's last error (empty after a success) as
/// a NUL-terminated string into `buf` (`len` bytes; `AURALIS_ERROR_MAX`
/// always suffices) and its length without the NUL into `*written`.
///
/// Ownership: `buf` stays the caller's. `written` may be NULL.
/// Thread safety: read-only: any number of `const` calls may run on one
/// engine at once, from any threads, but never beside a call that changes
/// it. Real-time safe.
/// Errors: NULL_POINTER, BUFFER_TOO_SMALL (nothing written).
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_error(
    engine: *const AuralisEngine,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> AuralisStatus {
    with_engine_ref(engine, |e| {
        if buf.is_null() {
            return AuralisStatus::NullPointer;
        }
        let n = e.error_len;
        if len < n + 1 {
            return AuralisStatus::BufferTooSmall;
        }
        // SAFETY: `buf` holds `len` ≥ n + 1 writable bytes, per the
        // contract; the source is the engine's own array.
        unsafe {
            core::ptr::copy_nonoverlapping(e.error.as_ptr(), buf.cast::<u8>(), n);
            buf.add(n).write(0);
            if !written.is_null() {
                written.write(n);
            }
        }
        AuralisStatus::Ok
    })
}

/// Plays the SoundFont at `path`, checked now. A file only root can
/// change (as packaged fonts are) is mapped, so only the samples played
/// become resident; any other file is read into memory the library owns
/// (see `auralis_core::font_file`). Not a regular file, or over 2 GiB:
/// IO. The stream restarts from its beginning with the same seed,
/// parameters, polyphony and reverb.
///
/// Ownership: `path` is only read during the call.
/// Thread safety: the engine's thread. Not real-time safe (reads a file,
/// allocates).
/// Errors: NULL_POINTER, INVALID_ARGUMENT (path not UTF-8), IO,
/// SOUNDFONT_INVALID (the engine keeps its font), UNSUPPORTED (engine in
/// caller memory).
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_load_soundfont_file(
    engine: *mut AuralisEngine,
    path: *const c_char,
) -> AuralisStatus {
    with_engine(engine, |e| {
        if path.is_null() {
            return AuralisStatus::NullPointer;
        }
        if e.in_caller_memory {
            return e.fail(
                AuralisStatus::Unsupported,
                format_args!("an engine in caller memory never allocates: load the file yourself and use auralis_engine_load_soundfont_borrowed"),
            );
        }
        // SAFETY: a NUL-terminated string, per the contract.
        let Ok(path) = unsafe { CStr::from_ptr(path) }.to_str() else {
            return e.fail(
                AuralisStatus::InvalidArgument,
                format_args!("the path is not UTF-8"),
            );
        };
        match FontFile::open(path) {
            Ok(file) => e.load_file(file),
            Err(err) => e.fail(AuralisStatus::Io, format_args!("{err}")),
        }
    })
}

/// Plays the SoundFont in `data[0..len]`, copied: the caller may free its
/// bytes as soon as this returns. The stream restarts as with
/// `auralis_engine_load_soundfont_file`.
///
/// Thread safety: the engine's thread. Not real-time safe (allocates).
/// Errors: NULL_POINTER, SOUNDFONT_INVALID, UNSUPPORTED (engine in caller
/// memory: use the borrowed form).
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_load_soundfont_copy(
    engine: *mut AuralisEngine,
    data: *const u8,
    len: usize,
) -> AuralisStatus {
    with_engine(engine, |e| {
        if data.is_null() {
            return AuralisStatus::NullPointer;
        }
        if e.in_caller_memory {
            return e.fail(
                AuralisStatus::Unsupported,
                format_args!("an engine in caller memory never allocates: use auralis_engine_load_soundfont_borrowed"),
            );
        }
        // SAFETY: `len` readable bytes at `data`, per the contract.
        let bytes = unsafe { core::slice::from_raw_parts(data, len) };
        e.load_owned(bytes.into())
    })
}

/// Plays the SoundFont in `data[0..len]` without copying it: the bytes
/// must stay valid and unchanged until the engine is freed or loads
/// another font. The stream restarts as with the file form.
///
/// Thread safety: the engine's thread. Allocation-free (checks the whole
/// file once: not for the audio thread).
/// Errors: NULL_POINTER, SOUNDFONT_INVALID (the engine keeps its font).
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_load_soundfont_borrowed(
    engine: *mut AuralisEngine,
    data: *const u8,
    len: usize,
) -> AuralisStatus {
    with_engine(engine, |e| {
        if data.is_null() {
            return AuralisStatus::NullPointer;
        }
        // SAFETY: `len` readable bytes that the caller keeps valid and
        // unchanged for as long as the engine uses them, per the contract.
        let font: &'static [u8] = unsafe { core::slice::from_raw_parts(data, len) };
        e.load(font, Font::Borrowed)
    })
}

/// Asks for new parameters; they take effect at the next beat (within
/// 1.5 s at 40 BPM), and `auralis_engine_next_chunk` reports the chunk.
/// Changes before then replace each other.
///
/// Thread safety: the engine's thread. Real-time safe.
/// Errors: NULL_POINTER, INVALID_ARGUMENT (nothing changes).
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_set_params(
    engine: *mut AuralisEngine,
    params: *const AuralisParams,
) -> AuralisStatus {
    with_engine(engine, |e| {
        // SAFETY: NULL or a readable AuralisParams, per the contract.
        let Some(p) = (unsafe { params.as_ref() }) else {
            return AuralisStatus::NullPointer;
        };
        match context_of(p) {
            Some(ctx) => {
                e.engine.set_context(ctx);
                e.ok()
            }
            None => e.fail(
                AuralisStatus::InvalidArgument,
                format_args!(
                    "params out of range: key {} (60-71), mode {} (0-5), bpm {} (40-90), intensity {} (0-1)",
                    p.key, p.mode, p.bpm, p.intensity
                ),
            ),
        }
    })
}

/// Stores the parameters last asked for (sounding now or soon) in `*out`.
///
/// Thread safety: read-only: any number of `const` calls may run on one
/// engine at once, from any threads, but never beside a call that changes
/// it. Real-time safe.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_get_params(
    engine: *const AuralisEngine,
    out: *mut AuralisParams,
) -> AuralisStatus {
    with_engine_ref(engine, |e| {
        if out.is_null() {
            return AuralisStatus::NullPointer;
        }
        // SAFETY: non-NULL and writable, per the contract.
        unsafe { out.write(params_of(&e.engine.context())) };
        AuralisStatus::Ok
    })
}

/// Asks for a preset (one of `AuralisPreset`): its mode, tempo and
/// intensity; the key stays. Takes effect as `auralis_engine_set_params`.
///
/// Thread safety: the engine's thread. Real-time safe.
/// Errors: NULL_POINTER, INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_set_preset(
    engine: *mut AuralisEngine,
    preset: i32,
) -> AuralisStatus {
    with_engine(engine, |e| {
        let Some(p) = usize::try_from(preset)
            .ok()
            .and_then(|i| Preset::ALL.get(i).copied())
        else {
            return e.fail(
                AuralisStatus::InvalidArgument,
                format_args!("preset {preset} is not 0-3"),
            );
        };
        let ctx = e.engine.context().with_preset(p);
        e.engine.set_context(ctx);
        e.ok()
    })
}

/// Renders the next `len / 2` frames of the stream as interleaved stereo
/// floats in [-1, 1] into `out` (`len` floats; any even count, 0 is fine).
/// Rendering in pieces of any size gives the same samples as one call.
///
/// Thread safety: the engine's thread. Real-time safe: no allocation, no
/// lock, O(len × voices).
/// Errors: NULL_POINTER, BUFFER_TOO_SMALL (odd `len`).
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_render_f32(
    engine: *mut AuralisEngine,
    out: *mut f32,
    len: usize,
) -> AuralisStatus {
    // SAFETY: passed on: `len` writable floats at `out`, per the contract.
    unsafe { render_interleaved(engine, out, len, |x| x) }
}

/// As `auralis_engine_render_f32`, as signed 16-bit samples (scaled by
/// 32767, rounded, clamped: the same conversion as the chunks).
///
/// Thread safety: the engine's thread. Real-time safe.
/// Errors: NULL_POINTER, BUFFER_TOO_SMALL (odd `len`).
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_render_i16(
    engine: *mut AuralisEngine,
    out: *mut i16,
    len: usize,
) -> AuralisStatus {
    // SAFETY: passed on: `len` writable samples at `out`, per the contract.
    unsafe { render_interleaved(engine, out, len, auralis_core::engine::to_pcm) }
}

/// Renders `len / 2` frames into `out` as interleaved pairs, each sample
/// converted by `sample`: the body of both render functions.
///
/// # Safety
/// `engine` is NULL or a live engine; `out` is NULL or points to `len`
/// writable `T`s.
unsafe fn render_interleaved<T: Copy>(
    engine: *mut AuralisEngine,
    out: *mut T,
    len: usize,
    sample: fn(f32) -> T,
) -> AuralisStatus {
    with_engine(engine, |e| {
        if out.is_null() {
            return AuralisStatus::NullPointer;
        }
        if len % 2 != 0 {
            return e.fail(
                AuralisStatus::BufferTooSmall,
                format_args!("{len} samples is not whole stereo frames"),
            );
        }
        // SAFETY: `len` writable samples at `out`, per the contract.
        let out = unsafe { core::slice::from_raw_parts_mut(out, len) };
        e.timed(len / 2, |e| {
            for block in out.chunks_mut(2 * BLOCK) {
                let n = block.len() / 2;
                let (l, r) = (&mut e.left[..n], &mut e.right[..n]);
                e.engine.render(l, r);
                for ((pair, a), b) in block.chunks_exact_mut(2).zip(l.iter()).zip(r.iter()) {
                    pair[0] = sample(*a);
                    pair[1] = sample(*b);
                }
            }
        });
        e.ok()
    })
}

/// Renders the next 100 ms chunk as interleaved 16-bit PCM into `out`
/// (`len` samples, at least 2 × sample rate / 10) and describes it in
/// `*info` (may be NULL). Same samples as the Rust `Engine::next_chunk`.
///
/// Thread safety: the engine's thread. Real-time safe.
/// Errors: NULL_POINTER, BUFFER_TOO_SMALL (nothing rendered).
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_next_chunk(
    engine: *mut AuralisEngine,
    out: *mut i16,
    len: usize,
    info: *mut AuralisChunkInfo,
) -> AuralisStatus {
    with_engine(engine, |e| {
        if out.is_null() {
            return AuralisStatus::NullPointer;
        }
        let need = 2 * (e.config.sample_rate as usize / 10);
        if len < need {
            return e.fail(
                AuralisStatus::BufferTooSmall,
                format_args!("a chunk is {need} samples; the buffer holds {len}"),
            );
        }
        let start_frame = e.engine.frame();
        // SAFETY: `len` ≥ need writable samples at `out`, per the contract.
        let pcm = unsafe { core::slice::from_raw_parts_mut(out, need) };
        // Straight into the caller's buffer: no chunk of the library's own.
        let Some(chunk_info) = e.timed(need / 2, |e| e.engine.next_chunk_into(pcm)) else {
            return e.fail(
                AuralisStatus::BufferTooSmall,
                format_args!("a chunk is {need} samples; the buffer holds {len}"),
            );
        };
        e.chunks += 1;
        // SAFETY: `info` is NULL or writable, per the contract.
        if let Some(info) = unsafe { info.as_mut() } {
            *info = AuralisChunkInfo {
                seq: chunk_info.seq,
                start_frame,
                frames: (need / 2) as u32,
                channels: 2,
                sample_rate: e.config.sample_rate,
                params_changed: u32::from(chunk_info.params.is_some()),
                params: params_of(&chunk_info.params.unwrap_or(e.engine.phrase().context)),
            };
        }
        e.ok()
    })
}

/// Turns the composer off (1 → 0: the host plays its own notes with
/// `auralis_engine_note_on` and friends; the composer's notes are
/// released) or on again (0 → 1: a new phrase starts at once).
///
/// Thread safety: the engine's thread. Real-time safe.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_set_composing(
    engine: *mut AuralisEngine,
    on: bool,
) -> AuralisStatus {
    with_engine(engine, |e| {
        e.engine.set_composing(on);
        e.ok()
    })
}

fn synth_status(e: &mut AuralisEngine, r: Result<(), SynthError>) -> AuralisStatus {
    match r {
        Ok(()) => e.ok(),
        Err(err) => e.fail(AuralisStatus::InvalidArgument, format_args!("{err}")),
    }
}

fn midi_ok(e: &mut AuralisEngine, channel: u8, data: &[u8]) -> Result<(), AuralisStatus> {
    if channel > 15 || data.iter().any(|d| *d > 127) {
        return Err(e.fail(
            AuralisStatus::InvalidArgument,
            format_args!("channel {channel} must be 0-15 and data {data:?} 0-127"),
        ));
    }
    Ok(())
}

/// Starts a note now (channel 0–15, key and velocity 0–127). Channels 0
/// (keys, program 0) and 1 (pad) are the composer's too; while it plays,
/// use others or turn it off (`auralis_engine_set_composing`).
///
/// Thread safety: the engine's thread. Real-time safe.
/// Errors: NULL_POINTER, INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_note_on(
    engine: *mut AuralisEngine,
    channel: u8,
    key: u8,
    velocity: u8,
) -> AuralisStatus {
    with_engine(engine, |e| {
        if let Err(s) = midi_ok(e, channel, &[key, velocity]) {
            return s;
        }
        let r = e.engine.synth_mut().note_on(channel, key, velocity);
        synth_status(e, r)
    })
}

/// Releases a note now.
///
/// Thread safety: the engine's thread. Real-time safe.
/// Errors: NULL_POINTER, INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_note_off(
    engine: *mut AuralisEngine,
    channel: u8,
    key: u8,
) -> AuralisStatus {
    with_engine(engine, |e| {
        if let Err(s) = midi_ok(e, channel, &[key]) {
            return s;
        }
        let r = e.engine.synth_mut().note_off(channel, key);
        synth_status(e, r)
    })
}

/// Sends a MIDI control change now (controller and value 0–127).
///
/// Thread safety: the engine's thread. Real-time safe.
/// Errors: NULL_POINTER, INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_control_change(
    engine: *mut AuralisEngine,
    channel: u8,
    controller: u8,
    value: u8,
) -> AuralisStatus {
    with_engine(engine, |e| {
        if let Err(s) = midi_ok(e, channel, &[controller, value]) {
            return s;
        }
        let r = e
            .engine
            .synth_mut()
            .control_change(channel, controller, value);
        synth_status(e, r)
    })
}

/// Selects a program (0–127) of the SoundFont on a channel now.
///
/// Thread safety: the engine's thread. Real-time safe.
/// Errors: NULL_POINTER, INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_program_change(
    engine: *mut AuralisEngine,
    channel: u8,
    program: u8,
) -> AuralisStatus {
    with_engine(engine, |e| {
        if let Err(s) = midi_ok(e, channel, &[program]) {
            return s;
        }
        let r = e.engine.synth_mut().program_change(channel, program);
        synth_status(e, r)
    })
}

/// Sets the reverb: room size, damping and wet level, each 0–1 (0 wet
/// turns it off). The default is 0.82, 0.45, 0.35.
///
/// Thread safety: the engine's thread. Real-time safe.
/// Errors: NULL_POINTER, INVALID_ARGUMENT (a value outside 0–1 or NaN).
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_set_reverb(
    engine: *mut AuralisEngine,
    room_size: f32,
    damping: f32,
    wet: f32,
) -> AuralisStatus {
    with_engine(engine, |e| {
        if ![room_size, damping, wet]
            .iter()
            .all(|v| (0.0..=1.0).contains(v))
        {
            return e.fail(
                AuralisStatus::InvalidArgument,
                format_args!("reverb values must be 0-1: {room_size}, {damping}, {wet}"),
            );
        }
        e.reverb = Some((room_size, damping, wet));
        e.engine
            .synth_mut()
            .configure_reverb(room_size, damping, wet);
        e.ok()
    })
}

/// Stores a snapshot of the engine's figures in `*out`.
///
/// Thread safety: read-only: any number of `const` calls may run on one
/// engine at once, from any threads, but never beside a call that changes
/// it. Real-time safe.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_metrics(
    engine: *const AuralisEngine,
    out: *mut AuralisMetrics,
) -> AuralisStatus {
    with_engine_ref(engine, |e| {
        if out.is_null() {
            return AuralisStatus::NullPointer;
        }
        let t = &e.timing;
        let m = AuralisMetrics {
            frames: e.engine.frame(),
            chunks: e.chunks,
            renders: t.count(),
            active_voices: e.engine.active_voices() as u32,
            polyphony: e.engine.polyphony() as u32,
            render_ms_per_100ms_avg: t.average(),
            render_ms_per_100ms_p50: t.quantile(0.5),
            render_ms_per_100ms_p95: t.quantile(0.95),
            render_ms_per_100ms_p99: t.quantile(0.99),
        };
        // SAFETY: non-NULL and writable, per the contract.
        unsafe { out.write(m) };
        AuralisStatus::Ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_matches_the_crate() {
        // SAFETY: auralis_version returns a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(auralis_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        assert_eq!(
            AURALIS_VERSION_MAJOR.to_string(),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            AURALIS_VERSION_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            AURALIS_VERSION_PATCH.to_string(),
            env!("CARGO_PKG_VERSION_PATCH")
        );
    }

    #[test]
    fn c_enums_follow_the_core_order() {
        let modes = [
            (AuralisMode::Aeolian, "aeolian"),
            (AuralisMode::Dorian, "dorian"),
            (AuralisMode::Lydian, "lydian"),
            (AuralisMode::Phrygian, "phrygian"),
            (AuralisMode::Ionian, "ionian"),
            (AuralisMode::Mixolydian, "mixolydian"),
        ];
        for (m, name) in modes {
            assert_eq!(Mode::ALL[m as usize].name(), name);
        }
        let presets = [
            (AuralisPreset::Focus, "focus"),
            (AuralisPreset::Meditation, "meditation"),
            (AuralisPreset::Sleep, "sleep"),
            (AuralisPreset::Bright, "bright"),
        ];
        for (p, name) in presets {
            assert_eq!(Preset::ALL[p as usize].name(), name);
        }
    }

    #[test]
    fn every_status_has_its_own_description() {
        let mut seen = std::collections::HashSet::new();
        for s in 0..=8 {
            // SAFETY: static NUL-terminated strings.
            let text = unsafe { CStr::from_ptr(auralis_status_str(s)) }
                .to_str()
                .unwrap();
            assert!(seen.insert(text), "{s}: {text}");
        }
        // SAFETY: as above.
        let unknown = unsafe { CStr::from_ptr(auralis_status_str(99)) };
        assert_eq!(unknown.to_str().unwrap(), "unknown status");
    }
}
