//! A memory budget for fuzzing and replay: a global allocator that refuses
//! any allocation that would take the bytes held by the process over
//! [`BUDGET`] (1 GiB, the fuzzer's `-rss_limit_mb=1024`), and remembers that
//! it did.
//!
//! A refused allocation makes infallible allocation abort at once ("memory
//! allocation of N bytes failed"), which libFuzzer reports as a crash
//! within a millisecond instead of after the seconds it takes to touch a
//! gigabyte; fallible allocation (`try_reserve`) gets an error, and
//! [`check`] still fails the input, because the server's allocator would
//! have said yes. (libFuzzer's own `-malloc_limit_mb` needs the sanitizer
//! allocator hooks, which a `--sanitizer none` build does not have.)
//!
//! Install it in a binary with
//! `#[global_allocator] static A: carina_fuzz::budget::Budget = carina_fuzz::budget::Budget;`.

#![allow(unsafe_code)] // a GlobalAlloc implementation is unsafe by definition

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes the process may hold at once.
pub const BUDGET: usize = 1024 * 1024 * 1024;

static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The largest allocation refused since the last [`check`].
static REFUSED: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting, with the budget.
pub struct Budget;

impl Budget {
    fn admit(size: usize) -> bool {
        if LIVE.fetch_add(size, Ordering::Relaxed).saturating_add(size) > BUDGET {
            LIVE.fetch_sub(size, Ordering::Relaxed);
            REFUSED.fetch_max(size, Ordering::Relaxed);
            return false;
        }
        true
    }
}

// SAFETY: every call forwards to `System` with the caller's arguments; the
// wrapper only counts bytes and may return null, which `GlobalAlloc` allows.
unsafe impl GlobalAlloc for Budget {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !Self::admit(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller upholds `alloc`'s contract for `layout`.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !Self::admit(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old && !Self::admit(new_size - old) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller upholds `realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            if new_size > old {
                LIVE.fetch_sub(new_size - old, Ordering::Relaxed);
            }
        } else if new_size < old {
            LIVE.fetch_sub(old - new_size, Ordering::Relaxed);
        }
        p
    }
}

/// Bytes held now (0 when [`Budget`] is not the global allocator).
pub fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Panics if an allocation was refused since the last call (and resets).
pub fn check(what: &str) {
    let refused = REFUSED.swap(0, Ordering::Relaxed);
    assert!(
        refused == 0,
        "{what}: asked for {refused} bytes with {} MiB held (budget {} MiB)",
        live() >> 20,
        BUDGET >> 20
    );
}
