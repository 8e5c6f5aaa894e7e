//! Auralis on a Cortex-M4F (QEMU's mps2-an386): a seeded stream from the
//! built-in bank in flash, the engine in a static, no allocator, played
//! the way an audio part plays it: the main loop renders 10 ms blocks into
//! the core's ring (`auralis_core::buffer`) whenever its manager says one
//! fits, and otherwise sleeps (`wfi`); the SysTick interrupt is the DAC
//! (an I2S peripheral's DMA interrupt on a real part), taking 32 frames
//! from the ring at the sample rate's pace.
//!
//! Prints one line the host test compares with its own render, hashed on
//! the interrupt's side over what the "DAC" received,
//!
//! ```text
//! auralis-qemu seed=S voices=V chunks=N pcm_fnv1a64=HEX
//! ```
//!
//! then the DAC's line (frames, underruns, time in each of the ring's
//! health tiers), a line of sizes and counts, and exits QEMU with status 0
//! (or 1 on any fault, failure or panic). Under `-icount shift=0` (the
//! runner in `.cargo/config.toml`) guest time advances one nanosecond per
//! instruction, so the CMSDK timer's ticks count instructions; a
//! calibration loop of known length gives the ratio. QEMU is not
//! cycle-accurate: these are instructions, not cycles.
#![no_std]
#![no_main]

use core::cell::RefCell;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicBool, Ordering};

use auralis_core::buffer::{BufferManager, Health, Ring};
use auralis_core::engine::{to_pcm, Engine};
use auralis_core::synth::{ReverbSize, Synth};
use auralis_core::{MusicalContext, SampleRate};
use cortex_m::interrupt::Mutex;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::{debug, hprintln};

/// What the host test renders too (`tests/tests/embedded.rs`).
const SEED: u64 = 2026;
const VOICES: usize = 16;
const CHUNKS: u32 = 20;
const SAMPLE_RATE: SampleRate = SampleRate::HZ_44100;

/// Frames in one 100 ms chunk, and in all.
const CHUNK_FRAMES: usize = 4_410;
const TOTAL_FRAMES: usize = CHUNK_FRAMES * CHUNKS as usize;
/// The main loop renders 10 ms at a time: a tenth of a chunk.
const BLOCK_FRAMES: usize = CHUNK_FRAMES / 10;
/// The ring holds five blocks, the seed's shape (50 ms).
const RING_SAMPLES: usize = BLOCK_FRAMES * 2 * 5;
/// Frames the DAC takes per interrupt (a DMA half-buffer).
const DAC_FRAMES: usize = 32;
/// The board's SysTick and timer clock, Hz.
const CLOCK_HZ: u32 = 25_000_000;

/// The engine, in static memory: never on the stack, never on a heap
/// (there is none).
static mut ENGINE: Engine<'static, Synth<'static, VOICES>> = Engine::idle();
/// The render loop's block, left and right, before it goes into the ring.
static mut LEFT: [f32; BLOCK_FRAMES] = [0.0; BLOCK_FRAMES];
static mut RIGHT: [f32; BLOCK_FRAMES] = [0.0; BLOCK_FRAMES];
static mut PCM: [i16; BLOCK_FRAMES * 2] = [0; BLOCK_FRAMES * 2];

/// From the render loop to the DAC interrupt.
static RING: Ring<RING_SAMPLES> = Ring::new();
/// The ring's policy: 10 ms chunks in a ring of five.
const MANAGER: BufferManager = BufferManager::new(BLOCK_FRAMES * 2, RING_SAMPLES);

/// What the DAC received, counted in its interrupt.
struct Dac {
    hash: u64,
    frames: usize,
    interrupts: u32,
    /// Frames played while the ring was in each tier (`Health::ALL`'s
    /// order), measured as the interrupt found it.
    tiers: [usize; 4],
}

static DAC: Mutex<RefCell<Dac>> = Mutex::new(RefCell::new(Dac {
    hash: 0xcbf2_9ce4_8422_2325,
    frames: 0,
    interrupts: 0,
    tiers: [0; 4],
}));
/// Set by the DAC when it has played every frame.
static DONE: AtomicBool = AtomicBool::new(false);

/// The CMSDK APB timer 0 of the MPS2 boards: a 32-bit down-counter at
/// `CLOCK_HZ`, free-running here, for timing.
const TIMER0_CTRL: *mut u32 = 0x4000_0000 as *mut u32;
const TIMER0_VALUE: *mut u32 = 0x4000_0004 as *mut u32;
const TIMER0_RELOAD: *mut u32 = 0x4000_0008 as *mut u32;

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
    start_timer();

    // Ticks for a loop of exactly 2,000,000 instructions.
    let calibration = timed(|| spin(1_000_000)).max(1);

    // SAFETY: the only references to these statics, made once, here (the
    // interrupt touches only RING, DAC and DONE).
    let (engine, left, right, pcm) = unsafe {
        (
            &mut *addr_of_mut!(ENGINE),
            &mut *addr_of_mut!(LEFT),
            &mut *addr_of_mut!(RIGHT),
            &mut *addr_of_mut!(PCM),
        )
    };
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
    // SAFETY: the ring's one producer; the SysTick handler makes its one
    // consumer, each time it runs.
    let mut producer = unsafe { RING.producer() };

    let (mut total, mut worst, mut this_chunk) = (0u64, 0u32, 0u32);
    let mut rendered = 0usize;
    let mut dac_started = false;
    while rendered < TOTAL_FRAMES {
        if !MANAGER.has_space(&producer) {
            if !dac_started {
                // The ring is full: the DAC starts (SysTick at the
                // sample rate's pace, DAC_FRAMES per interrupt).
                start_dac(&mut cp.SYST);
                dac_started = true;
            }
            cortex_m::asm::wfi();
            continue;
        }
        this_chunk += timed(|| {
            engine.render(left, right);
        });
        for (frame, (l, r)) in pcm.chunks_exact_mut(2).zip(left.iter().zip(right.iter())) {
            frame[0] = to_pcm(*l);
            frame[1] = to_pcm(*r);
        }
        if !producer.write(pcm) {
            fail("the ring refused a block the manager had room for");
        }
        rendered += BLOCK_FRAMES;
        if rendered.is_multiple_of(CHUNK_FRAMES) {
            total += u64::from(this_chunk);
            worst = worst.max(this_chunk);
            this_chunk = 0;
        }
    }
    if !dac_started {
        start_dac(&mut cp.SYST);
    }
    while !DONE.load(Ordering::Acquire) {
        cortex_m::asm::wfi();
    }
    cp.SYST.disable_interrupt();
    cp.SYST.disable_counter();

    // Ticks to instructions, by the calibration loop.
    let instructions = |ticks: u64| ticks * 2_000_000 / u64::from(calibration);
    let (mean, worst) = (
        instructions(total / u64::from(CHUNKS)),
        instructions(u64::from(worst)),
    );
    let underruns = RING.monitor().underruns();
    cortex_m::interrupt::free(|cs| {
        let dac = DAC.borrow(cs).borrow();
        hprintln!(
            "auralis-qemu seed={} voices={} chunks={} pcm_fnv1a64={:016x}",
            SEED,
            VOICES,
            CHUNKS,
            dac.hash
        );
        let ms = |tier: Health| {
            let i = Health::ALL.iter().position(|t| *t == tier).unwrap_or(0);
            dac.tiers[i] * 1_000 / SAMPLE_RATE.hz() as usize
        };
        hprintln!(
            "auralis-qemu-dac frames={} interrupts={} underruns={} ring_frames={} emergency_ms={} low_ms={} healthy_ms={} full_ms={}",
            dac.frames,
            dac.interrupts,
            underruns,
            RING_SAMPLES / 2,
            ms(Health::Emergency),
            ms(Health::Low),
            ms(Health::Healthy),
            ms(Health::Full)
        );
    });
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
        "auralis-qemu-sizes engine_bytes={} ring_bytes={} static_ram_bytes={} flash_bytes={} stack_peak_bytes={} instructions_per_chunk_mean={} instructions_per_chunk_max={}",
        core::mem::size_of::<Engine<'static, Synth<'static, VOICES>>>(),
        core::mem::size_of::<Ring<RING_SAMPLES>>(),
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

/// SysTick as the DAC: an interrupt every `DAC_FRAMES` frames of the
/// sample rate.
fn start_dac(syst: &mut cortex_m::peripheral::SYST) {
    syst.set_clock_source(SystClkSource::Core);
    let period = CLOCK_HZ as u64 * DAC_FRAMES as u64 / u64::from(SAMPLE_RATE.hz());
    syst.set_reload(period as u32 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// The DAC: takes `DAC_FRAMES` from the ring (silence, counted as an
/// underrun, for whatever is missing), hashes them as played, and notes
/// the ring's tier.
#[exception]
fn SysTick() {
    let mut out = [0i16; DAC_FRAMES * 2];
    cortex_m::interrupt::free(|cs| {
        let mut dac = DAC.borrow(cs).borrow_mut();
        if dac.frames >= TOTAL_FRAMES {
            return;
        }
        // SAFETY: the ring's one consumer: this handler is the only code
        // that makes one, and it does not nest.
        let mut consumer = unsafe { RING.consumer() };
        let tier = MANAGER.health(consumer.depth());
        let n = DAC_FRAMES.min(TOTAL_FRAMES - dac.frames);
        let out = &mut out[..n * 2];
        consumer.fill(out);
        let mut hash = dac.hash;
        for v in out.iter() {
            for byte in v.to_le_bytes() {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        dac.hash = hash;
        dac.frames += n;
        dac.interrupts += 1;
        if let Some(i) = Health::ALL.iter().position(|t| *t == tier) {
            dac.tiers[i] += n;
        }
        if dac.frames >= TOTAL_FRAMES {
            DONE.store(true, Ordering::Release);
        }
    });
}

/// Starts timer 0 counting down from the top, wrapping.
fn start_timer() {
    // SAFETY: the CMSDK timer's registers on this board; nothing else
    // uses timer 0.
    unsafe {
        core::ptr::write_volatile(TIMER0_CTRL, 0);
        core::ptr::write_volatile(TIMER0_RELOAD, u32::MAX);
        core::ptr::write_volatile(TIMER0_VALUE, u32::MAX);
        core::ptr::write_volatile(TIMER0_CTRL, 1);
    }
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

/// Timer ticks that `f` took (interrupts included: the DAC's share of a
/// chunk is counted with it).
fn timed(f: impl FnOnce()) -> u32 {
    let now = || {
        // SAFETY: a read of the free-running timer's counter.
        unsafe { core::ptr::read_volatile(TIMER0_VALUE) }
    };
    let start = now();
    f();
    start.wrapping_sub(now())
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
