//! One lock helper for the writer's shared state.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex` even if a thread panicked while holding it: the state it guards (trigger
/// options, a counter, the running background child) stays usable, and a panic elsewhere
/// must not disable dumps for good.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
