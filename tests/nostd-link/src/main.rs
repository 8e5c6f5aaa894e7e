//! Links auralis-core into a program without `std` and composes a phrase.
//! Exits 0 when the phrase has a melody.

#![no_std]
#![no_main]

use auralis_core::music::{Composer, MusicalContext, PhraseBars};
use auralis_core::SampleRate;

// The C library supplies the process entry point that calls `main`, and
// `abort`. Nothing else is used from it.
#[link(name = "c")]
extern "C" {
    fn abort() -> !;
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: abort takes no arguments and never returns.
    unsafe { abort() }
}

/// The precompiled `core` for this host refers to an unwinding
/// personality routine even though this program aborts on panic; it is
/// never called. (On bare-metal targets such as thumbv7em-none-eabihf it
/// is not needed at all.)
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

/// The C entry point.
#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    let mut composer = Composer::new(7, SampleRate::HZ_44100, MusicalContext::DEFAULT);
    let phrase = composer.next_phrase(PhraseBars::Eight);
    if phrase.melody.notes().is_empty() {
        2
    } else {
        0
    }
}
