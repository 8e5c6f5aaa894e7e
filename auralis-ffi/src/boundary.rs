//! The boundary every exported function goes through: panics become
//! `AURALIS_STATUS_INTERNAL` (and poison the engine they happened in), and
//! typed helpers check pointers, slices and out-parameters.

use crate::*;

/// Runs an exported body: a panic becomes `AURALIS_STATUS_INTERNAL`.
pub(crate) fn guard(body: impl FnOnce() -> AuralisStatus) -> AuralisStatus {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(AuralisStatus::Internal)
}

/// Runs `body` on the engine behind `engine` (NULL: NULL_POINTER). A
/// panic inside it becomes INTERNAL and poisons the engine: from then on
/// every call on it returns INTERNAL, so nothing ever runs on state a
/// panic left half-updated.
pub(crate) fn with_engine(
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
pub(crate) fn with_engine_ref(
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
