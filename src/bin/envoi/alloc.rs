//! The process's allocator: mimalloc, entered through its plain `malloc` for ordinary alignments.
//!
//! The `mimalloc` crate passes every allocation through `mi_malloc_aligned`, whose checks cost
//! more than the allocation itself on mimalloc's fast path. Almost every allocation of a compose
//! batch (strings, vectors) asks for an alignment of 1 or 8, which plain `mi_malloc` gives
//! anyway: like C's `malloc`, it aligns each block for any object of the block's size. The
//! rule is std's own for `malloc` (`std::sys::alloc::unix`), with a word as the guaranteed
//! alignment: mimalloc's block sizes are whole words.

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

pub struct Mimalloc;

/// An alignment that plain `mi_malloc` gives for this layout.
fn plain(l: &Layout) -> bool {
    l.align() <= std::mem::size_of::<usize>() && l.align() <= l.size()
}

/// A new block for `l` from the plain function when that aligns enough, else the aligned one.
///
/// # Safety
/// As `GlobalAlloc::alloc`: `l` has a non-zero size.
#[inline(always)]
unsafe fn fresh(
    l: Layout,
    plain_fn: unsafe extern "C" fn(usize) -> *mut c_void,
    aligned_fn: unsafe extern "C" fn(usize, usize) -> *mut c_void,
) -> *mut u8 {
    // SAFETY: both are mimalloc's allocation functions, sound for any size and power-of-two
    // alignment; see the impl below for why the plain one aligns enough when `plain` holds.
    unsafe {
        if plain(&l) {
            plain_fn(l.size()).cast()
        } else {
            aligned_fn(l.size(), l.align()).cast()
        }
    }
}

// SAFETY: every call forwards to mimalloc's documented C API, which returns null on failure (as
// GlobalAlloc requires) and memory aligned to `l.align()`: through the `_aligned` functions, or,
// when `plain` holds, because mimalloc aligns every block to a word and the layout asks for no
// more. Memory from any of these functions is freed by `mi_free` and resized by `mi_realloc`.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe { fresh(l, mi::mi_malloc, mi::mi_malloc_aligned) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe { fresh(l, mi::mi_zalloc, mi::mi_zalloc_aligned) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _l: Layout) {
        // SAFETY: `ptr` came from this allocator (GlobalAlloc's contract), so from mimalloc.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        let new = Layout::from_size_align(new_size, l.align()).unwrap_or(l);
        // SAFETY: see the impl; `ptr` came from this allocator.
        unsafe {
            if plain(&new) {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, l.align()).cast()
            }
        }
    }
}
