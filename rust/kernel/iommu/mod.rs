// SPDX-License-Identifier: GPL-2.0

//! IOMMU support.
//!
//! This module lets a Rust driver *be* an IOMMU (the provider side of the IOMMU core), and lets
//! kernel code use the IOMMU API on a device (the consumer side).
//!
//! C header: [`include/linux/iommu.h`](srctree/include/linux/iommu.h)
//!
//! # Provider side
//!
//! - [`Ops`] (`struct iommu_ops`) is implemented by the driver's IOMMU type. Callbacks receive the
//!   client device as a [`ClientDevice`]: a device that is *not* bound to the IOMMU driver, only
//!   translated by it, with typed access to its firmware IDs ([`FwSpec`]) and to the driver's
//!   per-device data ([`Ops::DeviceData`], stored as a [`ForeignOwnable`]).
//! - [`Registration`] registers an IOMMU instance (`struct iommu_device`, sysfs and core
//!   registration) for as long as the IOMMU's own device is bound.
//! - [`Domain`] embeds `struct iommu_domain` in front of the driver's domain data ("sub-classing");
//!   [`DomainOps`] is `struct iommu_domain_ops` plus the dirty-tracking ops. Paging domains are
//!   allocated by the driver as `Pin<KBox<Domain<D>>>`; the IOMMU core owns them from the moment
//!   [`Ops::domain_alloc_paging`] returns until it calls `free`, at which point the box is
//!   reconstructed and dropped. Identity, blocked and release domains are [`StaticDomain`]s.
//! - [`IotlbGather`] and [`DirtyBitmap`] are the safe forms of `struct iommu_iotlb_gather` and
//!   `struct iommu_dirty_bitmap`.
//! - [`Group`] (`struct iommu_group`), [`ResvRegions`] and [`OfPhandleArgs`] serve
//!   `device_group`, `get_resv_regions` and `of_xlate`.
//! - [`pgtable`] wraps `io-pgtable` for drivers that use the shared page-table code.
//! - [`iommufd`] holds the types shared with the iommufd driver API (user data).
//! - [`iort`] reads what the ACPI IORT says about an SMMU beyond its platform device.
//!
//! # Consumer side
//!
//! [`consumer`] wraps the IOMMU API used by kernel code on a device: paging domain allocation,
//! attach, map/unmap, IOVA lookup and DMA ownership.
//!
//! # Ownership
//!
//! - An [`IommuDevice`] lives inside its [`Registration`]; the core only calls the instance's
//!   callbacks while it is registered, and unregistering releases every client device first.
//! - A paging domain is a `Pin<KBox<Domain<D>>>` until [`Ops::domain_alloc_paging`] returns it;
//!   the core then owns the allocation and gives it back to `free`, which drops it. Static
//!   domains ([`StaticDomainCell`]) are never freed (their ops have no `free`).
//! - Per-device data is an [`Ops::DeviceData`] ([`ForeignOwnable`]) owned by the core between
//!   `probe_device` and `release_device`, and borrowed through [`ClientDevice::data`].
//! - Page-table changes are carried out for the core through request types ([`MapRequest`],
//!   [`UnmapRequest`], [`LookupRequest`], [`DirtyRequest`]) that only the core creates, so a
//!   driver can drive [`pgtable::IoPageTable`] without `unsafe`.
//!
//! # Example
//!
//! `drivers/iommu/rust-mock/iommu_rs_mock.rs` is a complete software IOMMU written against
//! these abstractions, without `unsafe`: static identity and blocking domains, a software page
//! table, io-pgtable stage-1 and stage-2 domains with TLB flush callbacks, dirty tracking and
//! reserved regions. In short:
//!
//! ```ignore
//! struct MyIommu;
//!
//! #[vtable]
//! impl iommu::Ops for MyIommu {
//!     type IommuData = Arc<MyHw>;
//!     type DeviceData = KBox<MyMaster>;
//!     type PagingDomain = MyDomain;
//!     type Viommu = iommu::NoViommu<Self>;
//!
//!     const BLOCKED_DOMAIN: Option<StaticDomain<Self>> = Some(StaticDomain::new(&BLOCKED));
//!
//!     fn probe_device(iommu: &IommuDevice<Self>, dev: &ClientDevice<Self>) -> Result<KBox<MyMaster>> {
//!         let sid = *dev.fwspec().and_then(|f| f.ids().first()).ok_or(ENODEV)?;
//!         Ok(KBox::new(MyMaster::new(iommu.data(), sid)?, GFP_KERNEL)?)
//!     }
//!
//!     fn domain_alloc_paging(
//!         iommu: &IommuDevice<Self>,
//!         _dev: &ClientDevice<Self>,
//!         flags: PagingFlags,
//!         user_data: Option<&UserData>,
//!     ) -> Result<Pin<KBox<Domain<MyDomain>>>> {
//!         if user_data.is_some() || flags != PagingFlags::NONE {
//!             return Err(EOPNOTSUPP);
//!         }
//!         Domain::new(MY_PAGING_CONFIG, MyDomain::new(iommu.data())?)
//!     }
//! }
//!
//! // In the platform driver's probe, for as long as the SMMU is bound:
//! let reg = KBox::pin_init(Registration::<MyIommu>::new(pdev.as_ref(), c"my-iommu", None, hw), GFP_KERNEL)?;
//! ```
//!
//! # What comes next
//!
//! - iommufd driver API ([`iommufd`]): vIOMMU/vDEVICE/HW-queue objects embedding the core
//!   struct at offset 0 like [`Domain`], with `get_viommu_size`/`viommu_init` added to [`Ops`].
//! - I/O page faults: [`IopfFault`] and [`Ops::page_response`] are the response half; the
//!   reporting half (`iommu_report_device_fault()`, `iopf_queue_*`) is a method of
//!   [`ClientDevice`] to come, taking a fault built by the driver.
//!
//! [`ForeignOwnable`]: crate::types::ForeignOwnable

#[cfg(CONFIG_IOMMU_API)]
mod client;
#[cfg(CONFIG_IOMMU_API)]
pub mod consumer;
#[cfg(CONFIG_IOMMU_API)]
mod device;
#[cfg(CONFIG_IOMMU_API)]
mod dirty;
#[cfg(CONFIG_IOMMU_API)]
mod domain;
#[cfg(CONFIG_IOMMU_API)]
mod gather;
#[cfg(CONFIG_IOMMU_API)]
mod group;
#[cfg(CONFIG_IOMMU_API)]
pub mod iommufd;
#[cfg(CONFIG_IOMMU_API)]
pub mod iort;
#[cfg(CONFIG_IOMMU_API)]
mod ops;
pub mod pgtable;
#[cfg(CONFIG_IOMMU_API)]
mod resv;
#[cfg(all(CONFIG_IOMMU_API, CONFIG_KUNIT))]
pub mod testing;
#[cfg(CONFIG_IOMMU_API)]
mod viommu;

#[cfg(CONFIG_IOMMU_API)]
pub use self::client::{
    ClientDevice,
    FwSpec,
    OfPhandleArgs, //
};
#[cfg(CONFIG_IOMMU_API)]
pub use self::device::{
    Config,
    IommuDevice,
    Registration, //
};
#[cfg(CONFIG_IOMMU_API)]
pub use self::dirty::{
    DirtyBitmap,
    DirtyFlags, //
};
#[cfg(CONFIG_IOMMU_API)]
pub use self::domain::{
    domain_type,
    AnyDomain,
    DirtyRequest,
    Domain,
    DomainOps,
    LookupRequest,
    MapRequest,
    PagingConfig,
    StaticDomain,
    StaticDomainCell,
    UnmapRequest, //
};
#[cfg(CONFIG_IOMMU_API)]
pub use self::gather::IotlbGather;
#[cfg(CONFIG_IOMMU_API)]
pub use self::group::Group;
#[cfg(CONFIG_IOMMU_API)]
pub use self::ops::{
    Capability,
    DefaultDomain,
    HwInfo,
    IopfFault,
    Ops,
    PageResponse,
    PagingFlags, //
};
#[cfg(CONFIG_IOMMU_API)]
pub use self::resv::{
    ResvRegion,
    ResvRegions,
    ResvType, //
};

#[cfg(CONFIG_IOMMU_API)]
pub use self::viommu::{
    viommu_type,
    NoViommu,
    UserDataArray,
    Viommu,
    ViommuOps,
    ViommuRef, //
};

/// Protection flags of IOMMU mappings (`IOMMU_READ`, ...).
pub use self::pgtable::prot;
