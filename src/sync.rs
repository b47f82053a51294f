//! Locks and atomics for the runtime: parking_lot's and the standard
//! library's normally, loom's when the crate is built with `--cfg loom`, so
//! that the model tests in tests/loom.rs check the real handle table, wake
//! protocol and pool slot accounting over every interleaving.

#[cfg(not(loom))]
pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
#[cfg(loom)]
pub(crate) use model::{Condvar, Mutex, MutexGuard};

/// parking_lot's API over loom's primitives. Loom does not model time: a
/// timed wait is an untimed one, so model tests never rely on timeouts.
#[cfg(loom)]
mod model {
    use std::time::Instant;

    pub struct Mutex<T>(loom::sync::Mutex<T>);
    pub struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);
    pub struct Condvar(loom::sync::Condvar);
    pub struct WaitTimeoutResult;

    impl<T> Mutex<T> {
        pub fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }
        pub fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard(Some(self.0.lock().unwrap()))
        }
        pub fn try_lock_until(&self, _at: Instant) -> Option<MutexGuard<'_, T>> {
            Some(self.lock())
        }
    }

    impl<T> std::ops::Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.0.as_ref().unwrap()
        }
    }

    impl<T> std::ops::DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0.as_mut().unwrap()
        }
    }

    impl WaitTimeoutResult {
        pub fn timed_out(&self) -> bool {
            false
        }
    }

    impl Condvar {
        pub fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }
        pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let inner = guard.0.take().unwrap();
            guard.0 = Some(self.0.wait(inner).unwrap());
        }
        pub fn wait_until<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            _at: Instant,
        ) -> WaitTimeoutResult {
            self.wait(guard);
            WaitTimeoutResult
        }
        pub fn notify_one(&self) {
            self.0.notify_one();
        }
    }
}
