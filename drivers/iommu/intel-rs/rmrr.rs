// SPDX-License-Identifier: GPL-2.0

//! The reserved memory regions of the DMAR table (RMRRs): memory that firmware has devices DMA
//! to (a USB controller's legacy keyboard emulation, a graphics device's stolen memory), which
//! must stay identity mapped for the devices in their scopes.
//!
//! The driver reports them as `IOMMU_RESV_DIRECT` regions of those devices; the IOMMU core then
//! maps them 1:1 in every DMA domain the device gets and refuses to block the device. Those of
//! USB and display controllers are `IOMMU_RESV_DIRECT_RELAXABLE`, as in C
//! ([`crate::hw::dmar::rmrr_relaxable`]): still mapped 1:1 in the device's DMA domains, but the
//! core lets VFIO and iommufd assign such a device.
//!
//! C reference: `dmar_parse_one_rmrr()` in
//! [`drivers/iommu/intel/iommu.c`](srctree/drivers/iommu/intel/iommu.c) and the RMRR part of
//! `intel_iommu_get_resv_regions()`.

use kernel::prelude::*;

use crate::{
    hw::dmar::{
        rmrr_relaxable,
        Dmar,
        PathMatch,
        Structure, //
    },
    table, //
};

/// A reserved memory region a device uses.
#[derive(Clone, Copy)]
pub(crate) struct Region {
    /// The first byte.
    pub(crate) base: u64,
    /// The last byte.
    pub(crate) end: u64,
    /// The scope named the device only through the firmware bug `PathMatch::Broken`.
    pub(crate) broken_path: bool,
    /// The device is of a class whose RMRRs are relaxable.
    pub(crate) relaxable: bool,
}

/// Logs the RMRRs of the DMAR table `dmar`; those that are not 4KB aligned or empty as
/// firmware bugs, and are still honoured, as C's `rmrr_sanity_check()`.
pub(crate) fn log(dmar: &Dmar<'_>) {
    for s in dmar.structures() {
        if let Ok(Structure::Rmrr(r)) = s {
            let sane = r.is_sane();
            pr_info!(
                "RMRR [{:#x}-{:#x}] on segment {}, {} device scope(s){}\n",
                r.base,
                r.end,
                r.segment,
                r.scopes.count(),
                if sane {
                    ""
                } else {
                    " (firmware bug: not 4KB aligned or empty; honoured anyway, as C does)"
                }
            );
        }
    }
}

/// The RMRRs of PCI `segment` that the device of PCI class `class` whose chain from its root
/// bus down to itself is `hops` uses ([`crate::hw::dmar::Scope::covers`]). None before
/// [`table::keep`].
pub(crate) fn regions_for(segment: u16, hops: &[(u8, u8, u8)], class: u32) -> Result<KVec<Region>> {
    let mut regions = KVec::new();
    let Some(dmar) = table::get() else {
        return Ok(regions);
    };
    for (r, m) in dmar.rmrrs_for(segment, hops) {
        if r.end < r.base {
            // No region to report (an empty range is a firmware bug, logged at init).
            continue;
        }
        regions.push(
            Region {
                base: r.base,
                end: r.end,
                broken_path: m == PathMatch::Broken,
                relaxable: rmrr_relaxable(class),
            },
            GFP_KERNEL,
        )?;
    }
    Ok(regions)
}
