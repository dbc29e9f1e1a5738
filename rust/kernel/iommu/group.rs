// SPDX-License-Identifier: GPL-2.0

//! IOMMU groups (`struct iommu_group`).
//!
//! C header: [`include/linux/iommu.h`](srctree/include/linux/iommu.h)

use core::ptr::NonNull;

use crate::{
    bindings,
    device,
    error::from_err_ptr,
    prelude::*,
    sync::aref::{
        ARef,
        AlwaysRefCounted, //
    },
    types::Opaque, //
};

/// An IOMMU group: the devices that the IOMMU cannot isolate from each other.
///
/// # Invariants
///
/// The wrapped `struct iommu_group` is valid; instances are always reference counted.
#[repr(transparent)]
pub struct Group(Opaque<bindings::iommu_group>);

// SAFETY: `struct iommu_group` is reference counted and can be released from any thread.
unsafe impl Send for Group {}
// SAFETY: The group's methods are thread safe (the core locks the group internally).
unsafe impl Sync for Group {}

// SAFETY: Instances of `Group` are always reference counted.
unsafe impl AlwaysRefCounted for Group {
    fn inc_ref(&self) {
        // SAFETY: The existence of `&self` means the refcount is non-zero.
        unsafe { bindings::iommu_group_ref_get(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference.
        unsafe { bindings::iommu_group_put(obj.cast().as_ptr()) }
    }
}

impl Group {
    fn as_raw(&self) -> *mut bindings::iommu_group {
        self.0.get()
    }

    /// Takes ownership of a group reference returned by the C API (`ERR_PTR` on error).
    ///
    /// # Safety
    ///
    /// `ptr` must be an error pointer or a group pointer whose reference is transferred.
    unsafe fn from_owned(ptr: *mut bindings::iommu_group) -> Result<ARef<Self>> {
        let ptr = from_err_ptr(ptr)?;
        let ptr = NonNull::new(ptr).ok_or(ENODEV)?;
        // SAFETY: The reference is transferred by the caller.
        Ok(unsafe { ARef::from_raw(ptr.cast()) })
    }

    /// Returns the group of `dev`, if it has one.
    pub fn get(dev: &device::Device) -> Option<ARef<Self>> {
        // SAFETY: `dev` is valid; the call returns a new reference or NULL.
        unsafe { Self::from_owned(bindings::iommu_group_get(dev.as_raw())) }.ok()
    }

    /// Allocates a new group containing only `dev` (`generic_device_group`).
    pub fn generic(dev: &device::Device) -> Result<ARef<Self>> {
        // SAFETY: `dev` is valid; the call returns a new reference or an error pointer.
        unsafe { Self::from_owned(bindings::generic_device_group(dev.as_raw())) }
    }

    /// Returns the group of a PCI device, shared with the devices it cannot be isolated from
    /// (`pci_device_group`).
    pub fn pci(dev: &device::Device) -> Result<ARef<Self>> {
        // SAFETY: `dev` is valid.
        if !unsafe { bindings::dev_is_pci(dev.as_raw()) } {
            return Err(EINVAL);
        }
        // SAFETY: `dev` is a valid PCI device; the call returns a new reference or an error
        // pointer.
        unsafe { Self::from_owned(bindings::pci_device_group(dev.as_raw())) }
    }

    /// The default policy: [`Group::pci`] for PCI devices, [`Group::generic`] otherwise.
    pub fn for_device(dev: &device::Device) -> Result<ARef<Self>> {
        // SAFETY: `dev` is valid.
        if unsafe { bindings::dev_is_pci(dev.as_raw()) } {
            Self::pci(dev)
        } else {
            Self::generic(dev)
        }
    }

    /// Returns the group's ID (the name of `/sys/kernel/iommu_groups/<id>`).
    pub fn id(&self) -> i32 {
        // SAFETY: The group is valid.
        unsafe { bindings::iommu_group_id(self.as_raw()) }
    }

    /// Returns the raw group, transferring the reference (for the `device_group` callback).
    pub(crate) fn into_raw(this: ARef<Self>) -> *mut bindings::iommu_group {
        ARef::into_raw(this).cast().as_ptr()
    }
}
