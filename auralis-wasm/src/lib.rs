//! The Auralis engine in WebAssembly: the same `no_std` core as the
//! server, the C library and the firmware, with plain exports for an
//! AudioWorklet (`WebAssembly.instantiate`, no bindings generator).
//!
//! One engine lives in the module's memory. The caller:
//!
//! 1. optionally reserves memory for its own SoundFont with
//!    [`auralis_font_reserve`] and copies the file there (else the built-in
//!    bank, the ambient presets, plays);
//! 2. starts the engine with [`auralis_init`] (0 is success; a negative
//!    number is an error, see [`Status`]);
//! 3. renders with [`auralis_render`] (any number of frames up to
//!    [`MAX_FRAMES`], read from [`auralis_left`] and [`auralis_right`] as
//!    `Float32Array`s) or [`auralis_next_chunk`] (100 ms of interleaved
//!    16-bit stereo at [`auralis_pcm`], exactly what the server streams);
//! 4. changes the music with [`auralis_set_params`] or
//!    [`auralis_set_preset`] (heard from the next beat), and reads what is
//!    playing with [`auralis_now_playing`].
//!
//! With the `midi` feature (for benchmarks: it costs 13 KB, and the page
//! does not need it) there is a plain synthesizer beside the engine:
//! [`auralis_synth_init`] (a font as above, 256 voices, the settings of
//! `auralis-host render --midi`), [`auralis_synth_event`] with a
//! message's bytes, and [`auralis_synth_render`] into the same buffers;
//! the caller times the events (renders up to each one, then applies it).
//!
//! Every sample is the native engine's, bit for bit, for the same seed,
//! rate, settings and font: WebAssembly runs the core's portable lanes,
//! which compute what SSE2 and AVX2 compute (`tests/tests/wasm.rs`).
//!
//! WebAssembly here is single-threaded (an AudioWorklet's module is its
//! own instance), so the engine and its buffers are `static mut`s touched
//! only by the exports, one call at a time.
#![no_std]
#![deny(missing_docs)]

use core::fmt::Write as _;
use core::mem::MaybeUninit;
use core::ptr::{addr_of, addr_of_mut};

use auralis_core::engine::{Engine, EngineError};
use auralis_core::synth::SynthError;
#[cfg(feature = "midi")]
use auralis_core::synth::{MidiEvent, SoundFontRenderer, Synth};
use auralis_core::{Mode, Preset};
use auralis_core::{MusicalContext, SampleRate};

/// The most frames one [`auralis_render`] call renders (an AudioWorklet
/// asks for 128 at a time).
pub const MAX_FRAMES: usize = 4_096;
/// Interleaved samples of the largest chunk (100 ms at 48 kHz, stereo).
const MAX_CHUNK_SAMPLES: usize = 9_600;
/// Bytes of the now-playing text.
const TEXT_BYTES: usize = 256;
/// Bytes in a WebAssembly page.
const PAGE: usize = 65_536;

/// What an export returns: 0 or a positive count for success, a negative
/// number for an error.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Done.
    Ok = 0,
    /// A number out of its range (rate, key, mode, tempo, intensity,
    /// preset).
    InvalidArgument = -1,
    /// The SoundFont is not one the engine can play.
    BadFont = -2,
    /// No engine yet: call [`auralis_init`] first.
    NotStarted = -3,
    /// The module could not grow its memory for a font.
    OutOfMemory = -4,
}

// SAFETY (for every `static mut` below): WebAssembly without threads runs
// one export at a time, and only the exports touch these statics, each
// through one reference made at its start and dropped at its end.
// The engine is written in place by the first `auralis_init`: as a
// `MaybeUninit` it is zeroed memory, not 240 KB of initial values in the
// module's data section.
static mut ENGINE: MaybeUninit<Engine<'static>> = MaybeUninit::uninit();
/// Whether ENGINE holds an engine (idle or started).
static mut WRITTEN: bool = false;
static mut STARTED: bool = false;
#[cfg(feature = "midi")]
/// Voices of the MIDI-file synthesizer (FluidSynth's default polyphony).
const MIDI_VOICES: usize = 256;
#[cfg(feature = "midi")]
static mut SYNTH: MaybeUninit<Synth<'static, MIDI_VOICES>> = MaybeUninit::uninit();
#[cfg(feature = "midi")]
/// Whether SYNTH holds a synthesizer, and whether it has a font.
static mut SYNTH_WRITTEN: bool = false;
#[cfg(feature = "midi")]
static mut SYNTH_READY: bool = false;
static mut LEFT: [f32; MAX_FRAMES] = [0.0; MAX_FRAMES];
static mut RIGHT: [f32; MAX_FRAMES] = [0.0; MAX_FRAMES];
static mut PCM: [i16; MAX_CHUNK_SAMPLES] = [0; MAX_CHUNK_SAMPLES];
static mut TEXT: [u8; TEXT_BYTES] = [0; TEXT_BYTES];

/// What `slot` holds, written by `make` the first time (`written` says
/// whether it was).
///
/// # Safety
/// `written` is true only if `slot` was written (by this function).
unsafe fn written_once<'a, T>(
    slot: &'a mut MaybeUninit<T>,
    written: &mut bool,
    make: fn() -> T,
) -> &'a mut T {
    if !*written {
        slot.write(make());
        *written = true;
    }
    // SAFETY: written just now or before, as `written` says.
    unsafe { slot.assume_init_mut() }
}

/// The engine, once started.
fn engine() -> Option<&'static mut Engine<'static>> {
    // SAFETY: see the statics; one export at a time holds this reference.
    unsafe {
        if *addr_of!(STARTED) {
            // Written: STARTED is only set after it is.
            Some((*addr_of_mut!(ENGINE)).assume_init_mut())
        } else {
            None
        }
    }
}

#[cfg(feature = "midi")]
/// The MIDI-file synthesizer, once it has a font.
fn synth() -> Option<&'static mut Synth<'static, MIDI_VOICES>> {
    // SAFETY: see the statics; one export at a time holds this reference.
    unsafe {
        if *addr_of!(SYNTH_READY) {
            // Written: SYNTH_READY is only set after it is.
            Some((*addr_of_mut!(SYNTH)).assume_init_mut())
        } else {
            None
        }
    }
}

/// The font at `font` (`font_len` bytes), or the built-in bank for 0.
///
/// # Safety
/// As [`auralis_init`]'s `font`.
unsafe fn font_bytes(font: u32, font_len: u32) -> &'static [u8] {
    if font == 0 {
        auralis_core::bank::DEFAULT_SF2
    } else {
        // SAFETY: the caller's promise: `font_len` bytes at `font`, for
        // the module's life.
        unsafe { core::slice::from_raw_parts(font as usize as *const u8, font_len as usize) }
    }
}

#[cfg(feature = "midi")]
/// Starts (or restarts) the MIDI-file synthesizer at `rate` Hz with a
/// font (as [`auralis_init`]'s), as `auralis-host render --midi` plays:
/// 256 voices, cubic interpolation, the default reverb, chorus 0.3, gain
/// 0.5. Returns 0, or an error.
///
/// # Safety
/// As [`auralis_init`]'s `font`.
#[no_mangle]
pub unsafe extern "C" fn auralis_synth_init(rate: u32, font: u32, font_len: u32) -> i32 {
    let Ok(rate) = SampleRate::new(rate) else {
        return Status::InvalidArgument as i32;
    };
    // SAFETY: the caller's promise.
    let bytes = unsafe { font_bytes(font, font_len) };
    // SAFETY: see the statics; the synthesizer is written before it is
    // used.
    let (synth, ready) = unsafe {
        (
            written_once(
                &mut *addr_of_mut!(SYNTH),
                &mut *addr_of_mut!(SYNTH_WRITTEN),
                Synth::idle,
            ),
            &mut *addr_of_mut!(SYNTH_READY),
        )
    };
    *ready = false;
    synth.reinit(rate);
    if synth.load_soundfont(bytes).is_err() {
        return Status::BadFont as i32;
    }
    synth.set_chorus(0.3);
    *ready = true;
    Status::Ok as i32
}

#[cfg(feature = "midi")]
/// Plays one MIDI message now (its status byte and data bytes; unused
/// data bytes are ignored). Returns 0, or an error for a message the
/// synthesizer does not play (it is skipped).
#[no_mangle]
pub extern "C" fn auralis_synth_event(status: u32, data1: u32, data2: u32) -> i32 {
    let Some(synth) = synth() else {
        return Status::NotStarted as i32;
    };
    let byte = |v: u32| u8::try_from(v).unwrap_or(u8::MAX);
    match MidiEvent::from_bytes(byte(status), byte(data1), byte(data2)) {
        Some(event) if synth.apply(event).is_ok() => Status::Ok as i32,
        _ => Status::InvalidArgument as i32,
    }
}

#[cfg(feature = "midi")]
/// Renders `frames` frames (at most [`MAX_FRAMES`]) of the MIDI-file
/// synthesizer into the buffers at [`auralis_left`] and
/// [`auralis_right`]; returns how many, or an error.
#[no_mangle]
pub extern "C" fn auralis_synth_render(frames: u32) -> i32 {
    let Some(synth) = synth() else {
        return Status::NotStarted as i32;
    };
    let n = (frames as usize).min(MAX_FRAMES);
    // SAFETY: see the statics.
    let (left, right) = unsafe { (&mut *addr_of_mut!(LEFT), &mut *addr_of_mut!(RIGHT)) };
    synth.render(&mut left[..n], &mut right[..n]);
    n as i32
}

/// Memory for a SoundFont of `bytes` bytes, for the caller to copy the
/// file into before [`auralis_init`]: the module's memory grows by as many
/// pages as it takes, and they are never given back (a page keeps one
/// font). Returns the address, or 0 when the memory cannot grow.
#[no_mangle]
pub extern "C" fn auralis_font_reserve(bytes: u32) -> u32 {
    let pages = (bytes as usize).div_ceil(PAGE).max(1);
    match grow(pages) {
        Some(first) => (first * PAGE) as u32,
        None => 0,
    }
}

#[cfg(target_arch = "wasm32")]
fn grow(pages: usize) -> Option<usize> {
    let first = core::arch::wasm32::memory_grow(0, pages);
    (first != usize::MAX).then_some(first)
}

#[cfg(not(target_arch = "wasm32"))]
fn grow(_pages: usize) -> Option<usize> {
    None
}

/// Starts (or restarts) the engine: `seed` (a JavaScript `BigInt`),
/// `rate` in Hz (8,000–192,000; an AudioContext's `sampleRate`), key as a
/// MIDI root 60–71, mode 0–5 (aeolian, dorian, lydian, phrygian, ionian,
/// mixolydian), tempo 40–90 BPM, intensity 0–1. `font` and `font_len`
/// name a SoundFont copied into memory from [`auralis_font_reserve`], or
/// are both 0 for the built-in bank.
///
/// # Safety
/// `font` is 0 or the address of `font_len` bytes that stay as they are
/// for as long as the module lives.
#[no_mangle]
pub unsafe extern "C" fn auralis_init(
    seed: u64,
    rate: u32,
    key: u32,
    mode: u32,
    bpm: f32,
    intensity: f32,
    font: u32,
    font_len: u32,
) -> i32 {
    let Ok(rate) = SampleRate::new(rate) else {
        return Status::InvalidArgument as i32;
    };
    let Some(context) = context(key, mode, bpm, intensity) else {
        return Status::InvalidArgument as i32;
    };
    // SAFETY: the caller's promise.
    let bytes = unsafe { font_bytes(font, font_len) };
    // SAFETY: see the statics; the engine is written before it is used.
    let (engine, started) = unsafe {
        (
            written_once(
                &mut *addr_of_mut!(ENGINE),
                &mut *addr_of_mut!(WRITTEN),
                Engine::idle,
            ),
            &mut *addr_of_mut!(STARTED),
        )
    };
    *started = false;
    match engine.init(seed, rate, context, bytes) {
        Ok(()) => {
            *started = true;
            Status::Ok as i32
        }
        Err(EngineError::Synth(SynthError::Font(_) | SynthError::NoSuchPreset { .. })) => {
            Status::BadFont as i32
        }
        Err(_) => Status::InvalidArgument as i32,
    }
}

fn context(key: u32, mode: u32, bpm: f32, intensity: f32) -> Option<MusicalContext> {
    let key = u8::try_from(key).ok()?;
    let mode = *Mode::ALL.get(mode as usize)?;
    MusicalContext::new(key, mode, bpm, intensity).ok()
}

/// New parameters (as [`auralis_init`]'s), heard from the next beat.
#[no_mangle]
pub extern "C" fn auralis_set_params(key: u32, mode: u32, bpm: f32, intensity: f32) -> i32 {
    let Some(engine) = engine() else {
        return Status::NotStarted as i32;
    };
    match context(key, mode, bpm, intensity) {
        Some(c) => {
            engine.set_context(c);
            Status::Ok as i32
        }
        None => Status::InvalidArgument as i32,
    }
}

/// A preset (0 focus, 1 meditation, 2 sleep, 3 bright): its mode, tempo
/// and intensity, in the key playing now; heard from the next beat.
#[no_mangle]
pub extern "C" fn auralis_set_preset(preset: u32) -> i32 {
    let Some(engine) = engine() else {
        return Status::NotStarted as i32;
    };
    let Some(p) = Preset::ALL.get(preset as usize) else {
        return Status::InvalidArgument as i32;
    };
    engine.set_context(engine.context().with_preset(*p));
    Status::Ok as i32
}

/// Renders `frames` frames (at most [`MAX_FRAMES`]) into the buffers at
/// [`auralis_left`] and [`auralis_right`]; returns how many, or an error.
#[no_mangle]
pub extern "C" fn auralis_render(frames: u32) -> i32 {
    let Some(engine) = engine() else {
        return Status::NotStarted as i32;
    };
    let n = (frames as usize).min(MAX_FRAMES);
    // SAFETY: see the statics.
    let (left, right) = unsafe { (&mut *addr_of_mut!(LEFT), &mut *addr_of_mut!(RIGHT)) };
    engine.render(&mut left[..n], &mut right[..n]);
    n as i32
}

/// Where [`auralis_render`] puts the left channel.
#[no_mangle]
pub extern "C" fn auralis_left() -> u32 {
    addr_of!(LEFT) as usize as u32
}

/// Where [`auralis_render`] puts the right channel.
#[no_mangle]
pub extern "C" fn auralis_right() -> u32 {
    addr_of!(RIGHT) as usize as u32
}

/// Renders the next 100 ms as the server streams it: interleaved 16-bit
/// stereo at [`auralis_pcm`]. Returns the number of samples, or an error.
#[no_mangle]
pub extern "C" fn auralis_next_chunk() -> i32 {
    let Some(engine) = engine() else {
        return Status::NotStarted as i32;
    };
    // SAFETY: see the statics.
    let pcm = unsafe { &mut *addr_of_mut!(PCM) };
    match engine.next_chunk_into(pcm) {
        Some(_) => (engine.chunk_frames() * 2) as i32,
        None => Status::InvalidArgument as i32,
    }
}

/// Where [`auralis_next_chunk`] puts its samples.
#[no_mangle]
pub extern "C" fn auralis_pcm() -> u32 {
    addr_of!(PCM) as usize as u32
}

/// Writes what is playing, as UTF-8 at [`auralis_text`]: the key, the
/// mode, the tempo, the intensity and the chord sounding, separated by
/// tabs (`C\taeolian\t60\t0.5\tC:min`; the chord is empty before the
/// first phrase). Returns its length in bytes, or an error.
#[no_mangle]
pub extern "C" fn auralis_now_playing() -> i32 {
    let Some(engine) = engine() else {
        return Status::NotStarted as i32;
    };
    let c = engine.context();
    // SAFETY: see the statics.
    let text = unsafe { &mut *addr_of_mut!(TEXT) };
    let mut out = Text { buf: text, len: 0 };
    let _ = write!(
        out,
        "{}\t{}\t{}\t{}\t",
        c.spelling().name(c.key_pc()),
        c.mode(),
        c.bpm(),
        c.intensity()
    );
    if let Some(chord) = engine.chord() {
        let _ = write!(out, "{}", chord.harte(c.spelling()));
    }
    out.len as i32
}

/// Where [`auralis_now_playing`] writes.
#[no_mangle]
pub extern "C" fn auralis_text() -> u32 {
    addr_of!(TEXT) as usize as u32
}

/// A `fmt::Write` into a fixed buffer that drops what does not fit.
struct Text<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for Text<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
