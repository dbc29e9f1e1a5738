// SPDX-License-Identifier: GPL-2.0

//! Memory that a device addresses by physical address, outside the DMA API.
//!
//! An IOMMU's own tables and queues (root and context tables, an invalidation queue) are read
//! and written by the IOMMU with physical addresses: the IOMMU is not behind an IOMMU, and it
//! has no `struct device` to map them for. The C VT-d driver allocates them as zeroed pages and
//! flushes the CPU caches after updates when the unit does not snoop (`ECAP.C` clear).
//! [`PhysMem`] is such an allocation, seen as 64-bit words that both sides may change.
//!
//! x86 only so far: the physical address comes from the x86 page tables
//! (`slow_virt_to_phys()`) and the cache flush is `clflush_cache_range()`.
//!
//! C header: [`include/linux/gfp.h`](srctree/include/linux/gfp.h)

use core::ptr::NonNull;

use crate::{
    alloc::{
        flags::{
            __GFP_ZERO, //
            GFP_KERNEL,
        },
        Flags,
    },
    bindings,
    io::PhysAddr,
    page::PAGE_SIZE,
    prelude::*,
    sync::atomic::Atomic, //
};

/// Zeroed, physically contiguous, page-aligned memory that a device accesses by physical
/// address, as 64-bit words.
///
/// # Invariants
///
/// - `virt` is the start of an `alloc_pages_exact()` allocation of `len` bytes (a non-zero
///   multiple of the page size), owned by `self` until drop.
/// - `phys` is the physical address of `virt`.
pub struct PhysMem {
    virt: NonNull<u64>,
    len: usize,
    phys: PhysAddr,
}

// SAFETY: The allocation is owned and not tied to a thread.
unsafe impl Send for PhysMem {}
// SAFETY: Shared access goes through atomics only.
unsafe impl Sync for PhysMem {}

impl PhysMem {
    /// Allocates `len` bytes, rounded up to whole pages, zeroed. The start is aligned to the
    /// allocation's size rounded up to a power of two pages.
    ///
    /// May sleep.
    pub fn new_zeroed(len: usize) -> Result<Self> {
        Self::new_zeroed_with(len, GFP_KERNEL)
    }

    /// As [`PhysMem::new_zeroed`], with the allocation flags `gfp` (`GFP_ATOMIC` where the
    /// caller must not sleep).
    pub fn new_zeroed_with(len: usize, gfp: Flags) -> Result<Self> {
        if len == 0 {
            return Err(EINVAL);
        }
        let len = len.checked_next_multiple_of(PAGE_SIZE).ok_or(EINVAL)?;
        // SAFETY: Any size may be asked for; the flags are valid allocation flags, and the
        // caller chose them for its context.
        let virt = unsafe { bindings::alloc_pages_exact_noprof(len, (gfp | __GFP_ZERO).as_raw()) };
        let virt = NonNull::new(virt.cast::<u64>()).ok_or(ENOMEM)?;
        // SAFETY: `virt` is a direct-mapped kernel address of the allocation just made.
        let phys = unsafe { bindings::slow_virt_to_phys(virt.as_ptr().cast()) };
        // INVARIANT: Allocated above, `len` bytes; `phys` is its physical address.
        Ok(Self { virt, len, phys })
    }

    /// The physical address of the first byte, for the device.
    pub fn phys(&self) -> PhysAddr {
        self.phys
    }

    /// The size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always `false`: an allocation has at least one page.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The memory as 64-bit words, which the device may read and write concurrently.
    pub fn words(&self) -> &[Atomic<u64>] {
        // SAFETY: By the type invariants `virt` is valid for `len` bytes, page aligned, for as
        // long as `self` lives. `Atomic<u64>` is a transparent `u64`, any bit pattern is valid,
        // and every access from the CPU through this slice is atomic.
        unsafe { core::slice::from_raw_parts(self.virt.as_ptr().cast(), self.len / 8) }
    }

    /// Writes back the CPU cache lines of words `range`, for a device that does not snoop the
    /// CPU caches (an x86 IOMMU with `ECAP.C` clear). `EINVAL` if `range` is out of bounds.
    pub fn flush(&self, range: core::ops::Range<usize>) -> Result {
        if range.start > range.end || range.end > self.len / 8 {
            return Err(EINVAL);
        }
        let bytes = u32::try_from((range.end - range.start) * 8)?;
        // SAFETY: The range lies within the allocation (checked above), which stays mapped while
        // `self` lives; flushing cache lines does not change the memory's contents.
        unsafe { bindings::clflush_cache_range(self.virt.as_ptr().add(range.start).cast(), bytes) };
        Ok(())
    }
}

impl Drop for PhysMem {
    fn drop(&mut self) {
        // SAFETY: By the type invariants this is our `alloc_pages_exact()` allocation of `len`
        // bytes; the device must no longer use it, which the owner ensures by dropping `self`
        // only after the device stopped (the type's users document how).
        unsafe { bindings::free_pages_exact(self.virt.as_ptr().cast(), self.len) };
    }
}
