// SPDX-License-Identifier: GPL-2.0

//! IOMMU instances: `struct iommu_device` and its registration.
//!
//! C header: [`include/linux/iommu.h`](srctree/include/linux/iommu.h)

use core::{
    any::TypeId,
    cell::UnsafeCell,
    marker::PhantomData,
    ptr, //
};

use crate::{
    bindings,
    device::{
        self,
        property::FwNode,
        Bound, //
    },
    error::to_result,
    prelude::*,
    sync::aref::ARef,
    types::Opaque, //
};

use super::{
    ops::Adapter,
    Ops, //
};

/// An IOMMU instance as seen by the IOMMU core, with the driver's per-instance data.
///
/// This is `struct iommu_device` followed by [`Ops::IommuData`]. It lives inside a
/// [`Registration`] and is handed to the [`Ops`] callbacks that concern a particular instance.
///
/// # Invariants
///
/// - `raw` is the first field, so a pointer to `raw` is a pointer to `Self`.
/// - `type_id` is `TypeId::of::<T>()`; every `IommuDevice<T>` has the same prefix layout
///   (`raw`, `type_id`), which is how the registry finds out the type of a registered instance.
#[repr(C)]
#[pin_data]
pub struct IommuDevice<T: Ops> {
    #[pin]
    raw: Opaque<bindings::iommu_device>,
    type_id: TypeId,
    dev: ARef<device::Device>,
    data: T::IommuData,
}

/// The type-independent prefix of every [`IommuDevice`].
#[repr(C)]
struct Header {
    raw: Opaque<bindings::iommu_device>,
    type_id: TypeId,
}

// SAFETY: The IOMMU core accesses `struct iommu_device` under its own locks; `T::IommuData` is
// `Send`.
unsafe impl<T: Ops> Send for IommuDevice<T> {}
// SAFETY: The only Rust access to `raw` is reading fields the core does not change after
// registration; `T::IommuData` is `Sync`.
unsafe impl<T: Ops> Sync for IommuDevice<T> {}

impl<T: Ops> IommuDevice<T> {
    fn new(dev: ARef<device::Device>, data: T::IommuData) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            raw <- Opaque::zeroed(),
            type_id: TypeId::of::<T>(),
            dev,
            data,
        })
    }

    /// Returns the firmware node client devices refer to the instance by, if any.
    pub fn fwnode(&self) -> Option<&FwNode> {
        // SAFETY: `raw` is valid; `fwnode` is constant while registered.
        let node = unsafe { (*self.as_raw()).fwnode };
        // SAFETY: The node outlives the registration; `FwNode` is a transparent wrapper of
        // `struct fwnode_handle`.
        (!node.is_null()).then(|| unsafe { &*node.cast::<FwNode>() })
    }

    /// Returns the IOMMU's own device (e.g. for DMA-mapping its tables, or as the device of an
    /// [`IoPageTable`](super::pgtable::IoPageTable)).
    pub fn device(&self) -> &device::Device {
        &self.dev
    }

    /// Returns the IOMMU's own device as a bound device, e.g. to allocate coherent DMA memory
    /// for its tables while a callback runs.
    pub fn bound_device(&self) -> &device::Device<Bound> {
        // SAFETY: An `IommuDevice` only exists inside a `Registration<'a, T>`, which borrows the
        // device as bound for `'a` and is dropped (unregistering the instance) before the device
        // is unbound; `&self` cannot outlive the registration, so the device is bound for as long
        // as the returned reference lives.
        unsafe { self.dev.as_bound() }
    }

    /// Returns the driver's per-instance data.
    pub fn data(&self) -> &T::IommuData {
        &self.data
    }

    /// Returns the raw `struct iommu_device`.
    pub(crate) fn as_raw(&self) -> *mut bindings::iommu_device {
        self.raw.get()
    }

    /// Converts a raw `struct iommu_device` into an [`IommuDevice`].
    ///
    /// # Safety
    ///
    /// `ptr` must point to the `raw` field of a live `IommuDevice<T>` that stays alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::iommu_device) -> &'a Self {
        // SAFETY: By the type invariants `raw` is at offset 0, and by the safety requirements
        // `ptr` points into a live `IommuDevice<T>`.
        unsafe { &*ptr.cast::<Self>() }
    }
}

/// Maximum number of IOMMU instances registered through [`Registration`] at the same time.
const MAX_INSTANCES: usize = 64;

/// Registered Rust IOMMU instances, to find the instance that a client device's firmware node
/// designates when the core asks a driver to probe it.
///
/// # Invariants
///
/// Every slot is either NULL or points to the `raw` field of the [`IommuDevice`] of a live,
/// pinned [`Registration`]. The slots are only accessed with `iommu_probe_device_lock` held.
struct Registry(UnsafeCell<[*mut bindings::iommu_device; MAX_INSTANCES]>);

// SAFETY: All accesses are serialised by `iommu_probe_device_lock`.
unsafe impl Sync for Registry {}

static REGISTRY: Registry = Registry(UnsafeCell::new([ptr::null_mut(); MAX_INSTANCES]));

/// A held `iommu_probe_device_lock`.
pub(crate) struct ProbeLockGuard(());

impl ProbeLockGuard {
    /// Takes `iommu_probe_device_lock`, the lock the core holds while it calls `probe_device`.
    pub(crate) fn lock() -> Self {
        // SAFETY: `iommu_probe_device_lock` is a statically initialised mutex.
        unsafe { bindings::mutex_lock(&raw mut bindings::iommu_probe_device_lock) };
        Self(())
    }
}

impl Drop for ProbeLockGuard {
    fn drop(&mut self) {
        // SAFETY: The lock was taken in `lock()`.
        unsafe { bindings::mutex_unlock(&raw mut bindings::iommu_probe_device_lock) };
    }
}

impl Registry {
    fn insert(&self, _guard: &ProbeLockGuard, iommu: *mut bindings::iommu_device) -> Result {
        // SAFETY: The lock is held, so there is no concurrent access to the slots.
        let slots = unsafe { &mut *self.0.get() };
        let slot = slots.iter_mut().find(|s| s.is_null()).ok_or(ENOSPC)?;
        *slot = iommu;
        Ok(())
    }

    fn remove(&self, _guard: &ProbeLockGuard, iommu: *mut bindings::iommu_device) {
        // SAFETY: The lock is held, so there is no concurrent access to the slots.
        let slots = unsafe { &mut *self.0.get() };
        for slot in slots.iter_mut().filter(|s| **s == iommu) {
            *slot = ptr::null_mut();
        }
    }

    /// Finds the `n`-th registered `IommuDevice<T>` (counting from 0, in slot order) whose
    /// firmware node is `fwnode`, or whose address is `iommu` if `fwnode` is `None`.
    ///
    /// # Safety
    ///
    /// `iommu_probe_device_lock` must be held for the lifetime `'a`.
    unsafe fn find<'a, T: Ops>(
        &self,
        fwnode: Option<*mut bindings::fwnode_handle>,
        iommu: *mut bindings::iommu_device,
        n: usize,
    ) -> Option<&'a IommuDevice<T>> {
        // SAFETY: The caller holds the lock.
        let slots = unsafe { &*self.0.get() };
        let mut found = slots.iter().copied().filter_map(|slot| {
            if slot.is_null() {
                return None;
            }
            // SAFETY: By the type invariants a non-NULL slot points to the prefix of a live
            // `IommuDevice`; `fwnode` is not changed after registration.
            let (slot_fwnode, type_id) = unsafe {
                let header = slot.cast::<Header>();
                ((*slot).fwnode, (*header).type_id)
            };
            let matches = match fwnode {
                Some(f) => slot_fwnode == f,
                None => slot == iommu,
            };
            if !matches || type_id != TypeId::of::<T>() {
                return None;
            }
            // SAFETY: The type ID says this is an `IommuDevice<T>`; it stays registered while
            // the lock is held, which the caller guarantees for `'a`.
            Some(unsafe { IommuDevice::<T>::from_raw(slot) })
        });
        found.nth(n)
    }
}

/// Finds the `n`-th registered instance of `T` designated by `fwnode` (may be NULL: the
/// instances registered without a firmware node), counting from 0 in registration order (a
/// new instance takes the first slot an unregistered one left).
///
/// # Safety
///
/// `iommu_probe_device_lock` must be held for the lifetime `'a`.
pub(crate) unsafe fn find_by_fwnode<'a, T: Ops>(
    fwnode: *mut bindings::fwnode_handle,
    n: usize,
) -> Option<&'a IommuDevice<T>> {
    // SAFETY: Forwarded from the caller.
    unsafe { REGISTRY.find::<T>(Some(fwnode), ptr::null_mut(), n) }
}

/// Returns `iommu` as an instance of `T` if it is a registered `IommuDevice<T>`.
pub(crate) fn is_instance_of<T: Ops>(iommu: *mut bindings::iommu_device) -> bool {
    let guard = ProbeLockGuard::lock();
    // SAFETY: The lock is held while the result is used.
    let found = unsafe { REGISTRY.find::<T>(None, iommu, 0) }.is_some();
    drop(guard);
    found
}

/// How to register an IOMMU instance.
pub struct Config<'a> {
    /// Name in sysfs (`/sys/class/iommu/<name>`), unique among IOMMUs.
    pub name: &'a CStr,
    /// Firmware node that client devices' fwspecs point at; `None` takes the node of the IOMMU's
    /// device (see [`Registration`]).
    pub fwnode: Option<&'a FwNode>,
    /// Number of PASIDs the instance supports (0 if none).
    pub max_pasids: u32,
}

/// The registration of an IOMMU instance with the IOMMU core.
///
/// Creating it adds the instance to sysfs (`/sys/class/iommu/<name>`) and registers it with the
/// core, which then probes every device whose firmware description points at the instance's
/// firmware node. Dropping it unregisters the instance: the core releases every client device
/// first (calling [`Ops::release_device`]).
///
/// The registration borrows the IOMMU's own bound device for `'a`, so it cannot outlive the
/// binding of the IOMMU driver.
///
/// The firmware node is either given explicitly or taken from `dev`. An instance without a
/// firmware node is chosen by the core for every device without a firmware description; only
/// drivers that own all devices of their platform (like x86 VT-d) may register like that.
///
/// # Invariants
///
/// `iommu.raw` is added to sysfs, registered with the core and present in the registry from the
/// end of initialisation until drop.
#[pin_data(PinnedDrop)]
pub struct Registration<'a, T: Ops> {
    #[pin]
    iommu: IommuDevice<T>,
    _dev: PhantomData<&'a device::Device<Bound>>,
}

// SAFETY: The registration only holds the `IommuDevice`, which is `Send`; unregistering may
// happen on any thread.
unsafe impl<T: Ops> Send for Registration<'_, T> {}
// SAFETY: `&Registration` only gives access to the `IommuDevice`, which is `Sync`.
unsafe impl<T: Ops> Sync for Registration<'_, T> {}

impl<'a, T: Ops> Registration<'a, T> {
    /// Registers a new IOMMU instance named `name` for the bound device `dev`, without PASIDs.
    ///
    /// See [`Config`] for `fwnode`.
    pub fn new(
        dev: &'a device::Device<Bound>,
        name: &'a CStr,
        fwnode: Option<&'a FwNode>,
        data: T::IommuData,
    ) -> impl PinInit<Self, Error> + 'a {
        let config = Config {
            name,
            fwnode,
            max_pasids: 0,
        };
        Self::new_with_config(dev, config, data)
    }

    /// Registers a new IOMMU instance for the bound device `dev`.
    pub fn new_with_config(
        dev: &'a device::Device<Bound>,
        config: Config<'a>,
        data: T::IommuData,
    ) -> impl PinInit<Self, Error> + 'a {
        let Config {
            name,
            fwnode,
            max_pasids,
        } = config;
        try_pin_init!(&this in Self {
            iommu <- IommuDevice::new(ARef::from(&**dev), data),
            _dev: PhantomData,
            _: {
                // SAFETY: `this` is a valid pointer to the `Registration` being initialised,
                // and `iommu` has been initialised.
                let raw = unsafe { (*this.as_ptr()).iommu.as_raw() };

                // SAFETY:
                // - `raw` is a valid, zeroed `struct iommu_device` that stays pinned.
                // - `dev` is a valid device; sysfs takes its own reference.
                // - The format string is `"%s"` with one NUL-terminated string argument.
                to_result(unsafe {
                    bindings::iommu_device_sysfs_add(
                        raw,
                        dev.as_raw(),
                        ptr::null_mut(),
                        c"%s".as_char_ptr(),
                        name.as_char_ptr(),
                    )
                })?;

                // SAFETY: `raw` is valid; the core reads `max_pasids` when it probes devices.
                unsafe { (*raw).max_pasids = max_pasids };

                let hwdev = match fwnode {
                    Some(node) => {
                        // SAFETY: `raw` is valid; the node outlives the registration (`'a`).
                        unsafe { (*raw).fwnode = node.as_raw() };
                        ptr::null_mut()
                    }
                    None => dev.as_raw(),
                };

                let guard = ProbeLockGuard::lock();
                let ret = REGISTRY.insert(&guard, raw);
                drop(guard);
                if let Err(e) = ret {
                    // SAFETY: `raw` was added to sysfs above.
                    unsafe { bindings::iommu_device_sysfs_remove(raw) };
                    return Err(e);
                }

                // SAFETY:
                // - `raw` is valid and pinned until `drop`, which unregisters it.
                // - `Adapter::<T>::VTABLE` is a `'static` ops table.
                // - `hwdev` is NULL or the bound device `dev`.
                let ret = unsafe { bindings::iommu_device_register(raw, Adapter::<T>::build(), hwdev) };
                if ret != 0 {
                    let guard = ProbeLockGuard::lock();
                    REGISTRY.remove(&guard, raw);
                    drop(guard);
                    // SAFETY: `raw` was added to sysfs above.
                    unsafe { bindings::iommu_device_sysfs_remove(raw) };
                    return Err(Error::from_errno(ret));
                }
                // INVARIANT: `raw` is now in sysfs, registered and in the registry.
            },
        })
    }

    /// Returns the registered instance.
    pub fn iommu(&self) -> &IommuDevice<T> {
        &self.iommu
    }
}

#[pinned_drop]
impl<T: Ops> PinnedDrop for Registration<'_, T> {
    fn drop(self: Pin<&mut Self>) {
        let raw = self.iommu.as_raw();

        // Remove the instance from the registry first, with the probe lock held so that no probe
        // is using it; new probes of devices pointing at it fail from now on.
        let guard = ProbeLockGuard::lock();
        REGISTRY.remove(&guard, raw);
        drop(guard);

        // SAFETY: By the type invariants `raw` is registered and in sysfs. Unregistering releases
        // every client device while `self.iommu` is still alive.
        unsafe {
            bindings::iommu_device_unregister(raw);
            bindings::iommu_device_sysfs_remove(raw);
        }
    }
}
