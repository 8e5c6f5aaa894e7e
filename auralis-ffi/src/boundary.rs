//! The boundary every exported function goes through: panics become
//! `AURALIS_STATUS_INTERNAL` (and poison the engine they happened in), and
//! typed helpers check pointers, slices and out-parameters.

use crate::state::AuralisEngine;
use crate::types::AuralisStatus;
use core::panic::AssertUnwindSafe;
use std::panic::catch_unwind;

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

/// `?` for bodies that return a status: an `Err(status)` is returned.
macro_rules! check {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(status) => return status,
        }
    };
}
pub(crate) use check;

/// An input argument: `p` read for the duration of the call.
///
/// # Safety
/// `p` is NULL or points to a valid `T` that nothing changes during the
/// call.
pub(crate) unsafe fn arg<'a, T>(p: *const T) -> Result<&'a T, AuralisStatus> {
    // SAFETY: per this function's contract.
    unsafe { p.as_ref() }.ok_or(AuralisStatus::NullPointer)
}

/// An out-parameter: checked up front, written only on success (by
/// [`Out::set`], the last thing a body does).
pub(crate) struct Out<T>(core::ptr::NonNull<T>);

impl<T> Out<T> {
    /// Checks `p`.
    ///
    /// # Safety
    /// `p` is NULL or valid for writing a `T` during the call.
    pub(crate) unsafe fn new(p: *mut T) -> Result<Self, AuralisStatus> {
        core::ptr::NonNull::new(p)
            .map(Out)
            .ok_or(AuralisStatus::NullPointer)
    }

    /// Writes the result (without reading or dropping what was there).
    pub(crate) fn set(self, value: T) {
        // SAFETY: non-NULL and writable, per `new`'s contract.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// An optional out-parameter: NULL means the caller does not want it.
///
/// # Safety
/// `p` is NULL or valid for writing a `T` during the call.
pub(crate) unsafe fn out_optional<T>(p: *mut T) -> Option<Out<T>> {
    core::ptr::NonNull::new(p).map(Out)
}

/// A caller buffer of `len` elements to read.
///
/// # Safety
/// `p` is NULL or points to `len` readable `T`s that nothing changes for
/// the lifetime `'a` the caller promises.
pub(crate) unsafe fn slice<'a, T>(p: *const T, len: usize) -> Result<&'a [T], AuralisStatus> {
    if p.is_null() {
        return Err(AuralisStatus::NullPointer);
    }
    // SAFETY: non-NULL, and `len` valid elements per the contract.
    Ok(unsafe { core::slice::from_raw_parts(p, len) })
}

/// A caller buffer of `len` elements to fill.
///
/// # Safety
/// `p` is NULL or points to `len` writable `T`s that nothing else touches
/// during the call.
pub(crate) unsafe fn slice_mut<'a, T>(p: *mut T, len: usize) -> Result<&'a mut [T], AuralisStatus> {
    if p.is_null() {
        return Err(AuralisStatus::NullPointer);
    }
    // SAFETY: non-NULL, and `len` valid elements per the contract.
    Ok(unsafe { core::slice::from_raw_parts_mut(p, len) })
}
