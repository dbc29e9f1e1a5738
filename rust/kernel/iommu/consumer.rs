// SPDX-License-Identifier: GPL-2.0

//! The IOMMU API for kernel code that uses a device's IOMMU (the consumer side).
//!
//! C header: [`include/linux/iommu.h`](srctree/include/linux/iommu.h)

use core::ptr::NonNull;

use crate::{
    alloc::Flags,
    bindings,
    device,
    error::{
        from_err_ptr,
        to_result, //
    },
    io::PhysAddr,
    prelude::*,
    sync::aref::ARef,
    types::Opaque, //
};

use super::{
    Capability,
    DirtyFlags,
    IotlbGather,
    PagingFlags,
    ResvRegion, //
};

/// Returns whether the IOMMU of `dev` has the capability `cap`.
pub fn capable(dev: &device::Device, cap: Capability) -> bool {
    // SAFETY: `dev` is valid.
    unsafe { bindings::device_iommu_capable(dev.as_raw(), cap.as_raw()) }
}

/// Returns the type of the domain `dev` is currently attached to, if any.
pub fn current_domain_type(dev: &device::Device) -> Option<u32> {
    // SAFETY: `dev` is valid; the domain pointer is only read while the device keeps it.
    let domain = unsafe { bindings::iommu_get_domain_for_dev(dev.as_raw()) };
    if domain.is_null() {
        None
    } else {
        // SAFETY: The domain is valid while attached; `type` does not change.
        Some(unsafe { (*domain).type_ })
    }
}

/// Returns the reserved regions of `dev`.
pub fn resv_regions(dev: &device::Device) -> Result<KVec<ResvRegion>> {
    let head = Opaque::<bindings::list_head>::uninit();
    let head = head.get();
    // SAFETY: `head` is valid for writes and is not moved until the list is released below.
    unsafe {
        bindings::INIT_LIST_HEAD(head);
        bindings::iommu_get_resv_regions(dev.as_raw(), head);
    }
    let mut regions = KVec::new();
    let mut result = Ok(());
    // SAFETY: The list is valid; its entries are `struct iommu_resv_region`s linked by `list`.
    let mut pos = unsafe { (*head).next };
    while pos != head {
        // SAFETY: `pos` is the `list` member of a valid region.
        let region = unsafe { crate::container_of!(pos, bindings::iommu_resv_region, list) };
        // SAFETY: `region` is valid.
        if let Some(r) = unsafe { ResvRegion::from_raw(region) } {
            if let Err(e) = regions.push(r, GFP_KERNEL) {
                result = Err(e.into());
            }
        }
        // SAFETY: `pos` is a valid list entry.
        pos = unsafe { (*pos).next };
    }
    // SAFETY: The list was filled by `iommu_get_resv_regions` and is released once.
    unsafe { bindings::iommu_put_resv_regions(dev.as_raw(), head) };
    result.map(|()| regions)
}

/// A paging domain owned by its user (`iommu_paging_domain_alloc_flags()`).
///
/// Dropping it frees the domain. While it is not attached to a device, nothing can access the
/// memory it maps, so mapping is safe; attaching it hands the mappings to a device, which is
/// why [`PagingDomain::attach`] is `unsafe` (see [`testing::TestClient::attach`] for devices
/// that do no DMA). An attached domain is owned by an [`AttachedDomain`], so that it cannot be
/// freed while in use.
///
/// Map and unmap take `&mut self`: the IOMMU API requires its users to serialise changes to
/// overlapping ranges.
///
/// [`testing::TestClient::attach`]: super::testing::TestClient::attach
///
/// # Invariants
///
/// `ptr` is a paging domain allocated by the core, owned by this object and attached to no
/// device.
pub struct PagingDomain {
    ptr: NonNull<bindings::iommu_domain>,
}

// SAFETY: The IOMMU API may be used on a domain from any thread.
unsafe impl Send for PagingDomain {}
// SAFETY: The methods taking `&self` (lookup, flushes) may be called concurrently; the driver
// synchronises them.
unsafe impl Sync for PagingDomain {}

impl PagingDomain {
    /// Allocates a paging domain suitable for `dev`.
    pub fn alloc(dev: &device::Device, flags: PagingFlags) -> Result<Self> {
        // SAFETY: `dev` is valid; the call returns a domain or an error pointer.
        let ptr = from_err_ptr(unsafe {
            bindings::iommu_paging_domain_alloc_flags(dev.as_raw(), flags.as_raw())
        })?;
        // INVARIANT: The core allocated the domain for us; it is not attached.
        Ok(Self {
            ptr: NonNull::new(ptr).ok_or(ENOMEM)?,
        })
    }

    fn as_raw(&self) -> *mut bindings::iommu_domain {
        self.ptr.as_ptr()
    }

    /// Returns the domain type.
    pub fn domain_type(&self) -> u32 {
        // SAFETY: The domain is valid by the type invariants.
        unsafe { (*self.as_raw()).type_ }
    }

    /// Returns `true` if `dev` is currently attached to this domain.
    pub fn is_current_for(&self, dev: &device::Device) -> bool {
        // SAFETY: `dev` is valid.
        unsafe { bindings::iommu_get_domain_for_dev(dev.as_raw()) == self.as_raw() }
    }

    /// Attaches the domain to `dev` (which must be alone in its group).
    ///
    /// # Safety
    ///
    /// For as long as the domain is attached, the device may access the memory of every mapping
    /// of the domain, present and future, with the mapping's permissions; the caller must ensure
    /// that this is acceptable.
    pub unsafe fn attach(self, dev: &device::Device) -> Result<AttachedDomain> {
        // SAFETY: The domain and the device are valid.
        to_result(unsafe { bindings::iommu_attach_device(self.as_raw(), dev.as_raw()) })?;
        // INVARIANT: The domain is now attached to `dev`.
        Ok(AttachedDomain {
            domain: self,
            dev: dev.into(),
        })
    }

    /// Maps `size` bytes at `iova` to `paddr` with `IOMMU_*` protection `prot`.
    ///
    /// The domain is not attached, so the mapping is not usable by any device until the domain is
    /// attached.
    pub fn map(
        &mut self,
        iova: usize,
        paddr: PhysAddr,
        size: usize,
        prot: u32,
        gfp: Flags,
    ) -> Result {
        // SAFETY: No device can use the domain (type invariants) and `&mut self` serialises
        // changes to the page table.
        unsafe { self.map_raw(iova, paddr, size, prot, gfp) }
    }

    /// # Safety
    ///
    /// The caller must ensure that the devices attached to the domain may access the mapped
    /// memory, and serialise changes to overlapping ranges.
    unsafe fn map_raw(
        &self,
        iova: usize,
        paddr: PhysAddr,
        size: usize,
        prot: u32,
        gfp: Flags,
    ) -> Result {
        // CAST: `prot` holds `IOMMU_*` bit flags.
        let prot = prot as c_int;
        // SAFETY: The domain is valid; the rest is guaranteed by the caller.
        to_result(unsafe {
            bindings::iommu_map(self.as_raw(), iova, paddr, size, prot, gfp.as_raw())
        })
    }

    /// Unmaps `size` bytes at `iova` and invalidates them; returns the number of bytes unmapped.
    pub fn unmap(&mut self, iova: usize, size: usize) -> usize {
        // SAFETY: The domain is valid; `&mut self` serialises changes to the page table.
        unsafe { bindings::iommu_unmap(self.as_raw(), iova, size) }
    }

    /// Unmaps `size` bytes at `iova`, gathering the invalidation in `gather` (see
    /// [`PagingDomain::iotlb_sync`]); returns the number of bytes unmapped.
    pub fn unmap_fast(&mut self, iova: usize, size: usize, gather: &IotlbGather) -> usize {
        // SAFETY: The domain and the gather are valid; `&mut self` serialises changes.
        unsafe { bindings::iommu_unmap_fast(self.as_raw(), iova, size, gather.as_raw()) }
    }

    /// Invalidates what `gather` collected and resets it.
    pub fn iotlb_sync(&self, gather: &IotlbGather) {
        // SAFETY: The domain and the gather are valid.
        unsafe { bindings::iommu_iotlb_sync(self.as_raw(), gather.as_raw()) }
    }

    /// Invalidates all IOTLB entries of the domain.
    pub fn flush_iotlb_all(&self) {
        // SAFETY: The domain is valid.
        unsafe { bindings::iommu_flush_iotlb_all(self.as_raw()) }
    }

    /// Translates `iova`; returns 0 if it is not mapped.
    pub fn iova_to_phys(&self, iova: u64) -> PhysAddr {
        // SAFETY: The domain is valid.
        unsafe { bindings::iommu_iova_to_phys(self.as_raw(), iova) }
    }

    /// Enables or disables dirty tracking (`EOPNOTSUPP` if the domain has no dirty tracking).
    pub fn set_dirty_tracking(&self, enabled: bool) -> Result {
        // SAFETY: The domain is valid; `dirty_ops` is constant after allocation.
        let ops = unsafe { (*self.as_raw()).dirty_ops };
        // SAFETY: `ops` is NULL or a valid ops table.
        let Some(set) = (unsafe { ops.as_ref() }).and_then(|o| o.set_dirty_tracking) else {
            return Err(EOPNOTSUPP);
        };
        // SAFETY: The domain is valid and has these dirty ops.
        to_result(unsafe { set(self.as_raw(), enabled) })
    }

    /// Reads (and, unless `flags` has [`DirtyFlags::NO_CLEAR`], clears) the dirty state of
    /// `[iova, iova + size)`; the dirty ranges are added to `gather`.
    pub fn read_and_clear_dirty(
        &mut self,
        iova: usize,
        size: usize,
        flags: DirtyFlags,
        gather: &IotlbGather,
    ) -> Result {
        // SAFETY: The domain is valid; `dirty_ops` is constant after allocation.
        let ops = unsafe { (*self.as_raw()).dirty_ops };
        // SAFETY: `ops` is NULL or a valid ops table.
        let Some(read) = (unsafe { ops.as_ref() }).and_then(|o| o.read_and_clear_dirty) else {
            return Err(EOPNOTSUPP);
        };
        let dirty = Opaque::<bindings::iommu_dirty_bitmap>::uninit();
        // SAFETY: `dirty` is valid for writes. Passing the gather re-initialises it.
        unsafe {
            bindings::iommu_dirty_bitmap_init(dirty.get(), core::ptr::null_mut(), gather.as_raw())
        };
        // SAFETY: The domain has these dirty ops; `dirty` is initialised and outlives the call;
        // `&mut self` serialises the walk with changes to the page table.
        to_result(unsafe { read(self.as_raw(), iova, size, flags.as_raw(), dirty.get()) })
    }
}

impl Drop for PagingDomain {
    fn drop(&mut self) {
        // SAFETY: We own the domain and it is not attached (type invariants).
        unsafe { bindings::iommu_domain_free(self.as_raw()) };
    }
}

/// A [`PagingDomain`] attached to a device; dropping it detaches and frees the domain.
///
/// Leaking it leaks the domain and leaves the device attached, which is safe.
///
/// # Invariants
///
/// `domain` is attached to `dev` (the only exception to the invariants of [`PagingDomain`]).
pub struct AttachedDomain {
    domain: PagingDomain,
    dev: ARef<device::Device>,
}

impl AttachedDomain {
    /// Maps `size` bytes at `iova` to `paddr` with `IOMMU_*` protection `prot`.
    ///
    /// # Safety
    ///
    /// The attached device may access `[paddr, paddr + size)` with the permissions `prot` until
    /// it is unmapped; the caller must ensure that this is acceptable.
    pub unsafe fn map(
        &mut self,
        iova: usize,
        paddr: PhysAddr,
        size: usize,
        prot: u32,
        gfp: Flags,
    ) -> Result {
        // SAFETY: Guaranteed by the caller; `&mut self` serialises changes.
        unsafe { self.domain.map_raw(iova, paddr, size, prot, gfp) }
    }

    /// Unmaps `size` bytes at `iova` and invalidates them; returns the number of bytes unmapped.
    pub fn unmap(&mut self, iova: usize, size: usize) -> usize {
        self.domain.unmap(iova, size)
    }

    /// Unmaps `size` bytes at `iova`, gathering the invalidation in `gather`.
    pub fn unmap_fast(&mut self, iova: usize, size: usize, gather: &IotlbGather) -> usize {
        self.domain.unmap_fast(iova, size, gather)
    }

    /// See [`PagingDomain::read_and_clear_dirty`].
    pub fn read_and_clear_dirty(
        &mut self,
        iova: usize,
        size: usize,
        flags: DirtyFlags,
        gather: &IotlbGather,
    ) -> Result {
        self.domain.read_and_clear_dirty(iova, size, flags, gather)
    }

    /// Detaches the domain (the device goes back to its default domain) and returns it.
    pub fn detach(self) -> PagingDomain {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again after its fields are moved out.
        let (domain, dev) = unsafe { (core::ptr::read(&this.domain), core::ptr::read(&this.dev)) };
        // SAFETY: The domain is attached to `dev`.
        unsafe { bindings::iommu_detach_device(domain.as_raw(), dev.as_raw()) };
        // INVARIANT: The domain is no longer attached.
        domain
    }
}

impl core::ops::Deref for AttachedDomain {
    type Target = PagingDomain;

    fn deref(&self) -> &PagingDomain {
        &self.domain
    }
}

impl Drop for AttachedDomain {
    fn drop(&mut self) {
        // SAFETY: The domain is attached to `dev`; the domain itself is freed when the
        // `PagingDomain` field is dropped right after, detached as its invariants require.
        unsafe { bindings::iommu_detach_device(self.domain.as_raw(), self.dev.as_raw()) };
    }
}

/// DMA ownership of a device's group (`iommu_device_claim_dma_owner()`).
///
/// While it is held the group is attached to its blocking domain (unless the owner attaches
/// something else) and the DMA API must not be used on its devices.
///
/// # Invariants
///
/// DMA ownership of `dev` is claimed with the cookie `DMA_OWNER_COOKIE`.
pub struct DmaOwner<'a> {
    dev: &'a device::Device,
}

/// The owner cookie of [`DmaOwner`].
static DMA_OWNER_COOKIE: u8 = 0;

impl<'a> DmaOwner<'a> {
    /// Claims DMA ownership of `dev`'s group.
    pub fn claim(dev: &'a device::Device) -> Result<Self> {
        let cookie = (&raw const DMA_OWNER_COOKIE).cast_mut().cast();
        // SAFETY: `dev` is valid; the cookie is a non-NULL static address.
        to_result(unsafe { bindings::iommu_device_claim_dma_owner(dev.as_raw(), cookie) })?;
        // INVARIANT: Ownership was claimed.
        Ok(Self { dev })
    }
}

impl Drop for DmaOwner<'_> {
    fn drop(&mut self) {
        // SAFETY: Ownership was claimed in `claim`.
        unsafe { bindings::iommu_device_release_dma_owner(self.dev.as_raw()) };
    }
}
