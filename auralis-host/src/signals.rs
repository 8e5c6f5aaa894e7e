//! Ctrl-C and SIGTERM for the commands that run until they are stopped
//! (`render`, `play`): a flag set by the signal, read between two steps,
//! so that each can finish cleanly (remove a partial file, fade out).

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by SIGINT or SIGTERM.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// From now on SIGINT and SIGTERM set [`interrupted`] instead of killing
/// the process.
pub(crate) fn catch() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `on_signal` only stores to an atomic, which is
        // async-signal-safe; replacing the default handler has no other
        // effect on these single-purpose commands.
        unsafe {
            libc::signal(signal, on_signal as *const () as libc::sighandler_t);
        }
    }
}

/// Whether SIGINT or SIGTERM came since [`catch`].
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}
