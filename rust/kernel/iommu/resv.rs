// SPDX-License-Identifier: GPL-2.0

//! Reserved IOVA regions (`struct iommu_resv_region`).
//!
//! C header: [`include/linux/iommu.h`](srctree/include/linux/iommu.h)

use super::{
    ClientDevice,
    Ops, //
};
use crate::{
    alloc::flags,
    bindings,
    device::Device,
    io::PhysAddr,
    prelude::*,
    types::Opaque, //
};

/// The type of a reserved region (`enum iommu_resv_type`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum ResvType {
    /// Memory regions which must be mapped 1:1 at all times.
    Direct = bindings::iommu_resv_type_IOMMU_RESV_DIRECT,
    /// Memory regions which must be mapped 1:1 but may be relaxed for device assignment.
    DirectRelaxable = bindings::iommu_resv_type_IOMMU_RESV_DIRECT_RELAXABLE,
    /// Arbitrary "never map this or give it to a device" address ranges.
    Reserved = bindings::iommu_resv_type_IOMMU_RESV_RESERVED,
    /// Hardware MSI region (untranslated).
    Msi = bindings::iommu_resv_type_IOMMU_RESV_MSI,
    /// Software-managed MSI translation window.
    SwMsi = bindings::iommu_resv_type_IOMMU_RESV_SW_MSI,
}

impl ResvType {
    fn from_raw(raw: u32) -> Option<Self> {
        [
            Self::Direct,
            Self::DirectRelaxable,
            Self::Reserved,
            Self::Msi,
            Self::SwMsi,
        ]
        .into_iter()
        .find(|t| *t as u32 == raw)
    }
}

/// The list of reserved regions of a device, filled by
/// [`Ops::get_resv_regions`](super::Ops::get_resv_regions).
///
/// # Invariants
///
/// The wrapped list head is valid and only used by the current thread.
#[repr(transparent)]
pub struct ResvRegions(Opaque<bindings::list_head>);

impl ResvRegions {
    /// # Safety
    ///
    /// `ptr` must be a valid list head that no other thread uses for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::list_head) -> &'a Self {
        // SAFETY: `ResvRegions` is a transparent wrapper of `struct list_head`.
        unsafe { &*ptr.cast() }
    }

    /// Adds a region of `length` bytes at `start` with `IOMMU_*` protection `prot`.
    pub fn add(&self, start: PhysAddr, length: usize, prot: u32, kind: ResvType) -> Result {
        // CAST: `prot` holds `IOMMU_*` bit flags, which fit in `c_int`.
        let prot = prot as c_int;
        // SAFETY: Plain allocation; returns NULL on failure.
        let region = unsafe {
            bindings::iommu_alloc_resv_region(
                start,
                length,
                prot,
                kind as u32,
                flags::GFP_KERNEL.as_raw(),
            )
        };
        if region.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `region` is a new region; the list is valid and ours (type invariants). The
        // core frees the regions of the list with `iommu_put_resv_regions`.
        unsafe { bindings::list_add_tail(&raw mut (*region).list, self.0.get()) };
        Ok(())
    }

    /// Adds the regions the firmware describes for `dev` (`iommu_dma_get_resv_regions()`):
    /// device tree `memory-region`s with `iommu-addresses` (e.g. a framebuffer the boot loader
    /// left scanning out), and on ACPI the IORT's reserved memory ranges.
    ///
    /// Does nothing for a device without an fwspec, which names no firmware node to look in.
    pub fn add_firmware_regions<T: Ops>(&self, dev: &ClientDevice<T>) {
        if dev.fwspec().is_none() {
            return;
        }
        let dev: &Device = dev.as_ref();
        // SAFETY: `dev` is valid and has an fwspec, which the helper dereferences; the list is
        // valid and ours (type invariants). Regions are added with `list_add_tail` and freed by
        // the core with the list.
        unsafe { bindings::iommu_dma_get_resv_regions(dev.as_raw(), self.0.get()) };
    }
}

/// A reserved region, as returned by [`consumer::resv_regions`](super::consumer::resv_regions).
#[derive(Clone, Copy, Debug)]
pub struct ResvRegion {
    /// Start address.
    pub start: PhysAddr,
    /// Length in bytes.
    pub length: usize,
    /// `IOMMU_*` protection.
    pub prot: u32,
    /// Region type.
    pub kind: ResvType,
}

impl ResvRegion {
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct iommu_resv_region`.
    pub(crate) unsafe fn from_raw(ptr: *const bindings::iommu_resv_region) -> Option<Self> {
        // SAFETY: The region is valid.
        let r = unsafe { &*ptr };
        Some(Self {
            start: r.start,
            length: r.length,
            // CAST: `prot` holds `IOMMU_*` bit flags.
            prot: r.prot as u32,
            kind: ResvType::from_raw(r.type_)?,
        })
    }
}
