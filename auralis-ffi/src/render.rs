//! Rendering: float or 16-bit frames, whole 100 ms chunks, and turning
//! the composer off to play the host's own notes.

use crate::boundary::{check, out_optional, slice_mut, with_engine};
use crate::state::{params_of, AuralisEngine};
use crate::types::{AuralisChunkInfo, AuralisStatus};
use crate::BLOCK;

/// Renders the next `len / 2` frames of the stream as interleaved stereo
/// floats in [-1, 1] into `out` (`len` floats; any even count, 0 is fine).
/// Rendering in pieces of any size gives the same samples as one call.
///
/// - Ownership: `out` stays the caller's.
/// - Threads: the engine's thread (one call at a time per engine).
/// - Real-time safe: yes: no allocation, no lock, O(len × voices).
/// - Errors: NULL_POINTER, BUFFER_TOO_SMALL (odd `len`).
///
/// # Safety
/// `engine` is NULL or a live handle from `auralis_engine_new` or
/// `auralis_engine_init`, not yet freed, and no other call uses it during
/// this one.
/// `out` is NULL or valid for writes of `len` floats.
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
/// - Ownership: `out` stays the caller's.
/// - Threads: the engine's thread (one call at a time per engine).
/// - Real-time safe: yes.
/// - Errors: NULL_POINTER, BUFFER_TOO_SMALL (odd `len`).
///
/// # Safety
/// `engine` is NULL or a live handle from `auralis_engine_new` or
/// `auralis_engine_init`, not yet freed, and no other call uses it during
/// this one.
/// `out` is NULL or valid for writes of `len` 16-bit samples.
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
pub(crate) unsafe fn render_interleaved<T: Copy>(
    engine: *mut AuralisEngine,
    out: *mut T,
    len: usize,
    sample: fn(f32) -> T,
) -> AuralisStatus {
    with_engine(engine, |e| {
        // SAFETY: NULL or `len` writable samples at `out`, per the contract.
        let out = check!(unsafe { slice_mut(out, len) });
        if len % 2 != 0 {
            return e.fail(
                AuralisStatus::BufferTooSmall,
                format_args!("{len} samples is not whole stereo frames"),
            );
        }
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
/// - Ownership: `out` and `*info` stay the caller's; `*info` is written only on
///   success.
/// - Threads: the engine's thread (one call at a time per engine).
/// - Real-time safe: yes.
/// - Errors: NULL_POINTER, BUFFER_TOO_SMALL (nothing rendered).
///
/// # Safety
/// `engine` is NULL or a live handle from `auralis_engine_new` or
/// `auralis_engine_init`, not yet freed, and no other call uses it during
/// this one.
/// `out` is NULL or valid for writes of `len` 16-bit samples; `info` is
/// NULL or points to a writable `AuralisChunkInfo`.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_next_chunk(
    engine: *mut AuralisEngine,
    out: *mut i16,
    len: usize,
    info: *mut AuralisChunkInfo,
) -> AuralisStatus {
    with_engine(engine, |e| {
        // SAFETY: NULL or `len` writable samples at `out`, per the contract.
        let out = check!(unsafe { slice_mut(out, len) });
        // SAFETY: NULL or writable, per the contract.
        let info = unsafe { out_optional(info) };
        let need = 2 * (e.config.sample_rate as usize / 10);
        let too_small = |e: &mut AuralisEngine| {
            e.fail(
                AuralisStatus::BufferTooSmall,
                format_args!("a chunk is {need} samples; the buffer holds {len}"),
            )
        };
        let start_frame = e.engine.frame();
        let Some(pcm) = out.get_mut(..need) else {
            return too_small(e);
        };
        // Straight into the caller's buffer: no chunk of the library's own.
        let Some(chunk_info) = e.timed(need / 2, |e| e.engine.next_chunk_into(pcm)) else {
            return too_small(e);
        };
        e.chunks += 1;
        if let Some(info) = info {
            info.set(AuralisChunkInfo {
                seq: chunk_info.seq,
                start_frame,
                frames: (need / 2) as u32,
                channels: 2,
                sample_rate: e.config.sample_rate,
                params_changed: u32::from(chunk_info.params.is_some()),
                params: params_of(&chunk_info.params.unwrap_or(e.engine.phrase().context)),
            });
        }
        e.ok()
    })
}

/// Turns the composer off (1 → 0: the host plays its own notes with
/// `auralis_engine_note_on` and friends; the composer's notes are
/// released) or on again (0 → 1: a new phrase starts at once).
///
/// - Ownership: nothing to own.
/// - Threads: the engine's thread (one call at a time per engine).
/// - Real-time safe: yes.
/// - Errors: NULL_POINTER.
///
/// # Safety
/// `engine` is NULL or a live handle from `auralis_engine_new` or
/// `auralis_engine_init`, not yet freed, and no other call uses it during
/// this one.
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
