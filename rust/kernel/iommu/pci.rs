// SPDX-License-Identifier: GPL-2.0

//! PCI capabilities that an IOMMU driver manages for its client devices: PASID, ATS and PRI.
//!
//! C header: [`include/linux/pci-ats.h`](srctree/include/linux/pci-ats.h)

use crate::{
    bindings,
    container_of,
    device,
    error::to_result,
    pci,
    prelude::*,
    sync::aref::ARef, //
};

/// Returns the `struct pci_dev` of `pdev`.
fn raw(pdev: &pci::Device) -> *mut bindings::pci_dev {
    let dev: &device::Device = pdev.as_ref();
    // SAFETY: A `pci::Device` wraps a valid `struct pci_dev`, whose `dev` member is the device
    // `as_ref` returns.
    unsafe { container_of!(dev.as_raw(), bindings::pci_dev, dev) }
}

/// The PASID capability of a PCI function, enabled (`pci_enable_pasid`) for as long as this
/// value lives and disabled when it is dropped.
///
/// IOMMU drivers enable it when they take a device (before ATS, which the PCIe specification
/// requires to be enabled after PASID and disabled before it) and drop it when they release the
/// device.
///
/// # Invariants
///
/// PASID is enabled on `pdev`, by this value.
pub struct Pasid {
    pdev: ARef<pci::Device>,
    max_pasids: u32,
}

impl Pasid {
    /// Enables the PASID capability of `pdev` with every feature it offers (execute and
    /// privileged mode requests); `None` if the function has no PASID capability (for a
    /// virtual function: if its physical function has none).
    ///
    /// # Errors
    ///
    /// - `EINVAL` if the path to the root complex cannot carry PASID TLP prefixes or lacks the
    ///   ACS that PASIDs need, or (for a virtual function) if its physical function does not
    ///   have PASID enabled;
    /// - `EBUSY` if PASID is already enabled on the function.
    pub fn enable(pdev: &pci::Device) -> Result<Option<Self>> {
        let raw = raw(pdev);
        // SAFETY: `raw` is a valid `struct pci_dev`.
        let features = unsafe { bindings::pci_pasid_features(raw) };
        if features < 0 {
            // The only error: no PASID capability.
            return Ok(None);
        }
        // SAFETY: `raw` is a valid `struct pci_dev`; the PASID fields are only changed by
        // `pci_enable_pasid()` and `pci_disable_pasid()`, which IOMMU drivers call while they
        // own the device.
        if unsafe { (*raw).is_virtfn() } == 0 && unsafe { (*raw).pasid_enabled() } != 0 {
            return Err(EBUSY);
        }
        // SAFETY: `raw` is a valid `struct pci_dev`.
        let max = unsafe { bindings::pci_max_pasids(raw) };
        to_result(max)?;
        let max_pasids = u32::try_from(max).map_err(|_| EINVAL)?;
        // SAFETY: `raw` is a valid `struct pci_dev` without PASID enabled (checked above); the
        // features are the ones the function reports.
        to_result(unsafe { bindings::pci_enable_pasid(raw, features) })?;
        // INVARIANT: PASID was just enabled.
        Ok(Some(Self {
            pdev: pdev.into(),
            max_pasids,
        }))
    }

    /// The number of PASIDs the function can issue (`2^width` of its PASID capability).
    pub fn max_pasids(&self) -> u32 {
        self.max_pasids
    }
}

impl Drop for Pasid {
    fn drop(&mut self) {
        // SAFETY: `pdev` is a valid `struct pci_dev` on which this value enabled PASID (type
        // invariants).
        unsafe { bindings::pci_disable_pasid(raw(&self.pdev)) };
    }
}

/// The ATS capability of a PCI function, prepared for an IOMMU's smallest page size
/// (`pci_prepare_ats`) while this value lives; [`Ats::enable`] lets the function cache
/// translations, which the IOMMU driver must then invalidate. Dropping it disables ATS.
///
/// The PCIe specification wants ATS enabled after PASID and disabled before it: keep this value
/// after the [`Pasid`] of the same function, so that it is dropped first.
///
/// # Invariants
///
/// `pdev` supports ATS and was prepared for `page_shift`.
pub struct Ats {
    pdev: ARef<pci::Device>,
    page_shift: i32,
}

impl Ats {
    /// Prepares the ATS capability of `pdev` for translations of `2^page_shift` bytes at least
    /// (the Smallest Translation Unit); `None` if the function cannot use ATS (no capability,
    /// or an untrusted device).
    ///
    /// # Errors
    ///
    /// - `EBUSY` if ATS is already enabled on the function;
    /// - `EINVAL` if `page_shift` is below the 4 KiB minimum, or (for a virtual function) if
    ///   its physical function was prepared for another size.
    pub fn prepare(pdev: &pci::Device, page_shift: u32) -> Result<Option<Self>> {
        let raw = raw(pdev);
        // SAFETY: `raw` is a valid `struct pci_dev`.
        if !unsafe { bindings::pci_ats_supported(raw) } {
            return Ok(None);
        }
        // SAFETY: `raw` is a valid `struct pci_dev`; the ATS fields are only changed by the
        // `pci_*_ats()` functions, which IOMMU drivers call while they own the device.
        if unsafe { (*raw).ats_enabled() } != 0 {
            return Err(EBUSY);
        }
        let page_shift = i32::try_from(page_shift)?;
        // SAFETY: `raw` is a valid `struct pci_dev` that supports ATS, not enabled.
        to_result(unsafe { bindings::pci_prepare_ats(raw, page_shift) })?;
        // INVARIANT: Prepared for `page_shift` just now.
        Ok(Some(Self {
            pdev: pdev.into(),
            page_shift,
        }))
    }

    /// Whether `pdev` needs ATS for basic operation (`pci_ats_required`): it caches host
    /// memory by physical address (CXL.cache and devices with the same need), so that its ATS
    /// must stay on whatever its translation, bypass included.
    pub fn required(pdev: &pci::Device) -> bool {
        // SAFETY: `raw(pdev)` is a valid `struct pci_dev`.
        unsafe { bindings::pci_ats_required(raw(pdev)) }
    }

    /// The depth of the function's invalidate queue (`pci_ats_queue_depth`): how many ATS
    /// invalidation requests it takes at once, 1 to 32; 0 for a virtual function, which
    /// shares its physical function's. The IOMMU's invalidation descriptors carry it.
    pub fn queue_depth(&self) -> u8 {
        // SAFETY: `pdev` is a valid `struct pci_dev` that supports ATS (type invariants).
        let depth = unsafe { bindings::pci_ats_queue_depth(raw(&self.pdev)) };
        // Only a function without ATS gets an error (negative), which `pdev` is not.
        u8::try_from(depth).unwrap_or(0)
    }

    /// Whether the function's untranslated requests are page aligned (the ATS capability's
    /// Page Aligned Request bit, `pci_ats_page_aligned`), which VT-d needs for ATS.
    pub fn page_aligned(&self) -> bool {
        // SAFETY: `pdev` is a valid `struct pci_dev` that supports ATS (type invariants).
        unsafe { bindings::pci_ats_page_aligned(raw(&self.pdev)) != 0 }
    }

    /// Whether ATS is enabled on the function.
    pub fn is_enabled(&self) -> bool {
        // SAFETY: `pdev` is a valid `struct pci_dev`.
        unsafe { (*raw(&self.pdev)).ats_enabled() != 0 }
    }

    /// Enables ATS: from now on the function may cache translations. Does nothing if it is
    /// enabled already.
    ///
    /// # Errors
    ///
    /// `EINVAL` for a virtual function whose physical function was prepared for another size.
    pub fn enable(&self) -> Result {
        if self.is_enabled() {
            return Ok(());
        }
        // SAFETY: `pdev` is a valid `struct pci_dev`, supports ATS (type invariants) and does
        // not have it enabled.
        to_result(unsafe { bindings::pci_enable_ats(raw(&self.pdev), self.page_shift) })
    }

    /// Disables ATS: the function stops issuing translation requests and translated
    /// transactions. Its ATC must still be invalidated afterwards. Does nothing if ATS is
    /// disabled.
    pub fn disable(&self) {
        if self.is_enabled() {
            // SAFETY: `pdev` is a valid `struct pci_dev` with ATS enabled.
            unsafe { bindings::pci_disable_ats(raw(&self.pdev)) };
        }
    }
}

impl Drop for Ats {
    fn drop(&mut self) {
        self.disable();
    }
}

/// The Page Request Interface of a PCI function, enabled (`pci_enable_pri`) for as long as this
/// value lives and disabled when it is dropped: the function may then ask its IOMMU to make
/// pages present (PCIe Page Requests) instead of failing a translation.
///
/// The PCIe specification wants PRI used with ATS, which the function's translation requests
/// need: enable it after [`Ats`] and keep this value after it, so that it is dropped first.
///
/// # Invariants
///
/// PRI is enabled on `pdev`, by this value.
#[cfg(CONFIG_PCI_PRI)]
pub struct Pri {
    pdev: ARef<pci::Device>,
    response_needs_pasid: bool,
}

#[cfg(CONFIG_PCI_PRI)]
impl Pri {
    /// Whether `pdev` has a Page Request Interface (for a virtual function: its physical
    /// function has one).
    pub fn supported(pdev: &pci::Device) -> bool {
        // SAFETY: `raw` is a valid `struct pci_dev`.
        unsafe { bindings::pci_pri_supported(raw(pdev)) }
    }

    /// Resets the function's Page Request Interface, forgetting the requests it has
    /// outstanding, and enables it with room for `requests` outstanding page requests.
    ///
    /// # Errors
    ///
    /// - `EINVAL` if the function has no PRI capability;
    /// - `EBUSY` if PRI is enabled already, or the interface is not stopped;
    /// - for a virtual function, `EINVAL` if its physical function does not have PRI enabled.
    pub fn enable(pdev: &pci::Device, requests: u32) -> Result<Self> {
        let raw = raw(pdev);
        // SAFETY: `raw` is a valid `struct pci_dev`; the PRI fields are only changed by the
        // `pci_*_pri()` functions, which IOMMU drivers call while they own the device.
        if unsafe { (*raw).pri_enabled() } != 0 {
            return Err(EBUSY);
        }
        // SAFETY: `raw` is a valid `struct pci_dev` without PRI enabled.
        to_result(unsafe { bindings::pci_reset_pri(raw) })?;
        // SAFETY: As above.
        to_result(unsafe { bindings::pci_enable_pri(raw, requests) })?;
        // SAFETY: `raw` is a valid `struct pci_dev`.
        let response_needs_pasid = unsafe { bindings::pci_prg_resp_pasid_required(raw) } != 0;
        // INVARIANT: PRI was just enabled.
        Ok(Self {
            pdev: pdev.into(),
            response_needs_pasid,
        })
    }

    /// Whether the function wants the PASID of a request back in the response to its group
    /// (PRG Response PASID Required).
    pub fn response_needs_pasid(&self) -> bool {
        self.response_needs_pasid
    }
}

#[cfg(CONFIG_PCI_PRI)]
impl Drop for Pri {
    fn drop(&mut self) {
        // SAFETY: `pdev` is a valid `struct pci_dev` on which this value enabled PRI (type
        // invariants).
        unsafe { bindings::pci_disable_pri(raw(&self.pdev)) };
    }
}

/// Returns the requester IDs the DMA of `pdev` may carry: its own and those of its DMA aliases
/// (the bridges and quirks between it and the root complex that take over or add requester
/// IDs), as `pci_for_each_dma_alias()` walks them, each once, the function's own first. An
/// IOMMU that translates by requester ID (VT-d, AMD-Vi) must set up the translation of every
/// one of them.
///
/// The IDs are bus number (bits 15:8) and devfn (bits 7:0) on the function's PCI segment.
pub fn dma_aliases(pdev: &pci::Device) -> Result<KVec<u16>> {
    extern "C" fn collect(_pdev: *mut bindings::pci_dev, alias: u16, data: *mut c_void) -> c_int {
        // SAFETY: `data` is the `KVec` that `dma_aliases()` passes, exclusively borrowed for
        // the walk, which calls this on the walking thread.
        let ids = unsafe { &mut *data.cast::<KVec<u16>>() };
        if ids.contains(&alias) {
            return 0;
        }
        match ids.push(alias, GFP_KERNEL) {
            Ok(()) => 0,
            Err(_) => ENOMEM.to_errno(),
        }
    }

    let mut ids = KVec::new();
    // SAFETY: `raw(pdev)` is a valid `struct pci_dev`; `collect` matches the callback type and
    // `data` points to `ids`, which outlives the call.
    let ret = unsafe {
        bindings::pci_for_each_dma_alias(raw(pdev), Some(collect), (&raw mut ids).cast::<c_void>())
    };
    to_result(ret)?;
    Ok(ids)
}

/// Returns the PCI segment of `pdev`: its PCI domain, which firmware tables (ACPI DMAR, IORT)
/// call its segment (group). `None` for the domains Linux numbers itself from 0x10000 (behind
/// a VMD), above every segment a firmware table can name.
pub fn segment(pdev: &pci::Device) -> Option<u16> {
    // SAFETY: `raw(pdev)` is a valid `struct pci_dev`, which is always on a bus.
    let nr = unsafe { bindings::pci_domain_nr((*raw(pdev)).bus) };
    u16::try_from(nr).ok()
}

/// Returns the physical function of `pdev` if it is an SR-IOV virtual function, `pdev` itself
/// otherwise. Firmware does not list virtual functions (in ACPI DMAR device scopes, say): an
/// IOMMU driver looks up the physical function instead.
pub fn physfn(pdev: &pci::Device) -> &pci::Device {
    // SAFETY: `raw(pdev)` is a valid `struct pci_dev`.
    let pf = unsafe { bindings::pci_physfn(raw(pdev)) };
    // SAFETY: `pf` is `pdev` or the physical function, which a virtual function holds a
    // reference to for as long as it exists (`pci_iov_add_virtfn()`), so it is valid for as
    // long as `pdev` is borrowed.
    let dev = unsafe { device::Device::from_raw(&raw mut (*pf).dev) };
    // A PCI device's physical function is a PCI device.
    <&pci::Device>::try_from(dev).unwrap_or(pdev)
}

/// Returns the PCI Express device/port type (`pci_pcie_type()`, `PCI_EXP_TYPE_*`) of each device
/// of [`upstream_path`]'s chain, in the same order; `None` for a device that is not PCI Express.
pub fn upstream_pcie_types(pdev: &pci::Device) -> Result<KVec<Option<u8>>> {
    upstream(pdev, |dev| {
        // SAFETY: `upstream` passes a valid `struct pci_dev`.
        let (cap, flags) = unsafe { ((*dev).pcie_cap, (*dev).pcie_flags_reg) };
        // CAST: `PCI_EXP_FLAGS_TYPE` (bits 7:4) keeps 4 bits.
        (cap != 0).then_some(((u32::from(flags) & bindings::PCI_EXP_FLAGS_TYPE) >> 4) as u8)
    })
}

/// Returns the chain of PCI devices from the root bus of `pdev` down to `pdev`: each upstream
/// bridge, then `pdev` itself, as (bus number, device, function). Firmware names a device so:
/// an ACPI DMAR device scope is a path of (device, function) pairs from a start bus.
pub fn upstream_path(pdev: &pci::Device) -> Result<KVec<(u8, u8, u8)>> {
    upstream(pdev, |dev| {
        // SAFETY: `upstream` passes a valid `struct pci_dev`; every PCI device is on a bus.
        let (number, devfn) = unsafe { ((*(*dev).bus).number, (*dev).devfn) };
        // CAST: `devfn` is 8 bits wide.
        let devfn = devfn as u8;
        (number, devfn >> 3, devfn & 7)
    })
}

/// Returns `f` of each device of the chain of PCI devices from the root bus of `pdev` down to
/// `pdev`: each upstream bridge, then `pdev` itself. `f` gets a valid `struct pci_dev`.
fn upstream<T>(pdev: &pci::Device, f: impl Fn(*const bindings::pci_dev) -> T) -> Result<KVec<T>> {
    let mut out = KVec::new();
    let mut dev = raw(pdev);
    while !dev.is_null() {
        out.push(f(dev), GFP_KERNEL)?;
        // SAFETY: `dev` is `pdev`, which is borrowed, or one of its upstream bridges, which the
        // device below holds a reference to (a device's parent lives as long as it): valid.
        // Every PCI device is on a bus, and a root bus's `self` is NULL.
        dev = unsafe { (*(*dev).bus).self_ };
    }
    out.reverse();
    Ok(out)
}
