//! A global allocator that counts live heap bytes, for the memory benchmarks: a bench installs
//! it and reads [`live_bytes`] before and after building what it measures.
#![allow(unsafe_code)] // a GlobalAlloc impl is unsafe by definition; measurement-only code

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

/// The system allocator, counting live bytes. Install with
/// `#[global_allocator] static GLOBAL: LiveBytes = LiveBytes;`.
pub(crate) struct LiveBytes;

static LIVE: AtomicIsize = AtomicIsize::new(0);

/// Heap bytes allocated and not yet freed, by the whole process.
pub(crate) fn live_bytes() -> isize {
    LIVE.load(Ordering::Relaxed)
}

unsafe impl GlobalAlloc for LiveBytes {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
