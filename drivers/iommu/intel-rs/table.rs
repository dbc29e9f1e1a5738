// SPDX-License-Identifier: GPL-2.0

//! The DMAR table, kept after init: devices probed later (hot plug, a driver rebound) are
//! looked up in it, for the unit that translates them (its DRHD's device scopes) and the
//! reserved memory regions they use.
//!
//! C reference: `dmar_find_matched_drhd_unit()` and `device_lookup_iommu()` in
//! [`drivers/iommu/intel/`](srctree/drivers/iommu/intel/).

use kernel::{
    prelude::*,
    sync::SetOnce, //
};

use crate::hw::dmar::{
    Dmar,
    UnitMatch, //
};

/// The DMAR table, copied at init once it was validated.
static TABLE: SetOnce<KVec<u8>> = SetOnce::new();

/// Keeps a copy of the validated DMAR table `dmar`. Called once.
pub(crate) fn keep(dmar: &Dmar<'_>) -> Result {
    let mut copy = KVec::with_capacity(dmar.bytes().len(), GFP_KERNEL)?;
    copy.extend_from_slice(dmar.bytes(), GFP_KERNEL)?;
    if !TABLE.populate(copy) {
        return Err(EBUSY);
    }
    Ok(())
}

/// The kept table; `None` before [`keep`].
pub(crate) fn get() -> Option<Dmar<'static>> {
    // The copy was validated before it was kept.
    Dmar::new(TABLE.as_ref()?).ok()
}

/// The unit that translates the PCI device of `segment` whose chain from its root bus down to
/// itself is `hops` ([`Dmar::drhd_for`]): its DRHD's index among the table's DRHDs (the `N`
/// of `dmar<N>`) and how it matched. `None` if no unit does, or before [`keep`].
pub(crate) fn unit_for(segment: u16, hops: &[(u8, u8, u8)]) -> Option<(usize, UnitMatch)> {
    get()?.drhd_for(segment, hops).map(|(i, _, m)| (i, m))
}

/// Whether the firmware lets the PCI device of `segment` with the chain `hops` from its root
/// bus, whose PCI Express types are `pcie_types`, use ATS ([`Dmar::ats_supported`]); `false`
/// before [`keep`].
pub(crate) fn ats_supported(
    segment: u16,
    hops: &[(u8, u8, u8)],
    pcie_types: &[Option<u8>],
) -> bool {
    get().is_some_and(|d| d.ats_supported(segment, hops, pcie_types))
}
