//! Auralis on a Cortex-M4F (QEMU's mps2-an386): a seeded stream from the
//! built-in bank in flash, the engine in a static, no allocator.
//!
//! Prints one line the host test compares with its own render,
//!
//! ```text
//! auralis-qemu seed=S voices=V chunks=N pcm_fnv1a64=HEX
//! ```
//!
//! then a line of sizes and counts, and exits QEMU with status 0 (or 1 on
//! any fault, failure or panic). Under `-icount shift=0` (the runner in
//! `.cargo/config.toml`) guest time advances one nanosecond per
//! instruction, so SysTick ticks count instructions; a calibration loop of
//! known length gives the ratio. QEMU is not cycle-accurate: these are
//! instructions, not cycles.
#![no_std]
#![no_main]

use core::ptr::addr_of_mut;

use auralis_core::engine::{AudioChunk, Engine};
use auralis_core::synth::{ReverbSize, Synth};
use auralis_core::{MusicalContext, SampleRate};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::{debug, hprintln};

/// What the host test renders too (`tests/tests/embedded.rs`).
const SEED: u64 = 2026;
const VOICES: usize = 16;
const CHUNKS: u32 = 20;
const SAMPLE_RATE: SampleRate = SampleRate::HZ_44100;

/// The engine and a chunk, in static memory: never on the stack, never on
/// a heap (there is none).
static mut ENGINE: Engine<'static, Synth<'static, VOICES>> = Engine::idle();
static mut CHUNK: AudioChunk = AudioChunk::new();

/// Written over the free stack before the work, to find how deep it went.
const PAINT: u32 = 0x5AFE_C0DE;

extern "C" {
    static mut __sheap: u32;
    static _stack_start: u32;
    static __sdata: u32;
    static __ebss: u32;
    static __sidata: u32;
    static __edata: u32;
}

#[entry]
fn main() -> ! {
    let free_stack_bottom = paint_stack();
    let mut cp = cortex_m::Peripherals::take().unwrap_or_else(|| fail("no core peripherals"));
    cp.SYST.set_clock_source(SystClkSource::Core);
    cp.SYST.set_reload(0x00FF_FFFF);
    cp.SYST.enable_counter();

    // Ticks for a loop of exactly 2,000,000 instructions.
    let calibration = timed(&mut cp.SYST, || spin(1_000_000)).max(1);

    // SAFETY: the only references to the statics, made once, here.
    let (engine, chunk) = unsafe { (&mut *addr_of_mut!(ENGINE), &mut *addr_of_mut!(CHUNK)) };
    if engine
        .init(
            SEED,
            SAMPLE_RATE,
            MusicalContext::DEFAULT,
            auralis_core::bank::DEFAULT_SF2,
        )
        .is_err()
    {
        fail("the engine refused its settings");
    }
    engine.set_reverb_size(ReverbSize::Compact);

    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let (mut total, mut worst) = (0u64, 0u32);
    for _ in 0..CHUNKS {
        let t = timed(&mut cp.SYST, || {
            engine.next_chunk(chunk);
        });
        total += u64::from(t);
        worst = worst.max(t);
        for v in chunk.samples() {
            for byte in v.to_le_bytes() {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    // Ticks to instructions, by the calibration loop.
    let instructions = |ticks: u64| ticks * 2_000_000 / u64::from(calibration);
    let (mean, worst) = (
        instructions(total / u64::from(CHUNKS)),
        instructions(u64::from(worst)),
    );

    hprintln!(
        "auralis-qemu seed={} voices={} chunks={} pcm_fnv1a64={:016x}",
        SEED,
        VOICES,
        CHUNKS,
        hash
    );
    // SAFETY: only the addresses of linker symbols are taken.
    let (sdata, ebss, sidata, edata, top) = unsafe {
        (
            &__sdata as *const u32 as usize,
            &__ebss as *const u32 as usize,
            &__sidata as *const u32 as usize,
            &__edata as *const u32 as usize,
            &_stack_start as *const u32 as usize,
        )
    };
    let stack_peak = top - deepest_touched(free_stack_bottom, top);
    hprintln!(
        "auralis-qemu-sizes engine_bytes={} chunk_bytes={} static_ram_bytes={} flash_bytes={} stack_peak_bytes={} instructions_per_chunk_mean={} instructions_per_chunk_max={}",
        core::mem::size_of::<Engine<'static, Synth<'static, VOICES>>>(),
        core::mem::size_of::<AudioChunk>(),
        ebss - sdata,
        sidata + (edata - sdata),
        stack_peak,
        mean,
        worst
    );
    hprintln!(
        "auralis-qemu-engines engine8={} engine16={} engine32={} engine64={}",
        core::mem::size_of::<Engine<'static, Synth<'static, 8>>>(),
        core::mem::size_of::<Engine<'static, Synth<'static, 16>>>(),
        core::mem::size_of::<Engine<'static, Synth<'static, 32>>>(),
        core::mem::size_of::<Engine<'static, Synth<'static, 64>>>()
    );
    debug::exit(debug::EXIT_SUCCESS);
    halt()
}

/// Paints the stack from the end of static memory up to a little below
/// the current stack pointer; returns where the paint starts.
fn paint_stack() -> usize {
    // `__sheap` is where static memory ends and the free space (which the
    // stack grows down into) begins; only its address is taken.
    let bottom = addr_of_mut!(__sheap) as usize;
    let sp = cortex_m::register::msp::read() as usize;
    let mut at = bottom;
    while at + 256 < sp {
        // SAFETY: between the end of static data and the live stack: memory
        // nothing uses yet.
        unsafe { core::ptr::write_volatile(at as *mut u32, PAINT) };
        at += 4;
    }
    bottom
}

/// The lowest stack address written since [`paint_stack`].
fn deepest_touched(bottom: usize, top: usize) -> usize {
    let mut at = bottom;
    while at < top {
        // SAFETY: inside the RAM between static data and the stack top.
        if unsafe { core::ptr::read_volatile(at as *const u32) } != PAINT {
            return at;
        }
        at += 4;
    }
    top
}

/// SysTick ticks that `f` took (it must take under 2^24 of them: at the
/// board's 25 MHz, 670 ms of guest time).
fn timed(syst: &mut cortex_m::peripheral::SYST, f: impl FnOnce()) -> u32 {
    syst.clear_current();
    let start = cortex_m::peripheral::SYST::get_current();
    f();
    let end = cortex_m::peripheral::SYST::get_current();
    start.wrapping_sub(end) & 0x00FF_FFFF
}

/// Exactly two instructions per round.
#[inline(never)]
fn spin(rounds: u32) {
    // SAFETY: a counted loop on one register.
    unsafe {
        core::arch::asm!(
            "2:",
            "subs {0}, {0}, #1",
            "bne 2b",
            inout(reg) rounds => _,
            options(nomem, nostack)
        );
    }
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    hprintln!("auralis-qemu FAULT: hard fault at pc={:#010x}", frame.pc());
    debug::exit(debug::EXIT_FAILURE);
    halt()
}

/// Waits forever (QEMU has exited by now; a real part would sleep).
fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}

fn fail(why: &str) -> ! {
    hprintln!("auralis-qemu FAILED: {}", why);
    debug::exit(debug::EXIT_FAILURE);
    halt()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("auralis-qemu PANIC: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    halt()
}
