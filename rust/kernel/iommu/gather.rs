// SPDX-License-Identifier: GPL-2.0

//! IOTLB invalidation gathering (`struct iommu_iotlb_gather`).
//!
//! C header: [`include/linux/iommu.h`](srctree/include/linux/iommu.h)

use crate::{
    bindings,
    prelude::*,
    types::Opaque, //
};

use super::{
    Domain,
    DomainOps, //
};

/// A range of IOVAs whose IOTLB entries are pending invalidation.
///
/// `unmap_pages` records what it unmapped here; `iotlb_sync` invalidates the gathered range.
/// Shared references are enough to update it: a gather is used by one thread at a time (it is
/// not `Sync`), and the core may sync it from inside [`IotlbGather::add_page`].
///
/// # Invariants
///
/// The wrapped `struct iommu_iotlb_gather` is valid and initialised.
#[repr(transparent)]
#[pin_data]
pub struct IotlbGather {
    #[pin]
    inner: Opaque<bindings::iommu_iotlb_gather>,
}

impl IotlbGather {
    /// Creates an empty gather (it holds a self-referential list head, hence pinned).
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `ptr` is valid for writes; `iommu_iotlb_gather_init` initialises all fields.
            inner <- Opaque::ffi_init(|ptr| unsafe { bindings::iommu_iotlb_gather_init(ptr) }),
        })
    }

    /// # Safety
    ///
    /// `ptr` must point to a valid, initialised gather that is not used by another thread for
    /// `'a`.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::iommu_iotlb_gather) -> &'a Self {
        // SAFETY: `IotlbGather` is a transparent wrapper of `struct iommu_iotlb_gather`.
        unsafe { &*ptr.cast() }
    }

    #[inline]
    pub(crate) fn as_raw(&self) -> *mut bindings::iommu_iotlb_gather {
        self.inner.get()
    }

    /// Returns the first IOVA of the gathered range.
    #[inline]
    pub fn start(&self) -> usize {
        // SAFETY: The gather is valid by the type invariants.
        unsafe { (*self.as_raw()).start }
    }

    /// Returns the last IOVA (inclusive) of the gathered range.
    #[inline]
    pub fn end(&self) -> usize {
        // SAFETY: The gather is valid by the type invariants.
        unsafe { (*self.as_raw()).end }
    }

    /// Returns `true` if no range has been gathered.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.start() > self.end()
    }

    /// Returns the page size of the gathered unmaps (0 if mixed or none).
    #[inline]
    pub fn pgsize(&self) -> usize {
        // SAFETY: The gather is valid by the type invariants; `pgsize` is the union member used
        // by `iommu_iotlb_gather_add_page` and zeroed by init.
        unsafe { (*self.as_raw()).__bindgen_anon_1.pgsize }
    }

    /// Returns `true` if the gather will be completed with a full flush instead of `iotlb_sync`.
    pub fn is_queued(&self) -> bool {
        // SAFETY: The gather is valid by the type invariants.
        unsafe { (*self.as_raw()).queued }
    }

    /// Returns `true` if `[iova, iova + size)` is not adjacent to or overlapping the range.
    ///
    /// As `iommu_iotlb_gather_is_disjoint()`, with its wrapping arithmetic, written here rather
    /// than called: unmapping runs it once per page, and a call to the C helper costs more than
    /// the comparison.
    #[inline]
    pub fn is_disjoint(&self, iova: usize, size: usize) -> bool {
        let (start, end) = (self.start(), self.end());
        let last = iova.wrapping_add(size).wrapping_sub(1);
        end != 0 && (last.wrapping_add(1) < start || iova > end.wrapping_add(1))
    }

    /// Extends the gathered range to cover `[iova, iova + size)`, as
    /// `iommu_iotlb_gather_add_range()` (see [`IotlbGather::is_disjoint`]).
    #[inline]
    pub fn add_range(&self, iova: usize, size: usize) {
        let last = iova.wrapping_add(size).wrapping_sub(1);
        let g = self.as_raw();
        // SAFETY: The gather is valid and only used by this thread (type invariants).
        unsafe {
            if (*g).start > iova {
                (*g).start = iova;
            }
            if (*g).end < last {
                (*g).end = last;
            }
        }
    }

    /// Adds the leaf entry of `size` bytes at `iova` that was just unmapped, as
    /// `iommu_iotlb_gather_add_page()` does, for page-table flush callbacks that have no domain
    /// at hand.
    ///
    /// The gather records one page size, so that `iotlb_sync` can tell the IOMMU at which level
    /// the leaves were. If it already holds entries of another size, or a range that
    /// `[iova, iova + size)` does not touch, `sync` is first called to invalidate what it holds
    /// (as the domain's `iotlb_sync` would be), and the gather is emptied.
    #[inline]
    pub fn add_page_with(&self, iova: usize, size: usize, sync: impl FnOnce(&IotlbGather)) {
        let pgsize = self.pgsize();
        if (pgsize != 0 && pgsize != size) || self.is_disjoint(iova, size) {
            // As `iommu_iotlb_sync()`: only a range of more than one byte is worth a sync.
            if self.start() < self.end() {
                sync(self);
            }
            // SAFETY: The gather is valid and only used by this thread (type invariants); `sync`
            // has returned and holds no reference into it.
            unsafe { bindings::iommu_iotlb_gather_init(self.as_raw()) };
        }
        // SAFETY: The gather is valid and only used by this thread (type invariants); `pgsize` is
        // the union member of page-based gathers, the one `pgsize()` reads.
        unsafe { (*self.as_raw()).__bindgen_anon_1.pgsize = size };
        self.add_range(iova, size);
    }

    /// Adds a page of `size` bytes at `iova`; if it cannot be merged with the gathered range
    /// (different page size or disjoint), the range is first synced through `domain`.
    pub fn add_page<D: DomainOps>(&self, domain: &Domain<D>, iova: usize, size: usize) {
        // SAFETY: The gather and the domain are valid; a sync re-enters the driver only with
        // shared references.
        unsafe { bindings::iommu_iotlb_gather_add_page(domain.as_raw(), self.as_raw(), iova, size) }
    }
}

// Built with the abstractions' mock, whose KUnit boots run it too.
#[cfg(CONFIG_IOMMU_RS_MOCK)]
#[macros::kunit_tests(rust_iommu_gather)]
mod tests {
    use super::*;
    use pin_init::stack_pin_init;

    /// The Rust range arithmetic gives what the C helpers give, edges and wrap-around included.
    #[test]
    fn ranges_as_c() {
        const MAX: usize = usize::MAX;
        let ranges = [
            (MAX, 0),
            (0x1000, 0x1fff),
            (0x1000, 0x3fff),
            (0, 0xfff),
            (MAX - 0xfff, MAX),
        ];
        let pages = [
            (0, 0x1000),
            (0x2000, 0x1000),
            (0x4000, 0x1000),
            (0x5000, 0x1000),
            (0xfff, 2),
            (MAX - 0xfff, 0x1000),
            (0x20_0000, 0x20_0000),
        ];
        for &(start, end) in &ranges {
            for &(iova, size) in &pages {
                stack_pin_init!(let rust = IotlbGather::new());
                stack_pin_init!(let c = IotlbGather::new());
                let (rust, c) = (&*rust, &*c);
                for g in [rust, c] {
                    // SAFETY: Both gathers are valid and only used by this thread.
                    unsafe {
                        (*g.as_raw()).start = start;
                        (*g.as_raw()).end = end;
                    }
                }
                // SAFETY: The gather is valid and only used by this thread.
                let disjoint =
                    unsafe { bindings::iommu_iotlb_gather_is_disjoint(c.as_raw(), iova, size) };
                assert_eq!(rust.is_disjoint(iova, size), disjoint);
                rust.add_range(iova, size);
                // SAFETY: As above.
                unsafe { bindings::iommu_iotlb_gather_add_range(c.as_raw(), iova, size) };
                assert_eq!((rust.start(), rust.end()), (c.start(), c.end()));
            }
        }
    }
}
