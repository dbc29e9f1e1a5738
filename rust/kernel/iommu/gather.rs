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
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::iommu_iotlb_gather) -> &'a Self {
        // SAFETY: `IotlbGather` is a transparent wrapper of `struct iommu_iotlb_gather`.
        unsafe { &*ptr.cast() }
    }

    pub(crate) fn as_raw(&self) -> *mut bindings::iommu_iotlb_gather {
        self.inner.get()
    }

    /// Returns the first IOVA of the gathered range.
    pub fn start(&self) -> usize {
        // SAFETY: The gather is valid by the type invariants.
        unsafe { (*self.as_raw()).start }
    }

    /// Returns the last IOVA (inclusive) of the gathered range.
    pub fn end(&self) -> usize {
        // SAFETY: The gather is valid by the type invariants.
        unsafe { (*self.as_raw()).end }
    }

    /// Returns `true` if no range has been gathered.
    pub fn is_empty(&self) -> bool {
        self.start() > self.end()
    }

    /// Returns the page size of the gathered unmaps (0 if mixed or none).
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
    pub fn is_disjoint(&self, iova: usize, size: usize) -> bool {
        // SAFETY: The gather is valid by the type invariants.
        unsafe { bindings::iommu_iotlb_gather_is_disjoint(self.as_raw(), iova, size) }
    }

    /// Extends the gathered range to cover `[iova, iova + size)`.
    pub fn add_range(&self, iova: usize, size: usize) {
        // SAFETY: The gather is valid and only used by this thread (type invariants).
        unsafe { bindings::iommu_iotlb_gather_add_range(self.as_raw(), iova, size) }
    }

    /// Adds the leaf entry of `size` bytes at `iova` that was just unmapped, as
    /// `iommu_iotlb_gather_add_page()` does, for page-table flush callbacks that have no domain
    /// at hand.
    ///
    /// The gather records one page size, so that `iotlb_sync` can tell the IOMMU at which level
    /// the leaves were. If it already holds entries of another size, or a range that
    /// `[iova, iova + size)` does not touch, `sync` is first called to invalidate what it holds
    /// (as the domain's `iotlb_sync` would be), and the gather is emptied.
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
