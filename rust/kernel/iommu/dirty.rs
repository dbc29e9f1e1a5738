// SPDX-License-Identifier: GPL-2.0

//! Dirty page tracking (`struct iommu_dirty_bitmap`).
//!
//! C header: [`include/linux/iommu.h`](srctree/include/linux/iommu.h)

use crate::{
    bindings,
    types::Opaque, //
};

/// Flags of [`DomainOps::read_and_clear_dirty`](super::DomainOps::read_and_clear_dirty).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DirtyFlags(usize);

impl DirtyFlags {
    /// No flags: read the dirty state and clear it.
    pub const NONE: Self = Self(0);
    /// Only read the dirty state, do not clear it (`IOMMU_DIRTY_NO_CLEAR`).
    pub const NO_CLEAR: Self = Self(bindings::IOMMU_DIRTY_NO_CLEAR as usize);

    pub(crate) fn from_raw(flags: usize) -> Self {
        Self(flags)
    }

    pub(crate) fn as_raw(self) -> usize {
        self.0
    }

    /// Returns `true` if all flags of `other` are set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

/// The recorder of dirty IOVA ranges given to `read_and_clear_dirty`.
///
/// Recording a range marks it in the caller's IOVA bitmap (if any) and adds it to the caller's
/// IOTLB gather (if any), so that the cleared dirty bits are invalidated afterwards.
///
/// # Invariants
///
/// The wrapped `struct iommu_dirty_bitmap` is valid and only used by the current thread.
#[repr(transparent)]
pub struct DirtyBitmap(Opaque<bindings::iommu_dirty_bitmap>);

impl DirtyBitmap {
    /// # Safety
    ///
    /// `ptr` must point to a valid dirty bitmap that no other thread uses for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::iommu_dirty_bitmap) -> &'a Self {
        // SAFETY: `DirtyBitmap` is a transparent wrapper of `struct iommu_dirty_bitmap`.
        unsafe { &*ptr.cast() }
    }

    pub(crate) fn as_raw(&self) -> *mut bindings::iommu_dirty_bitmap {
        self.0.get()
    }

    /// Returns `true` if recorded ranges reach a caller's bitmap. iommufd's walk that clears
    /// the dirty state before it turns tracking on passes none: it only clears.
    pub fn reports(&self) -> bool {
        // SAFETY: The bitmap is valid and only used by this thread (type invariants).
        !unsafe { (*self.0.get()).bitmap }.is_null()
    }

    /// Records `[iova, iova + length)` as dirty.
    pub fn record(&self, iova: usize, length: usize) {
        // SAFETY: The bitmap is valid and only used by this thread (type invariants).
        unsafe { bindings::iommu_dirty_bitmap_record(self.0.get(), iova, length) }
    }
}
