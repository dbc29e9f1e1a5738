// SPDX-License-Identifier: GPL-2.0

//! Client devices of an IOMMU: firmware IDs and the driver's per-device data.
//!
//! C header: [`include/linux/iommu.h`](srctree/include/linux/iommu.h)

use core::marker::PhantomData;

use crate::{
    bindings,
    device::{
        self,
        property::FwNode, //
    },
    error::to_result,
    prelude::*,
    types::{
        ForeignOwnable,
        Opaque, //
    },
};

use super::{
    device::{
        is_instance_of,
        IommuDevice, //
    },
    Ops, //
};

/// A device translated by an IOMMU driven by `T` (a "client", "master" or "endpoint").
///
/// Client devices are not bound to the IOMMU driver: they may be bound to any driver, or to none,
/// so the type gives no access to driver data or bus resources of the device. What it gives is
/// what the IOMMU core keeps for the IOMMU driver: the firmware IDs ([`FwSpec`]) and the driver's
/// per-device data ([`Ops::DeviceData`]).
///
/// # Invariants
///
/// - The wrapped `struct device` is valid and its `iommu` field (`struct dev_iommu`) is valid.
/// - The device's IOMMU is driven by `T`: its fwspec (if any) designates an instance registered
///   with `Adapter<T>`'s ops, and `dev_iommu->priv` is either NULL or a pointer obtained from
///   `T::DeviceData::into_foreign()` by `Adapter<T>::probe_device`, owned by the core until
///   `release_device`.
#[repr(transparent)]
pub struct ClientDevice<T: Ops>(Opaque<bindings::device>, PhantomData<T>);

impl<T: Ops> ClientDevice<T> {
    /// Creates a reference to a [`ClientDevice`] from a raw device pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must satisfy the type invariants for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::device) -> &'a Self {
        // SAFETY: `ClientDevice` is a transparent wrapper of `struct device`.
        unsafe { &*ptr.cast() }
    }

    /// Returns the device if it has been probed by an instance of `T`.
    ///
    /// This is how code outside the [`Ops`] callbacks (for instance a test) gets at the driver's
    /// view of a client device. It takes `iommu_probe_device_lock`, so it must not be called from
    /// `probe_device` (inside the callbacks, the [`ClientDevice`] is given anyway).
    pub fn try_from_device(dev: &device::Device) -> Option<&Self> {
        let raw = dev.as_raw();
        // SAFETY: `raw` is a valid device.
        let param = unsafe { (*raw).iommu };
        if param.is_null() {
            return None;
        }
        // SAFETY: `param` is the device's valid `struct dev_iommu`.
        let iommu = unsafe { (*param).iommu_dev };
        if iommu.is_null() || !is_instance_of::<T>(iommu) {
            return None;
        }
        // SAFETY: The device was probed by an instance of `T`, so the invariants hold for as long
        // as `dev` is borrowed and stays probed.
        Some(unsafe { Self::from_raw(raw) })
    }

    pub(crate) fn as_raw(&self) -> *mut bindings::device {
        self.0.get()
    }

    fn param(&self) -> *mut bindings::dev_iommu {
        // SAFETY: By the type invariants the device is valid.
        unsafe { (*self.as_raw()).iommu }
    }

    /// Returns the firmware description of the device's IOMMU connection, if it has one.
    pub fn fwspec(&self) -> Option<&FwSpec> {
        // SAFETY: By the type invariants the device is valid.
        let fwspec = unsafe { bindings::dev_iommu_fwspec_get(self.as_raw()) };
        if fwspec.is_null() {
            None
        } else {
            // SAFETY: The fwspec is valid while the device keeps its `dev_iommu`, which it does
            // while `self` is borrowed (type invariants).
            Some(unsafe { FwSpec::from_raw(fwspec) })
        }
    }

    /// Adds firmware IDs (stream IDs, requester IDs, ...) to the device's fwspec.
    ///
    /// Used from [`Ops::of_xlate`].
    pub fn add_ids(&self, ids: &[u32]) -> Result {
        let num = i32::try_from(ids.len())?;
        // SAFETY: The device is valid and `ids` is a valid array of `num` IDs, copied by the call.
        to_result(unsafe { bindings::iommu_fwspec_add_ids(self.as_raw(), ids.as_ptr(), num) })
    }

    /// Returns the driver's per-device data, or `None` before `probe_device` and after
    /// `release_device`.
    pub fn data(&self) -> Option<<T::DeviceData as ForeignOwnable>::Borrowed<'_>> {
        // SAFETY: By the type invariants the device is valid.
        let ptr = unsafe { bindings::dev_iommu_priv_get(self.as_raw()) };
        if ptr.is_null() {
            None
        } else {
            // SAFETY: By the type invariants `ptr` comes from `T::DeviceData::into_foreign()`; it
            // is only reclaimed by `release_device`, which the core does not run concurrently with
            // the other callbacks on this device.
            Some(unsafe { <T::DeviceData as ForeignOwnable>::borrow(ptr) })
        }
    }

    /// Returns the IOMMU instance the device was probed by, or `None` before `probe_device`.
    pub fn iommu(&self) -> Option<&IommuDevice<T>> {
        let param = self.param();
        if param.is_null() {
            return None;
        }
        // SAFETY: `param` is valid by the type invariants.
        let iommu = unsafe { (*param).iommu_dev };
        if iommu.is_null() {
            None
        } else {
            // SAFETY: By the type invariants the device's IOMMU is an instance of `T`, i.e. the
            // `raw` field of an `IommuDevice<T>`; the core keeps the instance registered while it
            // has probed devices.
            Some(unsafe { IommuDevice::from_raw(iommu) })
        }
    }

    /// Returns `true` if this is a PCI device.
    pub fn is_pci(&self) -> bool {
        // SAFETY: The device is valid.
        unsafe { bindings::dev_is_pci(self.as_raw()) }
    }

    /// Clears the per-device data pointer and returns it.
    ///
    /// # Safety
    ///
    /// Must only be called by `release_device`, once.
    pub(crate) unsafe fn take_data_ptr(&self) -> *mut c_void {
        let param = self.param();
        if param.is_null() {
            return core::ptr::null_mut();
        }
        // SAFETY: `param` is valid by the type invariants; the core serialises `release_device`
        // against everything else on this device.
        unsafe { core::mem::replace(&mut (*param).priv_, core::ptr::null_mut()) }
    }
}

impl<T: Ops> AsRef<device::Device> for ClientDevice<T> {
    fn as_ref(&self) -> &device::Device {
        // SAFETY: The device is valid for the lifetime of `self`.
        unsafe { device::Device::from_raw(self.as_raw()) }
    }
}

/// The firmware description of a device's IOMMU connection (`struct iommu_fwspec`).
///
/// # Invariants
///
/// The wrapped `struct iommu_fwspec` is valid and `ids` holds `num_ids` entries.
#[repr(transparent)]
pub struct FwSpec(Opaque<bindings::iommu_fwspec>);

impl FwSpec {
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct iommu_fwspec` that stays valid for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::iommu_fwspec) -> &'a Self {
        // SAFETY: `FwSpec` is a transparent wrapper of `struct iommu_fwspec`.
        unsafe { &*ptr.cast() }
    }

    /// Returns the firmware IDs (e.g. stream IDs) of the device.
    pub fn ids(&self) -> &[u32] {
        let raw = self.0.get();
        // SAFETY: By the type invariants `ids` holds `num_ids` initialised entries that live as
        // long as the fwspec.
        unsafe {
            let num = (*raw).num_ids as usize;
            core::slice::from_raw_parts((*raw).ids.as_ptr(), num)
        }
    }

    /// Returns the fwspec flags (`IOMMU_FWSPEC_*`).
    pub fn flags(&self) -> u32 {
        // SAFETY: The fwspec is valid by the type invariants.
        unsafe { (*self.0.get()).flags }
    }

    /// Returns `true` if the root complex supports ATS for this device.
    pub fn pci_rc_ats(&self) -> bool {
        self.flags() & bindings::IOMMU_FWSPEC_PCI_RC_ATS != 0
    }

    /// Returns `true` if the root complex makes the device's DMA write-back cacheable and
    /// shareable whatever attributes the device asks for (ACPI IORT's CANWBS memory access
    /// flag): the IOMMU can then enforce cache coherency for it.
    pub fn pci_rc_canwbs(&self) -> bool {
        self.flags() & bindings::IOMMU_FWSPEC_PCI_RC_CANWBS != 0
    }

    /// Returns the firmware node of the IOMMU this device is connected to.
    pub fn iommu_fwnode(&self) -> Option<&FwNode> {
        // SAFETY: The fwspec is valid by the type invariants.
        let node = unsafe { (*self.0.get()).iommu_fwnode };
        if node.is_null() {
            None
        } else {
            // SAFETY: The fwspec holds a reference on the node; `FwNode` is a transparent
            // wrapper of `struct fwnode_handle`.
            Some(unsafe { &*node.cast::<FwNode>() })
        }
    }
}

/// The arguments of a firmware `iommus` reference (`struct of_phandle_args`), given to
/// [`Ops::of_xlate`].
///
/// # Invariants
///
/// The wrapped `struct of_phandle_args` is valid and `args_count` is at most the array size.
#[repr(transparent)]
pub struct OfPhandleArgs(Opaque<bindings::of_phandle_args>);

impl OfPhandleArgs {
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct of_phandle_args` that stays valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *const bindings::of_phandle_args) -> &'a Self {
        // SAFETY: `OfPhandleArgs` is a transparent wrapper of `struct of_phandle_args`.
        unsafe { &*ptr.cast() }
    }

    /// Returns the cells of the reference (e.g. the stream ID).
    pub fn args(&self) -> &[u32] {
        let raw = self.0.get();
        // SAFETY: The arguments are valid by the type invariants.
        unsafe {
            let count = ((*raw).args_count.max(0) as usize).min((*raw).args.len());
            &(&(*raw).args)[..count]
        }
    }
}
