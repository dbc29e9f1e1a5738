// SPDX-License-Identifier: GPL-2.0

//! IOMMU driver operations (`struct iommu_ops`).
//!
//! C header: [`include/linux/iommu.h`](srctree/include/linux/iommu.h)

use core::{
    marker::PhantomData,
    pin::Pin,
    ptr, //
};

use crate::{
    bindings,
    build_assert::build_assert,
    error::{
        from_result,
        VTABLE_DEFAULT_ERROR, //
    },
    module::this_module,
    prelude::*,
    sync::aref::ARef,
    transmute::AsBytes,
    types::{
        ForeignOwnable,
        Opaque, //
    },
};

use super::{
    device::find_by_fwnode,
    domain::into_core,
    iommufd::UserData,
    viommu::{
        ViommuAdapter,
        ViommuOps, //
    },
    AnyDomain,
    ClientDevice,
    Domain,
    DomainOps,
    Group,
    IommuDevice,
    OfPhandleArgs,
    ResvRegions,
    StaticDomain,
    Viommu, //
};

/// A per-device IOMMU capability (`enum iommu_cap`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Capability(u32);

impl Capability {
    /// `IOMMU_CACHE` is supported.
    pub const CACHE_COHERENCY: Self = Self(bindings::iommu_cap_IOMMU_CAP_CACHE_COHERENCY);
    /// `IOMMU_NOEXEC` flag.
    pub const NOEXEC: Self = Self(bindings::iommu_cap_IOMMU_CAP_NOEXEC);
    /// Firmware says it used the IOMMU for DMA protection and we should too.
    pub const PRE_BOOT_PROTECTION: Self = Self(bindings::iommu_cap_IOMMU_CAP_PRE_BOOT_PROTECTION);
    /// `enforce_cache_coherency()` will work.
    pub const ENFORCE_CACHE_COHERENCY: Self =
        Self(bindings::iommu_cap_IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
    /// The IOMMU is happy with deferred (lazy) invalidation.
    pub const DEFERRED_FLUSH: Self = Self(bindings::iommu_cap_IOMMU_CAP_DEFERRED_FLUSH);
    /// The IOMMU supports dirty tracking.
    pub const DIRTY_TRACKING: Self = Self(bindings::iommu_cap_IOMMU_CAP_DIRTY_TRACKING);
    /// The IOMMU supports PCI ATS for this device.
    pub const PCI_ATS_SUPPORTED: Self = Self(bindings::iommu_cap_IOMMU_CAP_PCI_ATS_SUPPORTED);

    /// Returns the raw `enum iommu_cap` value.
    pub fn as_raw(self) -> u32 {
        self.0
    }
}

/// Flags of a paging domain allocation (`IOMMU_HWPT_ALLOC_*`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PagingFlags(u32);

impl PagingFlags {
    /// No flags.
    pub const NONE: Self = Self(0);
    /// The domain will be the parent of nested domains.
    pub const NEST_PARENT: Self =
        Self(bindings::iommufd_hwpt_alloc_flags_IOMMU_HWPT_ALLOC_NEST_PARENT);
    /// The domain must support dirty tracking.
    pub const DIRTY_TRACKING: Self =
        Self(bindings::iommufd_hwpt_alloc_flags_IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
    /// The domain may be attached to PASIDs.
    pub const PASID: Self = Self(bindings::iommufd_hwpt_alloc_flags_IOMMU_HWPT_ALLOC_PASID);

    /// Creates flags from their raw value.
    pub fn from_raw(flags: u32) -> Self {
        Self(flags)
    }

    /// Returns the raw value.
    pub fn as_raw(self) -> u32 {
        self.0
    }

    /// Returns `true` if all flags of `other` are set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Returns `true` if only flags of `allowed` are set.
    pub fn is_subset_of(self, allowed: Self) -> bool {
        self.0 & !allowed.0 == 0
    }
}

impl core::ops::BitOr for PagingFlags {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// The default domain type a driver requires for a device (`def_domain_type`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DefaultDomain {
    /// The device must be in an identity domain.
    Identity,
    /// The device must be in a DMA-API paging domain.
    Dma,
}

/// A hardware information blob for `IOMMU_GET_HW_INFO`.
///
/// # Invariants
///
/// `ptr` was allocated with `kmalloc` and holds `len > 0` bytes.
pub struct HwInfo {
    ptr: *mut c_void,
    len: u32,
    info_type: u32,
}

impl HwInfo {
    /// Creates the blob from `data`, of uAPI type `info_type` (`IOMMU_HW_INFO_TYPE_*`).
    pub fn new<T: AsBytes>(data: KBox<T>, info_type: u32) -> Result<Self> {
        build_assert!(size_of::<T>() != 0);
        let len = u32::try_from(size_of::<T>())?;
        // INVARIANT: A `KBox` of a non-zero-sized type is allocated with `kmalloc`.
        Ok(Self {
            ptr: KBox::into_raw(data).cast(),
            len,
            info_type,
        })
    }
}

impl HwInfo {
    /// Returns the length of the blob in bytes.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Returns `false`: a blob is never empty.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Returns the uAPI type of the blob.
    pub fn info_type(&self) -> u32 {
        self.info_type
    }
}

impl Drop for HwInfo {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `ptr` is a `kmalloc` allocation that we own.
        unsafe { bindings::kfree(self.ptr) };
    }
}

/// A recoverable I/O page fault (`struct iopf_fault`), given to [`Ops::page_response`].
///
/// # Invariants
///
/// The wrapped fault is valid for the lifetime of the reference.
#[repr(transparent)]
pub struct IopfFault(Opaque<bindings::iopf_fault>);

impl IopfFault {
    /// Returns the fault's page request group index.
    pub fn grpid(&self) -> u32 {
        // SAFETY: The fault is valid by the type invariants; `prm` is the page request.
        unsafe { (*self.0.get()).fault.prm.grpid }
    }

    /// Returns the fault's PASID (valid if the fault has a PASID).
    pub fn pasid(&self) -> u32 {
        // SAFETY: As for `grpid`.
        unsafe { (*self.0.get()).fault.prm.pasid }
    }

    /// The PASID the response must carry: the request's, if it had one and the device wants it
    /// back (`IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID`).
    pub fn response_pasid(&self) -> Option<u32> {
        let want = bindings::IOMMU_FAULT_PAGE_REQUEST_PASID_VALID
            | bindings::IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID;
        // SAFETY: As for `grpid`.
        let flags = unsafe { (*self.0.get()).fault.prm.flags };
        (flags & want == want).then(|| self.pasid())
    }
}

/// What a page response tells the device (`enum iommu_page_response_code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageResponseCode {
    /// The fault was handled: retry the access (PCIe PRI "Success").
    Success,
    /// The fault could not be handled: do not retry (PCIe PRI "Invalid Request").
    Invalid,
    /// A general error: the device should stop issuing page requests (PCIe PRI "Response
    /// Failure").
    Failure,
}

/// The response to a page request (`struct iommu_page_response`).
///
/// # Invariants
///
/// The wrapped response is valid for the lifetime of the reference.
#[repr(transparent)]
pub struct PageResponse(Opaque<bindings::iommu_page_response>);

impl PageResponse {
    /// Returns the response code (`IOMMU_PAGE_RESP_*`).
    pub fn code(&self) -> u32 {
        // SAFETY: The response is valid by the type invariants.
        unsafe { (*self.0.get()).code }
    }

    /// Returns the response code, `None` for a value the core does not define.
    pub fn response_code(&self) -> Option<PageResponseCode> {
        match self.code() {
            bindings::iommu_page_response_code_IOMMU_PAGE_RESP_SUCCESS => {
                Some(PageResponseCode::Success)
            }
            bindings::iommu_page_response_code_IOMMU_PAGE_RESP_INVALID => {
                Some(PageResponseCode::Invalid)
            }
            bindings::iommu_page_response_code_IOMMU_PAGE_RESP_FAILURE => {
                Some(PageResponseCode::Failure)
            }
            _ => None,
        }
    }

    /// Returns the page request group index.
    pub fn grpid(&self) -> u32 {
        // SAFETY: The response is valid by the type invariants.
        unsafe { (*self.0.get()).grpid }
    }

    /// Returns the PASID.
    pub fn pasid(&self) -> u32 {
        // SAFETY: The response is valid by the type invariants.
        unsafe { (*self.0.get()).pasid }
    }
}

/// The operations of an IOMMU driver (`struct iommu_ops`).
///
/// Callbacks that are not implemented are NULL in the C ops table, which the core treats as
/// "not supported". `probe_device`, `release_device` and `device_group` are always present:
/// without [`Ops::release_device`] the per-device data is simply dropped, without
/// [`Ops::device_group`] the group is [`Group::for_device`].
///
/// Devices are identified to the driver as [`ClientDevice`]s, which carry the driver's
/// per-device data from [`Ops::probe_device`] to [`Ops::release_device`].
#[vtable]
pub trait Ops: Sized + Send + Sync + 'static {
    /// Data of an IOMMU instance ([`IommuDevice::data`]).
    type IommuData: Send + Sync;

    /// Data of a client device ([`ClientDevice::data`]), created by [`Ops::probe_device`].
    type DeviceData: ForeignOwnable + Send + Sync;

    /// The driver's paging domain type.
    type PagingDomain: DomainOps<Iommu = Self>;

    /// The driver's iommufd vIOMMU type; [`NoViommu<Self>`](super::NoViommu) if it has none.
    type Viommu: ViommuOps<Iommu = Self>;

    /// A static identity domain, attachable to every device.
    const IDENTITY_DOMAIN: Option<StaticDomain<Self>> = None;

    /// A static blocking domain, attachable to every device.
    const BLOCKED_DOMAIN: Option<StaticDomain<Self>> = None;

    /// The domain the core attaches before `release_device`.
    const RELEASE_DOMAIN: Option<StaticDomain<Self>> = None;

    /// The driver lets user space manage the PASID table (e.g. SMMUv3 CD tables in a vIOMMU);
    /// page faults are then routed through the RID domain.
    const USER_PASID_TABLE: bool = false;

    /// Takes `dev` under the IOMMU instance `iommu`, returning the per-device data.
    ///
    /// The instance is the one the device's fwspec designates. Return `ENODEV` for devices the
    /// instance does not translate. A device without a fwspec is offered to each instance
    /// registered without a firmware node in turn, in registration order, until one returns
    /// anything but `ENODEV` (so a driver whose firmware describes its devices in tables of
    /// its own, as VT-d's DMAR, takes a device on the instance the table names).
    fn probe_device(
        iommu: &IommuDevice<Self>,
        dev: &ClientDevice<Self>,
    ) -> Result<Self::DeviceData>;

    /// Releases `dev`; `data` is the value [`Ops::probe_device`] returned.
    fn release_device(
        _iommu: &IommuDevice<Self>,
        _dev: &ClientDevice<Self>,
        _data: Self::DeviceData,
    ) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called after the device got its group and default domain.
    fn probe_finalize(_dev: &ClientDevice<Self>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns whether `dev` has the capability `cap`.
    fn capable(_dev: &ClientDevice<Self>, _cap: Capability) -> bool {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns the hardware information of the IOMMU of `dev` for `IOMMU_GET_HW_INFO`.
    ///
    /// `requested` is the uAPI type user space asked for (`IOMMU_HW_INFO_TYPE_DEFAULT` lets the
    /// driver choose); reject types the driver does not support with `EOPNOTSUPP`.
    fn hw_info(_dev: &ClientDevice<Self>, _requested: u32) -> Result<HwInfo> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns whether a vIOMMU of uAPI type `viommu_type` (one of
    /// [`viommu_type`](super::viommu_type)) can be allocated for `dev`.
    ///
    /// Implemented together with [`Ops::viommu_init`]; user space is told `EOPNOTSUPP` when this
    /// returns `false`.
    fn viommu_supported(_dev: &ClientDevice<Self>, _viommu_type: u32) -> bool {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns the driver's data of a new vIOMMU of `viommu_type` on the instance `iommu`,
    /// nesting on `parent` (a paging domain allocated with
    /// [`PagingFlags::NEST_PARENT`]); `user_data` is the optional driver-specific data of the
    /// request.
    fn viommu_init(
        _iommu: &IommuDevice<Self>,
        _parent: &Domain<Self::PagingDomain>,
        _viommu_type: u32,
        _user_data: Option<&UserData>,
    ) -> Result<Self::Viommu> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Allocates a paging domain for `dev`.
    ///
    /// `flags` are the allocation flags, `user_data` the optional driver-specific iommufd
    /// data. Return `EOPNOTSUPP` for flags or data the driver does not support.
    fn domain_alloc_paging(
        iommu: &IommuDevice<Self>,
        dev: &ClientDevice<Self>,
        flags: PagingFlags,
        user_data: Option<&UserData>,
    ) -> Result<Pin<KBox<Domain<Self::PagingDomain>>>>;

    /// Returns the group of `dev`.
    fn device_group(_dev: &ClientDevice<Self>) -> Result<ARef<Group>> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Translates a firmware `iommus` reference into fwspec IDs ([`ClientDevice::add_ids`]).
    fn of_xlate(_dev: &ClientDevice<Self>, _args: &OfPhandleArgs) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Adds the reserved regions of `dev` to `regions`.
    fn get_resv_regions(_dev: &ClientDevice<Self>, _regions: &ResvRegions) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns the default domain type `dev` requires, or `None` for no preference.
    fn def_domain_type(_dev: &ClientDevice<Self>) -> Option<DefaultDomain> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Sends the response `msg` to the page fault `evt` of `dev`.
    fn page_response(_dev: &ClientDevice<Self>, _evt: &IopfFault, _msg: &PageResponse) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The C callbacks of an IOMMU driver `T`.
pub(crate) struct Adapter<T: Ops>(PhantomData<T>);

impl<T: Ops> Adapter<T> {
    /// # Safety
    ///
    /// `dev` must be a device whose IOMMU is driven by `T`, valid for the callback.
    unsafe fn client<'a>(dev: *mut bindings::device) -> &'a ClientDevice<T> {
        // SAFETY: The core only calls the ops of `T` for devices whose fwspec (or lack of)
        // selected an instance registered with these ops.
        unsafe { ClientDevice::from_raw(dev) }
    }

    extern "C" fn probe_device(dev: *mut bindings::device) -> *mut bindings::iommu_device {
        // SAFETY: The core calls `probe_device` with a valid device whose fwspec designates an
        // instance with these ops.
        let client = unsafe { Self::client(dev) };
        let fwnode = client
            .fwspec()
            .and_then(|f| f.iommu_fwnode())
            .map_or(ptr::null_mut(), |n| n.as_raw());
        // Without a firmware node, every instance registered without one is a candidate, in
        // registration order: `ENODEV` from one passes the device to the next.
        let mut n = 0;
        // SAFETY: The core holds `iommu_probe_device_lock` while it calls `probe_device`.
        while let Some(iommu) = unsafe { find_by_fwnode::<T>(fwnode, n) } {
            match T::probe_device(iommu, client) {
                Ok(data) => {
                    // SAFETY: The device's `dev_iommu` exists and the probe lock is held, as
                    // `dev_iommu_priv_set` requires. The core owns the pointer until
                    // `release_device` (invariants of `ClientDevice`).
                    unsafe { bindings::dev_iommu_priv_set(dev, data.into_foreign()) };
                    return iommu.as_raw();
                }
                Err(e) if e == ENODEV && fwnode.is_null() => n += 1,
                Err(e) => return e.to_ptr(),
            }
        }
        ENODEV.to_ptr()
    }

    extern "C" fn release_device(dev: *mut bindings::device) {
        // SAFETY: The core calls `release_device` for a device probed by `probe_device`.
        let client = unsafe { Self::client(dev) };
        // SAFETY: This is `release_device`, called once per successful probe.
        let ptr = unsafe { client.take_data_ptr() };
        if ptr.is_null() {
            return;
        }
        // SAFETY: `ptr` comes from `into_foreign()` in `probe_device` and is no longer
        // reachable through the device.
        let data = unsafe { T::DeviceData::from_foreign(ptr) };
        match client.iommu() {
            Some(iommu) if T::HAS_RELEASE_DEVICE => T::release_device(iommu, client, data),
            _ => drop(data),
        }
    }

    extern "C" fn probe_finalize(dev: *mut bindings::device) {
        // SAFETY: The core calls this for a probed device of `T`.
        T::probe_finalize(unsafe { Self::client(dev) })
    }

    extern "C" fn capable(dev: *mut bindings::device, cap: bindings::iommu_cap) -> bool {
        // SAFETY: The core calls this for a probed device of `T`.
        T::capable(unsafe { Self::client(dev) }, Capability(cap))
    }

    extern "C" fn hw_info(
        dev: *mut bindings::device,
        length: *mut u32,
        info_type: *mut bindings::iommu_hw_info_type,
    ) -> *mut c_void {
        // SAFETY: The core calls this for a probed device of `T` with valid out pointers.
        let (client, requested) = unsafe { (Self::client(dev), *info_type) };
        match T::hw_info(client, requested) {
            Ok(info) => {
                let info = core::mem::ManuallyDrop::new(info);
                // SAFETY: The out pointers are valid; the core takes ownership of the blob and
                // frees it with `kfree`.
                unsafe {
                    *length = info.len;
                    *info_type = info.info_type;
                }
                info.ptr
            }
            Err(e) => e.to_ptr(),
        }
    }

    extern "C" fn domain_alloc_paging_flags(
        dev: *mut bindings::device,
        flags: u32,
        user_data: *const bindings::iommu_user_data,
    ) -> *mut bindings::iommu_domain {
        // SAFETY: The core calls this for a probed device of `T`, with NULL or valid user data.
        let (client, user_data) = unsafe { (Self::client(dev), UserData::from_raw_opt(user_data)) };
        let Some(iommu) = client.iommu() else {
            return ENODEV.to_ptr();
        };
        match T::domain_alloc_paging(iommu, client, PagingFlags(flags), user_data) {
            Ok(domain) => into_core(domain),
            Err(e) => e.to_ptr(),
        }
    }

    extern "C" fn get_viommu_size(
        dev: *mut bindings::device,
        viommu_type: bindings::iommu_viommu_type,
    ) -> usize {
        // SAFETY: The core calls this for a probed device of `T`.
        let client = unsafe { Self::client(dev) };
        if T::viommu_supported(client, viommu_type) {
            Viommu::<T::Viommu>::SIZE
        } else {
            0
        }
    }

    extern "C" fn viommu_init(
        viommu: *mut bindings::iommufd_viommu,
        parent: *mut bindings::iommu_domain,
        user_data: *const bindings::iommu_user_data,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls this with the vIOMMU it allocated with our size for a device
            // of `T` (so `iommu_dev` is an instance of `T`), a NEST_PARENT paging domain it
            // allocated through our ops and keeps alive with the vIOMMU, and NULL or valid data.
            let (iommu, parent, data) = unsafe {
                (
                    IommuDevice::<T>::from_raw((*viommu).iommu_dev),
                    AnyDomain::from_raw_opt(parent).ok_or(EINVAL)?,
                    UserData::from_raw_opt(user_data),
                )
            };
            let p = parent.downcast::<T::PagingDomain>().ok_or(EINVAL)?;
            // SAFETY: `viommu_type` is set by the core before this call.
            let viommu_type = unsafe { (*viommu).type_ };
            let data = T::viommu_init(iommu, p, viommu_type, data)?;
            // SAFETY: As above: the vIOMMU is ours to initialise, of `Viommu::<T::Viommu>::SIZE`
            // zeroed bytes, and the parent outlives it.
            unsafe { ViommuAdapter::<T::Viommu>::init(viommu, p, data) };
            Ok(0)
        })
    }

    extern "C" fn device_group(dev: *mut bindings::device) -> *mut bindings::iommu_group {
        // SAFETY: The core calls this for a probed device of `T`.
        let client = unsafe { Self::client(dev) };
        let group = if T::HAS_DEVICE_GROUP {
            T::device_group(client)
        } else {
            Group::for_device(client.as_ref())
        };
        match group {
            Ok(group) => Group::into_raw(group),
            Err(e) => e.to_ptr(),
        }
    }

    extern "C" fn of_xlate(
        dev: *mut bindings::device,
        args: *const bindings::of_phandle_args,
    ) -> c_int {
        // SAFETY: The core calls this for a device whose fwspec designates an instance of `T`,
        // with valid arguments.
        let (client, args) = unsafe { (Self::client(dev), OfPhandleArgs::from_raw(args)) };
        from_result(|| {
            T::of_xlate(client, args)?;
            Ok(0)
        })
    }

    extern "C" fn get_resv_regions(dev: *mut bindings::device, list: *mut bindings::list_head) {
        // SAFETY: The core calls this for a probed device of `T` with its own list.
        let (client, list) = unsafe { (Self::client(dev), ResvRegions::from_raw(list)) };
        T::get_resv_regions(client, list)
    }

    extern "C" fn def_domain_type(dev: *mut bindings::device) -> c_int {
        // SAFETY: The core calls this for a probed device of `T`.
        let client = unsafe { Self::client(dev) };
        let domain_type = match T::def_domain_type(client) {
            None => 0,
            Some(DefaultDomain::Identity) => super::domain_type::IDENTITY,
            Some(DefaultDomain::Dma) => super::domain_type::DMA,
        };
        // CAST: Domain types are small bit masks.
        domain_type as c_int
    }

    extern "C" fn page_response(
        dev: *mut bindings::device,
        evt: *mut bindings::iopf_fault,
        msg: *mut bindings::iommu_page_response,
    ) {
        // SAFETY: The core calls this for a probed device of `T` with a valid fault and response;
        // `IopfFault` and `PageResponse` are transparent wrappers.
        let (client, evt, msg) = unsafe {
            (
                Self::client(dev),
                &*evt.cast::<IopfFault>(),
                &*msg.cast::<PageResponse>(),
            )
        };
        T::page_response(client, evt, msg)
    }

    const fn static_domain(domain: &Option<StaticDomain<T>>) -> *mut bindings::iommu_domain {
        match domain {
            Some(d) => d.as_raw(),
            None => ptr::null_mut(),
        }
    }

    const VTABLE: bindings::iommu_ops = bindings::iommu_ops {
        capable: if T::HAS_CAPABLE {
            Some(Self::capable)
        } else {
            None
        },
        hw_info: if T::HAS_HW_INFO {
            Some(Self::hw_info)
        } else {
            None
        },
        domain_alloc_paging_flags: Some(Self::domain_alloc_paging_flags),
        probe_device: Some(Self::probe_device),
        release_device: Some(Self::release_device),
        probe_finalize: if T::HAS_PROBE_FINALIZE {
            Some(Self::probe_finalize)
        } else {
            None
        },
        device_group: Some(Self::device_group),
        get_resv_regions: if T::HAS_GET_RESV_REGIONS {
            Some(Self::get_resv_regions)
        } else {
            None
        },
        of_xlate: if T::HAS_OF_XLATE {
            Some(Self::of_xlate)
        } else {
            None
        },
        page_response: if T::HAS_PAGE_RESPONSE {
            Some(Self::page_response)
        } else {
            None
        },
        def_domain_type: if T::HAS_DEF_DOMAIN_TYPE {
            Some(Self::def_domain_type)
        } else {
            None
        },
        get_viommu_size: if T::HAS_VIOMMU_INIT {
            Some(Self::get_viommu_size)
        } else {
            None
        },
        viommu_init: if T::HAS_VIOMMU_INIT {
            Some(Self::viommu_init)
        } else {
            None
        },
        identity_domain: Self::static_domain(&T::IDENTITY_DOMAIN),
        blocked_domain: Self::static_domain(&T::BLOCKED_DOMAIN),
        release_domain: Self::static_domain(&T::RELEASE_DOMAIN),
        owner: this_module::<T::OwnerModule>().as_ptr(),
        _bitfield_1: bindings::__BindgenBitfieldUnit::new([T::USER_PASID_TABLE as u8]),
        ..pin_init::zeroed()
    };

    /// Returns the ops table of `T`.
    pub(crate) const fn build() -> &'static bindings::iommu_ops {
        &Self::VTABLE
    }
}
