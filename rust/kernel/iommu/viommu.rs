// SPDX-License-Identifier: GPL-2.0

//! iommufd vIOMMUs: a driver's data in memory the iommufd core owns.
//!
//! C header: [`include/linux/iommufd.h`](srctree/include/linux/iommufd.h)
//!
//! A vIOMMU is owned the opposite way from a [`Domain`]: the core allocates
//! [`Ops::viommu_supported`]-many bytes (the size of [`Viommu<T>`], whose first member is the
//! core's `struct iommufd_viommu`, as `VIOMMU_STRUCT_SIZE()` requires), the driver initialises
//! its part in place ([`Ops::viommu_init`]), and the core frees the memory after the `destroy`
//! callback, which drops the driver's part. The vIOMMU holds the nesting parent, a paging domain
//! of the driver: the core keeps the parent's HWPT alive as long as the vIOMMU.
//!
//! vDEVICEs (a device of the vIOMMU under its virtual ID, e.g. an SMMUv3 vSID) have no driver
//! data here: [`ViommuOps::vdevice_init`] accepts or refuses them, and [`Viommu::with_device`]
//! looks them up.

use core::{
    marker::PhantomData,
    mem::MaybeUninit,
    ptr::{
        self,
        NonNull, //
    },
};

use crate::{
    bindings,
    error::{
        from_result,
        to_result,
        VTABLE_DEFAULT_ERROR, //
    },
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    },
    types::Opaque,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use super::{
    domain::into_core,
    domain_type,
    iommufd::{
        skip_zeroes,
        UserData, //
    },
    ClientDevice,
    Domain,
    DomainOps,
    IommuDevice,
    Ops, //
};

/// vIOMMU types (`enum iommu_viommu_type`).
pub mod viommu_type {
    use crate::bindings;

    /// The core's default type, which no driver allocates.
    pub const DEFAULT: u32 = bindings::iommu_viommu_type_IOMMU_VIOMMU_TYPE_DEFAULT;
    /// An Arm SMMUv3 vIOMMU (a virtual SMMU, one VMID).
    pub const ARM_SMMUV3: u32 = bindings::iommu_viommu_type_IOMMU_VIOMMU_TYPE_ARM_SMMUV3;
}

/// Operations of a driver's vIOMMU (`struct iommufd_viommu_ops`).
///
/// Implemented by the driver's vIOMMU data; every callback receives the [`Viommu`] that embeds
/// it. The teardown is the `Drop` of the data, run by the core's `destroy` callback.
#[vtable]
pub trait ViommuOps: Sized + Send + Sync + 'static {
    /// The IOMMU driver of the vIOMMU.
    type Iommu: Ops;

    /// The driver's nested domain type: a stage the guest controls on the vIOMMU's parent.
    type NestedDomain: DomainOps<Iommu = Self::Iommu>;

    /// Allocates a nested domain from the user's `data` (for instance an SMMUv3 vSTE).
    ///
    /// `flags` are `IOMMU_HWPT_ALLOC_*` flags the core did not handle itself. The domain must
    /// be made with [`Domain::new_nested`].
    fn alloc_domain_nested(
        _viommu: &Viommu<Self>,
        _flags: u32,
        _data: &UserData,
    ) -> Result<Pin<KBox<Domain<Self::NestedDomain>>>> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Carries out the user's invalidation requests in `array`.
    ///
    /// On success every entry was handled; on error, [`UserDataArray::set_handled`] must say how
    /// many entries were handled before the failing one.
    fn cache_invalidate(_viommu: &Viommu<Self>, _array: &UserDataArray) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Accepts (or refuses with an error) `dev` as a vDEVICE of `viommu` under `virt_id`.
    ///
    /// The core made sure the device is behind the vIOMMU's IOMMU instance, has no other
    /// vDEVICE, and that `virt_id` is free on this vIOMMU.
    fn vdevice_init(
        _viommu: &Viommu<Self>,
        _dev: &ClientDevice<Self::Iommu>,
        _virt_id: u64,
    ) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The vIOMMU type of a driver that has none ([`Ops::Viommu`]): [`Ops::viommu_supported`] and
/// [`Ops::viommu_init`] are then not implemented, and no `NoViommu` is ever made.
pub struct NoViommu<T: Ops>(PhantomData<T>);

#[vtable]
impl<T: Ops> ViommuOps for NoViommu<T> {
    type OwnerModule = T::OwnerModule;
    type Iommu = T;
    type NestedDomain = T::PagingDomain;
}

/// A vIOMMU of an IOMMU driver: the core's `struct iommufd_viommu`, then the driver's data.
///
/// # Invariants
///
/// - `core` is at offset 0 and is a valid `struct iommufd_viommu` whose `ops` are
///   `ViommuAdapter<T>`'s, `iommu_dev` an instance of `T::Iommu`.
/// - `parent` points to a paging domain of `T::Iommu` that outlives the vIOMMU: the core holds a
///   reference to the parent's HWPT from before `viommu_init` until after `destroy`.
/// - `data` is initialised; it is dropped by `destroy`, after which the core frees the memory.
#[repr(C)]
pub struct Viommu<T: ViommuOps> {
    core: Opaque<bindings::iommufd_viommu>,
    parent: NonNull<Domain<<T::Iommu as Ops>::PagingDomain>>,
    data: T,
}

// SAFETY: The core synchronises its own accesses to `struct iommufd_viommu`; `parent` is a
// shared reference to a `Sync` domain; `T` is `Send`.
unsafe impl<T: ViommuOps> Send for Viommu<T> {}
// SAFETY: Rust only reads fields of `struct iommufd_viommu` that are constant after init or
// are protected by the core's own locks (taken here); `T` is `Sync`.
unsafe impl<T: ViommuOps> Sync for Viommu<T> {}

impl<T: ViommuOps> Viommu<T> {
    /// The number of bytes the core allocates for a `Viommu<T>` (`VIOMMU_STRUCT_SIZE()`).
    pub(crate) const SIZE: usize = {
        // The core allocates with `kzalloc()`, aligned for any `unsigned long long`.
        assert!(align_of::<Self>() <= align_of::<u64>());
        size_of::<Self>()
    };

    /// # Safety
    ///
    /// `ptr` must be the `core` field of a live `Viommu<T>` that stays alive for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::iommufd_viommu) -> &'a Self {
        // SAFETY: `core` is at offset 0 (type invariants); the caller guarantees liveness.
        unsafe { &*ptr.cast::<Self>() }
    }

    fn as_raw(&self) -> *mut bindings::iommufd_viommu {
        self.core.get()
    }

    /// The nesting parent: the paging domain the vIOMMU's guest stage sits on.
    pub fn parent(&self) -> &Domain<<T::Iommu as Ops>::PagingDomain> {
        // SAFETY: By the type invariants the parent outlives the vIOMMU.
        unsafe { self.parent.as_ref() }
    }

    /// The IOMMU instance of the vIOMMU.
    pub fn iommu(&self) -> &IommuDevice<T::Iommu> {
        // SAFETY: `iommu_dev` is set by the core before `viommu_init` and never changed; by the
        // type invariants it is an instance of `T::Iommu`, registered while it has vIOMMUs
        // (their devices are probed by it).
        unsafe { IommuDevice::from_raw((*self.as_raw()).iommu_dev) }
    }

    /// The vIOMMU's uAPI type (one of [`viommu_type`]).
    pub fn viommu_type(&self) -> u32 {
        // SAFETY: `type` is set by the core before `viommu_init` and never changed.
        unsafe { (*self.as_raw()).type_ }
    }

    /// Calls `f` with the device of the vDEVICE of `virt_id`, or `None` if there is none.
    ///
    /// The lookup holds the vIOMMU's vDEVICE lock (a spinlock) across `f`, so that the vDEVICE
    /// and its device cannot go away meanwhile: `f` must not sleep.
    pub fn with_device<R>(
        &self,
        virt_id: u64,
        f: impl FnOnce(Option<&ClientDevice<T::Iommu>>) -> R,
    ) -> R {
        let Ok(id) = usize::try_from(virt_id) else {
            return f(None);
        };
        // SAFETY: `vdevs` is the core's valid xarray of this vIOMMU.
        let vdevs = unsafe { &raw mut (*self.as_raw()).vdevs };
        // SAFETY: `vdevs` is valid; the lock is released below.
        unsafe { bindings::xa_lock(vdevs) };
        // SAFETY: The vIOMMU is valid and its `vdevs` lock is held, as the function requires.
        let dev = unsafe { bindings::iommufd_viommu_find_dev(self.as_raw(), id) };
        let r = f(if dev.is_null() {
            None
        } else {
            // SAFETY: The core only lets devices behind this vIOMMU's IOMMU instance, an
            // instance of `T::Iommu`, become its vDEVICEs; the device stays valid while its
            // vDEVICE is in `vdevs`, which the held lock guarantees for the duration of `f`.
            Some(unsafe { ClientDevice::from_raw(dev) })
        });
        // SAFETY: Locked above.
        unsafe { bindings::xa_unlock(vdevs) };
        r
    }

    /// Returns the virtual ID of the vDEVICE of `dev` on this vIOMMU, if it has one.
    pub fn virt_id(&self, dev: &ClientDevice<T::Iommu>) -> Option<u64> {
        let mut id: usize = 0;
        // SAFETY: The vIOMMU and the device are valid; `id` is a valid location.
        let r =
            unsafe { bindings::iommufd_viommu_get_vdev_id(self.as_raw(), dev.as_raw(), &mut id) };
        // CAST: `usize` is at most 64 bits wide.
        (r == 0).then_some(id as u64)
    }

    /// Queues `event` of uAPI type `event_type` (`IOMMU_VEVENTQ_TYPE_*`) on the vIOMMU's
    /// vEVENTQ of that type (`iommufd_viommu_report_event()`).
    ///
    /// Fails with `EOPNOTSUPP` if user space has no such vEVENTQ. May sleep (it takes the
    /// vIOMMU's vEVENTQ list lock for reading).
    pub fn report_event<E: AsBytes>(&self, event_type: u32, event: &E) -> Result {
        let len = size_of::<E>();
        if len == 0 {
            return Err(EINVAL);
        }
        // SAFETY: The vIOMMU is valid; `event` is `len` readable bytes, which the core copies.
        to_result(unsafe {
            bindings::iommufd_viommu_report_event(
                self.as_raw(),
                event_type,
                ptr::from_ref(event).cast_mut().cast(),
                len,
            )
        })
    }
}

impl<T: ViommuOps> Viommu<T> {
    /// Returns a counted reference to the vIOMMU, for a nested domain allocated on it.
    ///
    /// The reference holds one more user of the core's vIOMMU object: while it exists, the
    /// core refuses to destroy the vIOMMU (`EBUSY`). A nested domain is freed before the core
    /// drops its own reference of the nested HWPT on the vIOMMU, so a `ViommuRef` kept in one
    /// never delays anything user space can observe.
    pub fn new_ref(&self) -> ViommuRef<T> {
        // SAFETY: The vIOMMU is valid; its `obj.users` is at least one while it is in use.
        unsafe { bindings::refcount_inc(&raw mut (*self.as_raw()).obj.users) };
        // INVARIANT: One `users` count taken above, released by `Drop`.
        ViommuRef(NonNull::from(self))
    }
}

/// A counted reference to a [`Viommu`] (see [`Viommu::new_ref`]).
///
/// # Invariants
///
/// The pointer is a valid `Viommu<T>` of which this reference holds one `obj.users` count.
pub struct ViommuRef<T: ViommuOps>(NonNull<Viommu<T>>);

// SAFETY: A `ViommuRef` only gives shared access to a `Viommu<T>`, which is `Sync`.
unsafe impl<T: ViommuOps> Send for ViommuRef<T> {}
// SAFETY: As above.
unsafe impl<T: ViommuOps> Sync for ViommuRef<T> {}

impl<T: ViommuOps> core::ops::Deref for ViommuRef<T> {
    type Target = Viommu<T>;

    fn deref(&self) -> &Viommu<T> {
        // SAFETY: The count held (type invariants) keeps the vIOMMU alive.
        unsafe { self.0.as_ref() }
    }
}

impl<T: ViommuOps> Drop for ViommuRef<T> {
    fn drop(&mut self) {
        // SAFETY: The count taken by `new_ref` is released once; the core holds another one
        // (the object's own) until it destroys the vIOMMU, so this never drops it to zero.
        unsafe { bindings::refcount_dec(&raw mut (*self.0.as_ref().as_raw()).obj.users) };
    }
}

impl<T: ViommuOps> core::ops::Deref for Viommu<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

/// An array of user data entries of an iommufd request (`struct iommu_user_data_array`), such
/// as the commands of `IOMMU_HWPT_INVALIDATE`.
///
/// # Invariants
///
/// The wrapped `struct iommu_user_data_array` is valid; it is only accessed from the callback
/// that received it.
#[repr(transparent)]
pub struct UserDataArray(Opaque<bindings::iommu_user_data_array>);

impl UserDataArray {
    /// # Safety
    ///
    /// `ptr` must point to a user data array valid for `'a`, not accessed by others meanwhile.
    unsafe fn from_raw<'a>(ptr: *mut bindings::iommu_user_data_array) -> &'a Self {
        // SAFETY: `UserDataArray` is a transparent wrapper; validity is guaranteed by the caller.
        unsafe { &*ptr.cast::<Self>() }
    }

    fn raw(&self) -> bindings::iommu_user_data_array {
        // SAFETY: The array is valid by the type invariants.
        unsafe { self.0.get().read() }
    }

    /// Returns the uAPI type of the entries.
    pub fn data_type(&self) -> u32 {
        self.raw().type_
    }

    /// Returns the number of entries.
    pub fn len(&self) -> usize {
        // CAST: `u32` to `usize` is lossless on the kernel's 32- and 64-bit targets.
        self.raw().entry_num as usize
    }

    /// Returns `true` if the array has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies every entry as a `T` of uAPI type `data_type`
    /// (`iommu_copy_struct_from_full_user_array()`).
    ///
    /// Entries shorter than `T` are zero-extended (older user space); longer ones must be zero
    /// beyond `size_of::<T>()`, else `E2BIG`. A type mismatch or an empty array is `EINVAL`, a
    /// fault `EFAULT`. On failure no entry is handled: the count the core reports back is set
    /// to 0, as the C drivers set it, rather than left at the request's.
    pub fn read_all<T: FromBytes + AsBytes>(&self, data_type: u32) -> Result<KVec<T>> {
        self.copy_all(data_type)
            .inspect_err(|_| self.set_handled(0))
    }

    fn copy_all<T: FromBytes + AsBytes>(&self, data_type: u32) -> Result<KVec<T>> {
        let a = self.raw();
        if a.type_ != data_type || a.entry_num == 0 {
            return Err(EINVAL);
        }
        // CAST: `u32` to `usize` is lossless on the kernel's 32- and 64-bit targets.
        let (n, entry_len) = (a.entry_num as usize, a.entry_len);
        let total = n.checked_mul(entry_len).ok_or(EOVERFLOW)?;
        let size = size_of::<T>();
        let mut out = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut reader = UserSlice::new(UserPtr::from_ptr(a.uptr), total).reader();
        if entry_len == size {
            // One copy for the whole array, into the vector, as the C helper does when the
            // sizes agree: every copy from user space costs its own fault-path checks (on a
            // lockdep kernel, as much as an SMMU command's issue), and a vIOMMU's invalidation
            // has dozens of entries.
            let spare = out.spare_capacity_mut();
            // SAFETY: The vector was made with a capacity of `n`, so its spare capacity holds the
            // `total` bytes of `n` uninitialised `T`s, which this function alone may write;
            // `MaybeUninit<u8>` has neither validity nor alignment needs.
            let bytes = unsafe {
                core::slice::from_raw_parts_mut(spare.as_mut_ptr().cast::<MaybeUninit<u8>>(), total)
            };
            reader.read_raw(bytes)?;
            // SAFETY: `read_raw` succeeded, so the `total` bytes of the first `n` elements are
            // initialised, and any bytes are a valid `T` (`FromBytes`).
            unsafe { out.inc_len(n) };
            return Ok(out);
        }
        let mut buf = KVec::from_elem(0u8, size, GFP_KERNEL)?;
        for _ in 0..n {
            buf.fill(0);
            reader.read_slice(&mut buf[..entry_len.min(size)])?;
            skip_zeroes(&mut reader, entry_len.saturating_sub(size))?;
            out.push(T::from_bytes_copy(&buf).ok_or(EINVAL)?, GFP_KERNEL)?;
        }
        Ok(out)
    }

    /// Reports that the first `n` entries were handled (the core writes it back to user space
    /// as `entry_num`).
    pub fn set_handled(&self, n: usize) {
        let n = u32::try_from(n)
            .unwrap_or(u32::MAX)
            .min(self.raw().entry_num);
        // SAFETY: The array is valid and only accessed by this callback (type invariants).
        unsafe { (*self.0.get()).entry_num = n };
    }
}

/// The C callbacks of a vIOMMU type `T`.
pub(crate) struct ViommuAdapter<T: ViommuOps>(PhantomData<T>);

impl<T: ViommuOps> ViommuAdapter<T> {
    /// # Safety
    ///
    /// `viommu` must be a vIOMMU initialised by [`ViommuAdapter::init`] for `T`, live for `'a`.
    unsafe fn viommu<'a>(viommu: *mut bindings::iommufd_viommu) -> &'a Viommu<T> {
        // SAFETY: Forwarded from the caller: the ops of `T` are only set on such vIOMMUs.
        unsafe { Viommu::from_raw(viommu) }
    }

    /// Places `data`, the driver's part of the vIOMMU at `raw`, over the nesting parent
    /// `parent`, then makes the vIOMMU use the ops of `T`.
    ///
    /// # Safety
    ///
    /// `raw` must be the core's vIOMMU being initialised, `Viommu::<T>::SIZE` bytes of zeroed
    /// memory the core owns and frees after `destroy` (or at once if this fails); `parent` must
    /// be a domain the core keeps alive until after `destroy`.
    pub(crate) unsafe fn init(
        raw: *mut bindings::iommufd_viommu,
        parent: &Domain<<T::Iommu as Ops>::PagingDomain>,
        data: T,
    ) {
        let this = raw.cast::<Viommu<T>>();
        // SAFETY: `this` is valid for writes (by the safety requirements) and its `data` and
        // `parent` are not initialised yet; `parent` outlives the vIOMMU.
        unsafe {
            (&raw mut (*this).data).write(data);
            (&raw mut (*this).parent).write(NonNull::from(parent));
            // INVARIANT: Set once `data` is initialised: `destroy` drops it. Until then the
            // core calls no op, and frees the memory without `destroy` if this fails.
            (*raw).ops = &Self::VTABLE;
        }
    }

    extern "C" fn destroy(viommu: *mut bindings::iommufd_viommu) {
        let this = viommu.cast::<Viommu<T>>();
        // SAFETY: The core calls `destroy` once on a vIOMMU with these ops, so initialised by
        // `init`, and frees it afterwards without touching the driver's part.
        unsafe { ptr::drop_in_place(&raw mut (*this).data) };
    }

    extern "C" fn alloc_domain_nested(
        viommu: *mut bindings::iommufd_viommu,
        flags: u32,
        user_data: *const bindings::iommu_user_data,
    ) -> *mut bindings::iommu_domain {
        // SAFETY: The core calls this with a live vIOMMU of these ops and NULL or valid data.
        let (viommu, data) = unsafe { (Self::viommu(viommu), UserData::from_raw_opt(user_data)) };
        let Some(data) = data else {
            return EINVAL.to_ptr();
        };
        match T::alloc_domain_nested(viommu, flags, data) {
            Ok(d) if d.domain_type() == domain_type::NESTED => into_core(d),
            // The core WARNs on any other type; refuse it here instead.
            Ok(_) => EINVAL.to_ptr(),
            Err(e) => e.to_ptr(),
        }
    }

    extern "C" fn cache_invalidate(
        viommu: *mut bindings::iommufd_viommu,
        array: *mut bindings::iommu_user_data_array,
    ) -> c_int {
        // SAFETY: The core calls this with a live vIOMMU of these ops and a valid array that
        // only this call accesses.
        let (viommu, array) = unsafe { (Self::viommu(viommu), UserDataArray::from_raw(array)) };
        from_result(|| {
            T::cache_invalidate(viommu, array)?;
            Ok(0)
        })
    }

    extern "C" fn vdevice_init(vdev: *mut bindings::iommufd_vdevice) -> c_int {
        from_result(|| {
            // SAFETY: The core calls this with a valid vDEVICE of a vIOMMU of these ops.
            let (viommu, dev, virt_id) = unsafe {
                (
                    Self::viommu((*vdev).viommu),
                    bindings::iommufd_vdevice_to_device(vdev),
                    (*vdev).virt_id,
                )
            };
            // SAFETY: The core checked that the device is behind the vIOMMU's instance, of
            // `T::Iommu`; the vDEVICE holds the device for the duration of the call.
            let dev = unsafe { ClientDevice::from_raw(dev) };
            T::vdevice_init(viommu, dev, virt_id)?;
            Ok(0)
        })
    }

    const VTABLE: bindings::iommufd_viommu_ops = bindings::iommufd_viommu_ops {
        destroy: Some(Self::destroy),
        alloc_domain_nested: if T::HAS_ALLOC_DOMAIN_NESTED {
            Some(Self::alloc_domain_nested)
        } else {
            None
        },
        cache_invalidate: if T::HAS_CACHE_INVALIDATE {
            Some(Self::cache_invalidate)
        } else {
            None
        },
        vdevice_init: if T::HAS_VDEVICE_INIT {
            Some(Self::vdevice_init)
        } else {
            None
        },
        ..pin_init::zeroed()
    };
}
