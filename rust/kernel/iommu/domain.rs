// SPDX-License-Identifier: GPL-2.0

//! IOMMU domains: `struct iommu_domain` with driver data, and their operations.
//!
//! C header: [`include/linux/iommu.h`](srctree/include/linux/iommu.h)

use core::{
    any::TypeId,
    marker::PhantomData,
    ops::Deref,
    pin::Pin,
    ptr, //
};

use crate::{
    alloc::{
        flags,
        Flags, //
    },
    bindings,
    error::{
        from_result,
        VTABLE_DEFAULT_ERROR, //
    },
    io::PhysAddr,
    prelude::*,
    types::Opaque, //
};

use super::{
    ClientDevice,
    DirtyBitmap,
    DirtyFlags,
    IotlbGather,
    Ops, //
};

/// Domain types (`IOMMU_DOMAIN_*`).
pub mod domain_type {
    use crate::bindings;

    /// All DMA is blocked.
    pub const BLOCKED: u32 = 0;
    /// DMA addresses are system physical addresses.
    pub const IDENTITY: u32 = bindings::__IOMMU_DOMAIN_PT;
    /// A paging domain managed by a user of the IOMMU API.
    pub const UNMANAGED: u32 = bindings::__IOMMU_DOMAIN_PAGING;
    /// A paging domain used by the DMA API.
    pub const DMA: u32 = bindings::__IOMMU_DOMAIN_PAGING | bindings::__IOMMU_DOMAIN_DMA_API;
    /// A paging domain used by the DMA API with a flush queue.
    pub const DMA_FQ: u32 = DMA | bindings::__IOMMU_DOMAIN_DMA_FQ;
    /// A domain sharing a process address space.
    pub const SVA: u32 = bindings::__IOMMU_DOMAIN_SVA;
    /// A nested (stage-1 on a parent) domain.
    pub const NESTED: u32 = bindings::__IOMMU_DOMAIN_NESTED;
}

/// Operations of a domain type (`struct iommu_domain_ops` and `struct iommu_dirty_ops`).
///
/// Implemented by the driver's domain data; every callback receives the [`Domain`] that embeds
/// it. Callbacks that are not implemented are NULL in the C ops table, which the core treats as
/// "not supported" (e.g. no `iotlb_sync`, no dirty tracking).
///
/// There is no `free` callback: the core's `free` drops the [`Domain`] and thereby the data, so
/// the driver's teardown is the `Drop` of its domain data.
#[vtable]
pub trait DomainOps: Sized + Send + Sync + 'static {
    /// The IOMMU driver whose devices this domain type is attached to.
    type Iommu: Ops;

    /// Attaches `dev` (its RID, i.e. all untagged DMA) to the domain, replacing `old`.
    ///
    /// Required. On error the device's previous translation must remain in place.
    fn attach_dev(
        domain: &Domain<Self>,
        dev: &ClientDevice<Self::Iommu>,
        old: Option<&AnyDomain>,
    ) -> Result;

    /// Sets the domain of a PASID of `dev`, replacing `old`.
    fn set_dev_pasid(
        _domain: &Domain<Self>,
        _dev: &ClientDevice<Self::Iommu>,
        _pasid: u32,
        _old: Option<&AnyDomain>,
    ) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Maps the pages of `req`; adds the number of bytes mapped (even on error) to `mapped`.
    fn map_pages(_domain: &Domain<Self>, _req: &MapRequest, _mapped: &mut usize) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Unmaps the pages of `req` (or a prefix of them), records the range to invalidate in
    /// `gather` and returns the number of bytes unmapped.
    fn unmap_pages(_domain: &Domain<Self>, _req: &UnmapRequest, _gather: &IotlbGather) -> usize {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Flushes all IOTLB entries of the domain synchronously.
    fn flush_iotlb_all(_domain: &Domain<Self>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Makes the new mappings of `[iova, iova + size)` visible to the hardware.
    fn iotlb_sync_map(_domain: &Domain<Self>, _iova: usize, _size: usize) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Invalidates the range gathered in `gather`.
    fn iotlb_sync(_domain: &Domain<Self>, _gather: &IotlbGather) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Translates the IOVA of `req` with a software walk; returns 0 if it is not mapped.
    fn iova_to_phys(_domain: &Domain<Self>, _req: &LookupRequest) -> PhysAddr {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Makes the domain block no-snoop DMA; returns `true` on success.
    fn enforce_cache_coherency(_domain: &Domain<Self>) -> bool {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Sets io-pgtable quirks (`IO_PGTABLE_QUIRK_*`) before the domain is finalised.
    fn set_pgtable_quirks(_domain: &Domain<Self>, _quirks: usize) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Enables or disables dirty tracking on all attachments of the domain.
    ///
    /// Only used on domains created with [`PagingConfig::dirty_tracking`].
    fn set_dirty_tracking(_domain: &Domain<Self>, _enabled: bool) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Records the dirty pages of the range of `req` in `dirty` and clears their dirty state,
    /// unless the request has [`DirtyFlags::NO_CLEAR`].
    fn read_and_clear_dirty(
        _domain: &Domain<Self>,
        _req: &DirtyRequest,
        _dirty: &DirtyBitmap,
    ) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// A request of the IOMMU core to map pages into a domain (`map_pages`).
///
/// Only the core creates requests. Whoever called the IOMMU API for it (`iommu_map()`) is
/// responsible for the memory being mapped and for serialising changes to overlapping ranges,
/// which is what lets [`IoPageTable::map`](super::pgtable::IoPageTable::map) carry out a request
/// safely. A request must only be carried out on the page table of the domain it was given with.
pub struct MapRequest {
    iova: usize,
    paddr: PhysAddr,
    pgsize: usize,
    pgcount: usize,
    prot: u32,
    gfp: Flags,
}

impl MapRequest {
    /// First IOVA to map.
    pub fn iova(&self) -> usize {
        self.iova
    }

    /// Physical address of the first page.
    pub fn paddr(&self) -> PhysAddr {
        self.paddr
    }

    /// Page size.
    pub fn pgsize(&self) -> usize {
        self.pgsize
    }

    /// Number of pages.
    pub fn pgcount(&self) -> usize {
        self.pgcount
    }

    /// `IOMMU_*` protection flags.
    pub fn prot(&self) -> u32 {
        self.prot
    }

    /// Allocation flags for page-table memory.
    pub fn gfp(&self) -> Flags {
        self.gfp
    }
}

/// A request of the IOMMU core to unmap pages from a domain (`unmap_pages`).
///
/// See [`MapRequest`] for why it exists.
pub struct UnmapRequest {
    iova: usize,
    pgsize: usize,
    pgcount: usize,
}

impl UnmapRequest {
    /// First IOVA to unmap.
    pub fn iova(&self) -> usize {
        self.iova
    }

    /// Page size.
    pub fn pgsize(&self) -> usize {
        self.pgsize
    }

    /// Number of pages.
    pub fn pgcount(&self) -> usize {
        self.pgcount
    }
}

/// A request of the IOMMU core to translate an IOVA of a domain (`iova_to_phys`).
///
/// See [`MapRequest`] for why it exists.
pub struct LookupRequest {
    iova: u64,
}

impl LookupRequest {
    /// The IOVA to translate.
    pub fn iova(&self) -> u64 {
        self.iova
    }
}

/// A request of the IOMMU core to read (and clear) the dirty state of a range of a domain.
///
/// See [`MapRequest`] for why it exists.
pub struct DirtyRequest {
    iova: usize,
    size: usize,
    flags: DirtyFlags,
}

impl DirtyRequest {
    /// First IOVA of the range.
    pub fn iova(&self) -> usize {
        self.iova
    }

    /// Size of the range in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Flags of the request.
    pub fn flags(&self) -> DirtyFlags {
        self.flags
    }
}

/// The configuration of a paging domain, as the core sees it.
#[derive(Clone, Copy)]
pub struct PagingConfig {
    /// Supported page sizes, as a bitmap of powers of two.
    pub pgsize_bitmap: usize,
    /// First IOVA that can be mapped.
    pub aperture_start: u64,
    /// Last IOVA that can be mapped.
    pub aperture_end: u64,
    /// DMA outside the aperture is blocked.
    pub force_aperture: bool,
    /// Install the dirty-tracking operations (domain allocated with
    /// [`PagingFlags::DIRTY_TRACKING`](super::PagingFlags::DIRTY_TRACKING)).
    pub dirty_tracking: bool,
}

/// An IOMMU domain of type `D`: `struct iommu_domain` followed by the driver's data.
///
/// Paging domains are created with [`Domain::new`] and returned from
/// [`Ops::domain_alloc_paging`]. From then on the IOMMU core owns the domain: Rust code only sees
/// it as `&Domain<D>` in callbacks, until the core's `free` drops it.
///
/// # Invariants
///
/// - `raw` is at offset 0 and `raw.ops` points to `DomainAdapter::<D>::VTABLE` (allocated
///   domains) or `DomainAdapter::<D>::STATIC_VTABLE` (static domains).
/// - `type_id` is `TypeId::of::<D>`; every `Domain<D>` has the same prefix layout (`raw`,
///   `type_id`), which is how [`AnyDomain::downcast`] recognises the type of a domain.
/// - An allocated domain lives in a `KBox` that is owned by the IOMMU core between
///   `domain_alloc_paging_flags` and `free`.
#[repr(C)]
#[pin_data]
pub struct Domain<D: DomainOps> {
    raw: Opaque<bindings::iommu_domain>,
    type_id: fn() -> TypeId,
    #[pin]
    data: D,
}

/// The type-independent prefix of every [`Domain`].
#[repr(C)]
struct DomainHeader {
    raw: Opaque<bindings::iommu_domain>,
    type_id: fn() -> TypeId,
}

// SAFETY: The core synchronises its own accesses to `struct iommu_domain`; `D` is `Send`.
unsafe impl<D: DomainOps> Send for Domain<D> {}
// SAFETY: Rust only reads fields of `struct iommu_domain` that are constant while callbacks run;
// `D` is `Sync`.
unsafe impl<D: DomainOps> Sync for Domain<D> {}

impl<D: DomainOps> Domain<D> {
    /// Allocates a paging domain with the given configuration and driver data.
    ///
    /// Fails with `EOPNOTSUPP` if `config.dirty_tracking` is set but `D` has no dirty-tracking
    /// operations. `D` must implement `map_pages` and `unmap_pages` (checked at build time).
    pub fn new(config: PagingConfig, data: impl PinInit<D, Error>) -> Result<Pin<KBox<Self>>> {
        build_assert!(
            D::HAS_MAP_PAGES && D::HAS_UNMAP_PAGES,
            "paging domains must implement `map_pages` and `unmap_pages`"
        );
        if config.dirty_tracking && !(D::HAS_SET_DIRTY_TRACKING && D::HAS_READ_AND_CLEAR_DIRTY) {
            return Err(EOPNOTSUPP);
        }
        let raw = bindings::iommu_domain {
            // Callers that allocate through the core (`iommu_paging_domain_alloc*()`) have the
            // type set again by the core; iommufd uses the domain as the driver returns it, so a
            // paging domain must already be `IOMMU_DOMAIN_UNMANAGED`, as C drivers make it.
            type_: domain_type::UNMANAGED,
            ops: &DomainAdapter::<D>::VTABLE,
            dirty_ops: if config.dirty_tracking {
                &DomainAdapter::<D>::DIRTY_VTABLE
            } else {
                ptr::null()
            },
            pgsize_bitmap: config.pgsize_bitmap,
            geometry: bindings::iommu_domain_geometry {
                aperture_start: config.aperture_start,
                aperture_end: config.aperture_end,
                force_aperture: config.force_aperture,
            },
            ..pin_init::zeroed()
        };
        // INVARIANT: `raw.ops` is the allocated-domain ops table of `D`.
        KBox::try_pin_init(
            try_pin_init!(Self {
                raw: Opaque::new(raw),
                type_id: TypeId::of::<D>,
                data <- data,
            }),
            flags::GFP_KERNEL,
        )
    }

    /// Allocates a nested domain: a translation stage that a vIOMMU's guest controls (for
    /// instance an SMMUv3 stage 1 from a vSTE), on the vIOMMU's parent paging domain.
    ///
    /// `D` must not implement the paging operations (checked at build time): the core maps
    /// nothing into a nested domain, the guest does.
    pub fn new_nested(data: impl PinInit<D, Error>) -> Result<Pin<KBox<Self>>> {
        build_assert!(
            !(D::HAS_MAP_PAGES || D::HAS_UNMAP_PAGES || D::HAS_IOVA_TO_PHYS),
            "nested domains have no paging operations"
        );
        let raw = bindings::iommu_domain {
            type_: domain_type::NESTED,
            ops: &DomainAdapter::<D>::VTABLE,
            ..pin_init::zeroed()
        };
        // INVARIANT: `raw.ops` is the allocated-domain ops table of `D`.
        KBox::try_pin_init(
            try_pin_init!(Self {
                raw: Opaque::new(raw),
                type_id: TypeId::of::<D>,
                data <- data,
            }),
            flags::GFP_KERNEL,
        )
    }

    /// Returns the raw `struct iommu_domain`.
    pub(crate) fn as_raw(&self) -> *mut bindings::iommu_domain {
        self.raw.get()
    }

    /// Converts a raw domain into a [`Domain`].
    ///
    /// # Safety
    ///
    /// `ptr` must be the `raw` field of a live `Domain<D>` that stays alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::iommu_domain) -> &'a Self {
        // SAFETY: `raw` is at offset 0 (type invariants); the caller guarantees liveness.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Returns the domain type (one of [`domain_type`]).
    pub fn domain_type(&self) -> u32 {
        // SAFETY: `raw` is valid; `type` is set by the core before the domain is used.
        unsafe { (*self.as_raw()).type_ }
    }

    /// Returns the page sizes of the domain.
    pub fn pgsize_bitmap(&self) -> usize {
        // SAFETY: `raw` is valid; the field is constant after allocation.
        unsafe { (*self.as_raw()).pgsize_bitmap }
    }

    /// Returns `true` if the domain tracks dirty pages (has dirty ops).
    pub fn has_dirty_tracking(&self) -> bool {
        // SAFETY: `raw` is valid; the field is constant after allocation.
        !unsafe { (*self.as_raw()).dirty_ops }.is_null()
    }

    /// Returns `true` if the core hands the page faults of devices attached to the domain to a
    /// handler (`iopf_handler`, set by its owner, such as iommufd, before the first attach).
    pub fn has_iopf_handler(&self) -> bool {
        // SAFETY: `raw` is valid; the field is set before the domain is first attached and not
        // changed while devices are attached to it.
        unsafe { (*self.as_raw()).iopf_handler }.is_some()
    }
}

impl<D: DomainOps> Deref for Domain<D> {
    type Target = D;

    fn deref(&self) -> &D {
        &self.data
    }
}

/// A statically allocated domain (identity, blocked or release domain) of type `D`.
///
/// Place it in a `static` and refer to it from [`Ops::IDENTITY_DOMAIN`] and friends through
/// [`StaticDomain::new`]. The core never frees it.
#[repr(transparent)]
pub struct StaticDomainCell<D: DomainOps>(Domain<D>);

impl<D: DomainOps> StaticDomainCell<D> {
    const fn with_type(domain_type: u32, data: D) -> Self {
        let raw = bindings::iommu_domain {
            type_: domain_type,
            ops: &DomainAdapter::<D>::STATIC_VTABLE,
            ..pin_init::zeroed()
        };
        // INVARIANT: `raw.ops` is the static-domain ops table of `D`.
        Self(Domain {
            raw: Opaque::new(raw),
            type_id: TypeId::of::<D>,
            data,
        })
    }

    /// Creates a static identity domain.
    pub const fn identity(data: D) -> Self {
        Self::with_type(domain_type::IDENTITY, data)
    }

    /// Creates a static blocking domain.
    pub const fn blocked(data: D) -> Self {
        Self::with_type(domain_type::BLOCKED, data)
    }
}

/// A reference to a static domain of an IOMMU driven by `T`, for the ops table.
///
/// # Invariants
///
/// The pointer is the `raw` field of a `'static` [`StaticDomainCell<D>`] with
/// `D: DomainOps<Iommu = T>`.
pub struct StaticDomain<T: Ops>(*mut bindings::iommu_domain, PhantomData<T>);

impl<T: Ops> StaticDomain<T> {
    /// Refers to `cell`, whose domain type must attach devices of `T`.
    pub const fn new<D: DomainOps<Iommu = T>>(cell: &'static StaticDomainCell<D>) -> Self {
        // INVARIANT: `cell` is a `'static` static-domain cell of a domain type of `T`.
        Self(cell.0.raw.get(), PhantomData)
    }

    pub(crate) const fn as_raw(&self) -> *mut bindings::iommu_domain {
        self.0
    }
}

/// A domain of unknown type: the domain a device was attached to before an attach.
///
/// The core only attaches a device to domains of the device's IOMMU driver (allocated by its
/// ops, or its static domains), so for a Rust driver every such domain is a [`Domain`] of one of
/// the driver's domain types, which [`AnyDomain::downcast`] recovers.
///
/// # Invariants
///
/// The wrapped `struct iommu_domain` is the `raw` field of a valid [`Domain`] of some type.
#[repr(transparent)]
pub struct AnyDomain(Opaque<bindings::iommu_domain>);

impl AnyDomain {
    /// # Safety
    ///
    /// `ptr` must be NULL or point to the `raw` field of a [`Domain`] that is valid for `'a`.
    pub(crate) unsafe fn from_raw_opt<'a>(ptr: *mut bindings::iommu_domain) -> Option<&'a Self> {
        // SAFETY: `AnyDomain` is a transparent wrapper; validity is guaranteed by the caller.
        (!ptr.is_null()).then(|| unsafe { &*ptr.cast::<Self>() })
    }

    /// Returns the domain type (one of [`domain_type`]).
    pub fn domain_type(&self) -> u32 {
        // SAFETY: The domain is valid by the type invariants.
        unsafe { (*self.0.get()).type_ }
    }

    /// Returns `true` if the core hands page faults in this domain to a handler (see
    /// [`Domain::has_iopf_handler`]).
    pub fn has_iopf_handler(&self) -> bool {
        // SAFETY: The domain is valid by the type invariants; the field is not changed while
        // devices are attached to it.
        unsafe { (*self.0.get()).iopf_handler }.is_some()
    }

    /// Returns `true` if this is `domain`.
    pub fn is<D: DomainOps>(&self, domain: &Domain<D>) -> bool {
        ptr::eq(self.0.get(), domain.as_raw())
    }

    /// Returns the domain as a `Domain<D>` if it is one.
    pub fn downcast<D: DomainOps>(&self) -> Option<&Domain<D>> {
        let header = self.0.get().cast::<DomainHeader>();
        // SAFETY: By the type invariants the domain is a `Domain` of some type, all of which
        // start with a `DomainHeader`.
        let type_id = unsafe { (*header).type_id };
        if type_id() == TypeId::of::<D>() {
            // SAFETY: The type ID says this is a `Domain<D>`; it is valid for the lifetime of
            // `self`.
            Some(unsafe { Domain::from_raw(self.0.get()) })
        } else {
            None
        }
    }
}

/// Converts the `gfp_t` given to `map_pages` into allocation flags.
fn gfp_to_flags(gfp: bindings::gfp_t) -> Flags {
    if gfp & bindings::__GFP_DIRECT_RECLAIM == 0 {
        flags::GFP_ATOMIC
    } else if gfp & bindings::__GFP_ACCOUNT != 0 {
        flags::GFP_KERNEL_ACCOUNT
    } else {
        flags::GFP_KERNEL
    }
}

/// The C callbacks of a domain type `D`.
pub(crate) struct DomainAdapter<D: DomainOps>(PhantomData<D>);

impl<D: DomainOps> DomainAdapter<D> {
    /// # Safety
    ///
    /// `domain` must be the `raw` field of a live `Domain<D>` for the duration of the callback.
    unsafe fn domain<'a>(domain: *mut bindings::iommu_domain) -> &'a Domain<D> {
        // SAFETY: Forwarded from the caller.
        unsafe { Domain::from_raw(domain) }
    }

    /// # Safety
    ///
    /// `dev` must be a client device of an instance of `D::Iommu`.
    unsafe fn client<'a>(dev: *mut bindings::device) -> &'a ClientDevice<D::Iommu> {
        // SAFETY: The core only attaches domains to devices of the IOMMU that allocated them
        // (`domain_iommu_ops_compatible()`), and `D::Iommu` is the only driver of `D`.
        unsafe { ClientDevice::from_raw(dev) }
    }

    extern "C" fn attach_dev(
        domain: *mut bindings::iommu_domain,
        dev: *mut bindings::device,
        old: *mut bindings::iommu_domain,
    ) -> c_int {
        // SAFETY: The core calls this with a live domain of this type, a probed client device
        // of the domain's IOMMU and NULL or the device's previous domain, which belongs to the
        // same IOMMU driver and thus is a `Domain` (see `AnyDomain`).
        let (domain, dev, old) = unsafe {
            (
                Self::domain(domain),
                Self::client(dev),
                AnyDomain::from_raw_opt(old),
            )
        };
        from_result(|| {
            D::attach_dev(domain, dev, old)?;
            Ok(0)
        })
    }

    extern "C" fn set_dev_pasid(
        domain: *mut bindings::iommu_domain,
        dev: *mut bindings::device,
        pasid: bindings::ioasid_t,
        old: *mut bindings::iommu_domain,
    ) -> c_int {
        // SAFETY: As for `attach_dev`.
        let (domain, dev, old) = unsafe {
            (
                Self::domain(domain),
                Self::client(dev),
                AnyDomain::from_raw_opt(old),
            )
        };
        from_result(|| {
            D::set_dev_pasid(domain, dev, pasid, old)?;
            Ok(0)
        })
    }

    extern "C" fn map_pages(
        domain: *mut bindings::iommu_domain,
        iova: usize,
        paddr: bindings::phys_addr_t,
        pgsize: usize,
        pgcount: usize,
        prot: c_int,
        gfp: bindings::gfp_t,
        mapped: *mut usize,
    ) -> c_int {
        // SAFETY: The core calls this with a live domain of this type.
        let domain = unsafe { Self::domain(domain) };
        let req = MapRequest {
            iova,
            paddr,
            pgsize,
            pgcount,
            // CAST: `prot` holds `IOMMU_*` bit flags.
            prot: prot as u32,
            gfp: gfp_to_flags(gfp),
        };
        let mut done = 0;
        let ret = from_result(|| {
            D::map_pages(domain, &req, &mut done)?;
            Ok(0)
        });
        // SAFETY: `mapped` is a valid pointer to the core's counter.
        unsafe { *mapped += done };
        ret
    }

    extern "C" fn unmap_pages(
        domain: *mut bindings::iommu_domain,
        iova: usize,
        pgsize: usize,
        pgcount: usize,
        gather: *mut bindings::iommu_iotlb_gather,
    ) -> usize {
        // SAFETY: The core calls this with a live domain of this type and a valid gather that
        // nothing else uses during the call.
        let (domain, gather) = unsafe { (Self::domain(domain), IotlbGather::from_raw(gather)) };
        let req = UnmapRequest {
            iova,
            pgsize,
            pgcount,
        };
        D::unmap_pages(domain, &req, gather)
    }

    extern "C" fn flush_iotlb_all(domain: *mut bindings::iommu_domain) {
        // SAFETY: The core calls this with a live domain of this type.
        D::flush_iotlb_all(unsafe { Self::domain(domain) })
    }

    extern "C" fn iotlb_sync_map(
        domain: *mut bindings::iommu_domain,
        iova: usize,
        size: usize,
    ) -> c_int {
        // SAFETY: The core calls this with a live domain of this type.
        let domain = unsafe { Self::domain(domain) };
        from_result(|| {
            D::iotlb_sync_map(domain, iova, size)?;
            Ok(0)
        })
    }

    extern "C" fn iotlb_sync(
        domain: *mut bindings::iommu_domain,
        gather: *mut bindings::iommu_iotlb_gather,
    ) {
        // SAFETY: The core calls this with a live domain of this type and a valid gather.
        let (domain, gather) = unsafe { (Self::domain(domain), IotlbGather::from_raw(gather)) };
        D::iotlb_sync(domain, gather)
    }

    extern "C" fn iova_to_phys(
        domain: *mut bindings::iommu_domain,
        iova: bindings::dma_addr_t,
    ) -> bindings::phys_addr_t {
        // SAFETY: The core calls this with a live domain of this type.
        D::iova_to_phys(unsafe { Self::domain(domain) }, &LookupRequest { iova })
    }

    extern "C" fn enforce_cache_coherency(domain: *mut bindings::iommu_domain) -> bool {
        // SAFETY: The core calls this with a live domain of this type.
        D::enforce_cache_coherency(unsafe { Self::domain(domain) })
    }

    extern "C" fn set_pgtable_quirks(domain: *mut bindings::iommu_domain, quirks: usize) -> c_int {
        // SAFETY: The core calls this with a live domain of this type.
        let domain = unsafe { Self::domain(domain) };
        from_result(|| {
            D::set_pgtable_quirks(domain, quirks)?;
            Ok(0)
        })
    }

    extern "C" fn free(domain: *mut bindings::iommu_domain) {
        // SAFETY: `free` is only installed in `VTABLE`, i.e. on allocated domains, which the core
        // owns until this call (type invariants of `Domain`). `raw` is at offset 0, so the
        // pointer is the one `KBox::into_raw` returned.
        drop(unsafe { KBox::from_raw(domain.cast::<Domain<D>>()) });
    }

    extern "C" fn set_dirty_tracking(domain: *mut bindings::iommu_domain, enabled: bool) -> c_int {
        // SAFETY: The core calls this with a live domain of this type.
        let domain = unsafe { Self::domain(domain) };
        from_result(|| {
            D::set_dirty_tracking(domain, enabled)?;
            Ok(0)
        })
    }

    extern "C" fn read_and_clear_dirty(
        domain: *mut bindings::iommu_domain,
        iova: usize,
        size: usize,
        flags: usize,
        dirty: *mut bindings::iommu_dirty_bitmap,
    ) -> c_int {
        // SAFETY: The core calls this with a live domain of this type and a valid dirty bitmap.
        let (domain, dirty) = unsafe { (Self::domain(domain), DirtyBitmap::from_raw(dirty)) };
        let req = DirtyRequest {
            iova,
            size,
            flags: DirtyFlags::from_raw(flags),
        };
        from_result(|| {
            D::read_and_clear_dirty(domain, &req, dirty)?;
            Ok(0)
        })
    }

    const fn ops(free: bool) -> bindings::iommu_domain_ops {
        bindings::iommu_domain_ops {
            attach_dev: Some(Self::attach_dev),
            set_dev_pasid: if D::HAS_SET_DEV_PASID {
                Some(Self::set_dev_pasid)
            } else {
                None
            },
            map_pages: if D::HAS_MAP_PAGES {
                Some(Self::map_pages)
            } else {
                None
            },
            unmap_pages: if D::HAS_UNMAP_PAGES {
                Some(Self::unmap_pages)
            } else {
                None
            },
            flush_iotlb_all: if D::HAS_FLUSH_IOTLB_ALL {
                Some(Self::flush_iotlb_all)
            } else {
                None
            },
            iotlb_sync_map: if D::HAS_IOTLB_SYNC_MAP {
                Some(Self::iotlb_sync_map)
            } else {
                None
            },
            iotlb_sync: if D::HAS_IOTLB_SYNC {
                Some(Self::iotlb_sync)
            } else {
                None
            },
            iova_to_phys: if D::HAS_IOVA_TO_PHYS {
                Some(Self::iova_to_phys)
            } else {
                None
            },
            enforce_cache_coherency: if D::HAS_ENFORCE_CACHE_COHERENCY {
                Some(Self::enforce_cache_coherency)
            } else {
                None
            },
            set_pgtable_quirks: if D::HAS_SET_PGTABLE_QUIRKS {
                Some(Self::set_pgtable_quirks)
            } else {
                None
            },
            free: if free { Some(Self::free) } else { None },
            ..pin_init::zeroed()
        }
    }

    /// The ops of allocated domains: `free` drops the domain.
    pub(crate) const VTABLE: bindings::iommu_domain_ops = Self::ops(true);

    /// The ops of static domains: the core must never free them.
    pub(crate) const STATIC_VTABLE: bindings::iommu_domain_ops = Self::ops(false);

    /// The dirty-tracking ops.
    pub(crate) const DIRTY_VTABLE: bindings::iommu_dirty_ops = bindings::iommu_dirty_ops {
        set_dirty_tracking: if D::HAS_SET_DIRTY_TRACKING {
            Some(Self::set_dirty_tracking)
        } else {
            None
        },
        read_and_clear_dirty: if D::HAS_READ_AND_CLEAR_DIRTY {
            Some(Self::read_and_clear_dirty)
        } else {
            None
        },
    };
}

/// Hands an allocated domain over to the core.
pub(crate) fn into_core<D: DomainOps>(domain: Pin<KBox<Domain<D>>>) -> *mut bindings::iommu_domain {
    // SAFETY: The domain is never moved out of the box: the core only uses the pointer, and
    // `DomainAdapter::free` rebuilds the pinned box in place.
    let domain = unsafe { Pin::into_inner_unchecked(domain) };
    // INVARIANT: The core owns the box from now on, until `free`.
    KBox::into_raw(domain).cast()
}
