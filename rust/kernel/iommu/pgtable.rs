// SPDX-License-Identifier: GPL-2.0

//! IOMMU page table management.
//!
//! C header: [`include/linux/io-pgtable.h`](srctree/include/linux/io-pgtable.h)
//!
//! [`IoPageTable`] wraps the page tables of `io-pgtable` (ARM LPAE stage 1 and stage 2). TLB
//! maintenance requested by the page-table code goes to a [`FlushOps`] implementation with a
//! cookie, or nowhere with [`NoopFlush`] (for devices whose firmware manages the TLB).
//!
//! An IOMMU driver carries out the core's [`MapRequest`], [`UnmapRequest`], [`LookupRequest`]
//! and [`DirtyRequest`] with the safe [`IoPageTable::map`], [`IoPageTable::unmap`],
//! [`IoPageTable::iova_to_phys`] and [`IoPageTable::read_and_clear_dirty`]; other users have the
//! `unsafe` raw operations.

use core::{
    marker::PhantomData,
    ptr::NonNull, //
};

use crate::{
    alloc,
    bindings,
    device::{
        Bound,
        Device, //
    },
    error::to_result,
    io::PhysAddr,
    prelude::*,
    sync::aref::ARef,
    types::ForeignOwnable, //
};

#[cfg(CONFIG_IOMMU_API)]
use super::{
    DirtyBitmap,
    DirtyRequest,
    IotlbGather,
    LookupRequest,
    MapRequest,
    UnmapRequest, //
};

use bindings::io_pgtable_fmt;

/// Protection flags used with IOMMU mappings.
pub mod prot {
    /// Read access.
    pub const READ: u32 = bindings::IOMMU_READ;
    /// Write access.
    pub const WRITE: u32 = bindings::IOMMU_WRITE;
    /// Request cache coherency.
    pub const CACHE: u32 = bindings::IOMMU_CACHE;
    /// Request no-execute permission.
    pub const NOEXEC: u32 = bindings::IOMMU_NOEXEC;
    /// MMIO peripheral mapping.
    pub const MMIO: u32 = bindings::IOMMU_MMIO;
    /// Privileged mapping.
    pub const PRIVILEGED: u32 = bindings::IOMMU_PRIV;
}

/// Page-table quirks (`IO_PGTABLE_QUIRK_*`) for [`Config::quirks`].
pub mod quirks {
    /// Set the NS bit in PTEs (ARM).
    pub const ARM_NS: usize = 1 << 0;
    /// Ignore the protection flags (all mappings read/write).
    pub const NO_PERMS: usize = 1 << 1;
    /// Use TTBR1 (upper half of the address space).
    pub const ARM_TTBR1: usize = 1 << 5;
    /// Outer write-back write-allocate cacheable page-table walks.
    pub const ARM_OUTER_WBWA: usize = 1 << 6;
    /// Hardware dirty-bit management (stage 1, SMMUv3 HTTU): enables dirty tracking.
    pub const ARM_HD: usize = 1 << 7;
    /// Stage-2 forced write-back (SMMUv3 S2FWB).
    pub const ARM_S2FWB: usize = 1 << 8;
    /// Do not warn about mapping over existing mappings.
    pub const NO_WARN: usize = 1 << 9;
}

/// TLB maintenance callbacks of a page table (`struct iommu_flush_ops`).
///
/// The page-table code calls them with the cookie given to [`IoPageTable::new_with_flush`] when
/// it changes table entries (on unmap, and when tables are freed or split).
pub trait FlushOps: Send + Sync + 'static {
    /// Per-page-table data handed back to every callback (e.g. the domain's ASID/VMID).
    type Cookie: ForeignOwnable + Send + Sync;

    /// Invalidates the whole TLB of the page table (synchronously).
    fn tlb_flush_all(cookie: <Self::Cookie as ForeignOwnable>::Borrowed<'_>);

    /// Invalidates the walk caches (and TLB) of `[iova, iova + size)` with leaf size `granule`
    /// (synchronously), because a table was removed.
    fn tlb_flush_walk(
        cookie: <Self::Cookie as ForeignOwnable>::Borrowed<'_>,
        iova: usize,
        size: usize,
        granule: usize,
    );

    /// Queues the invalidation of the leaf at `iova` of size `granule` in `gather`. The default
    /// does nothing: the caller's `iotlb_sync` then relies on what `unmap_pages` gathered.
    #[cfg(CONFIG_IOMMU_API)]
    fn tlb_add_page(
        _cookie: <Self::Cookie as ForeignOwnable>::Borrowed<'_>,
        _gather: &IotlbGather,
        _iova: usize,
        _granule: usize,
    ) {
    }
}

/// Flush callbacks that do nothing, for page tables whose TLB is managed elsewhere (e.g. by GPU
/// firmware, which invalidates ranges itself).
pub enum NoopFlush {}

impl FlushOps for NoopFlush {
    type Cookie = ();

    fn tlb_flush_all(_cookie: ()) {}

    fn tlb_flush_walk(_cookie: (), _iova: usize, _size: usize, _granule: usize) {}
}

/// The C callbacks of a [`FlushOps`] implementation.
struct FlushAdapter<Fl: FlushOps>(PhantomData<Fl>);

impl<Fl: FlushOps> FlushAdapter<Fl> {
    extern "C" fn tlb_flush_all(cookie: *mut c_void) {
        // SAFETY: The cookie comes from `Fl::Cookie::into_foreign()` and stays valid until the
        // page table is freed, after which no callback runs.
        Fl::tlb_flush_all(unsafe { Fl::Cookie::borrow(cookie) })
    }

    extern "C" fn tlb_flush_walk(iova: usize, size: usize, granule: usize, cookie: *mut c_void) {
        // SAFETY: As for `tlb_flush_all`.
        Fl::tlb_flush_walk(unsafe { Fl::Cookie::borrow(cookie) }, iova, size, granule)
    }

    #[cfg(CONFIG_IOMMU_API)]
    extern "C" fn tlb_add_page(
        gather: *mut bindings::iommu_iotlb_gather,
        iova: usize,
        granule: usize,
        cookie: *mut c_void,
    ) {
        // SAFETY: As for `tlb_flush_all`; the gather is the valid gather of the unmap call.
        let (cookie, gather) =
            unsafe { (Fl::Cookie::borrow(cookie), IotlbGather::from_raw(gather)) };
        Fl::tlb_add_page(cookie, gather, iova, granule)
    }

    const VTABLE: bindings::iommu_flush_ops = bindings::iommu_flush_ops {
        tlb_flush_all: Some(Self::tlb_flush_all),
        tlb_flush_walk: Some(Self::tlb_flush_walk),
        #[cfg(CONFIG_IOMMU_API)]
        tlb_add_page: Some(Self::tlb_add_page),
        #[cfg(not(CONFIG_IOMMU_API))]
        tlb_add_page: None,
    };
}

/// Represents a requested `io_pgtable` configuration.
pub struct Config {
    /// Quirk bitmask (type-specific).
    pub quirks: usize,
    /// Valid page sizes, as a bitmask of powers of two.
    pub pgsize_bitmap: usize,
    /// Input address space size in bits.
    pub ias: u32,
    /// Output address space size in bits.
    pub oas: u32,
    /// IOMMU uses coherent accesses for page table walks.
    pub coherent_walk: bool,
}

/// An io page table using a specific format.
///
/// # Invariants
///
/// - The pointer references a valid io page table.
/// - `cookie` comes from `Fl::Cookie::into_foreign()` and is reclaimed on drop, after the page
///   table is freed.
pub struct IoPageTable<'a, F: IoPageTableFmt, Fl: FlushOps = NoopFlush> {
    ptr: NonNull<bindings::io_pgtable_ops>,
    cookie: *mut c_void,
    _dev_ref: Option<ARef<Device>>,
    _dev: PhantomData<&'a Device<Bound>>,
    _marker: PhantomData<(F, Fl)>,
}

// SAFETY: `struct io_pgtable_ops` is not restricted to a single thread, and the cookie is `Send`.
unsafe impl<F: IoPageTableFmt, Fl: FlushOps> Send for IoPageTable<'_, F, Fl> {}
// SAFETY: `struct io_pgtable_ops` may be accessed concurrently, and the cookie is `Sync`.
unsafe impl<F: IoPageTableFmt, Fl: FlushOps> Sync for IoPageTable<'_, F, Fl> {}

/// The format used by this page table.
pub trait IoPageTableFmt: 'static {
    /// The value representing this format.
    const FORMAT: io_pgtable_fmt;
}

impl<'a, F: IoPageTableFmt> IoPageTable<'a, F> {
    /// Create a new `IoPageTable` whose TLB maintenance is done elsewhere ([`NoopFlush`]).
    #[inline]
    pub fn new(dev: &'a Device<Bound>, config: Config) -> Result<IoPageTable<'a, F>> {
        // SAFETY: `dev` is bound for `'a`, which the page table cannot outlive.
        unsafe { Self::alloc(dev.as_raw(), config, (), None) }
    }
}

impl<F: IoPageTableFmt, Fl: FlushOps> IoPageTable<'static, F, Fl> {
    /// Create a new `IoPageTable` that calls `Fl` with `cookie` for TLB maintenance.
    ///
    /// The page table keeps a reference on `dev`, the device whose DMA API is used for table
    /// memory (the IOMMU), so that it can live as long as an IOMMU domain, which the IOMMU core
    /// may keep after the IOMMU driver is unbound.
    pub fn new_with_flush(dev: &Device, config: Config, cookie: Fl::Cookie) -> Result<Self> {
        let dev: ARef<Device> = dev.into();
        // SAFETY: The page table holds a reference on `dev` for its whole life.
        unsafe { Self::alloc(dev.as_raw(), config, cookie, Some(dev)) }
    }
}

impl<'a, F: IoPageTableFmt, Fl: FlushOps> IoPageTable<'a, F, Fl> {
    /// # Safety
    ///
    /// `dev` must be valid for the whole life of the page table.
    unsafe fn alloc(
        dev: *mut bindings::device,
        config: Config,
        cookie: Fl::Cookie,
        dev_ref: Option<ARef<Device>>,
    ) -> Result<Self> {
        let mut raw_cfg = bindings::io_pgtable_cfg {
            quirks: config.quirks,
            pgsize_bitmap: config.pgsize_bitmap,
            ias: config.ias,
            oas: config.oas,
            coherent_walk: config.coherent_walk,
            tlb: &FlushAdapter::<Fl>::VTABLE,
            iommu_dev: dev,
            ..Zeroable::zeroed()
        };
        let cookie = cookie.into_foreign();

        // SAFETY:
        // * The raw_cfg pointer is valid for the duration of this call.
        // * The flush ops are valid function pointers that accept `cookie`, which stays valid
        //   until the page table is freed.
        // * The caller ensures that the io pgtable does not outlive the device.
        let ops = unsafe { bindings::alloc_io_pgtable_ops(F::FORMAT, &mut raw_cfg, cookie) };

        let Some(ptr) = NonNull::new(ops) else {
            // SAFETY: The cookie was not taken by a page table.
            drop(unsafe { Fl::Cookie::from_foreign(cookie) });
            return Err(ENOMEM);
        };

        // INVARIANT: We successfully created a valid page table that owns `cookie`.
        Ok(IoPageTable {
            ptr,
            cookie,
            _dev_ref: dev_ref,
            _dev: PhantomData,
            _marker: PhantomData,
        })
    }

    /// Obtain a raw pointer to the underlying `struct io_pgtable_ops`.
    #[inline]
    pub fn raw_ops(&self) -> *mut bindings::io_pgtable_ops {
        self.ptr.as_ptr()
    }

    /// Obtain a raw pointer to the underlying `struct io_pgtable`.
    #[inline]
    pub fn raw_pgtable(&self) -> *mut bindings::io_pgtable {
        // SAFETY: The io_pgtable_ops of an io-pgtable is always the ops field of a io_pgtable.
        unsafe { kernel::container_of!(self.raw_ops(), bindings::io_pgtable, ops) }
    }

    /// Obtain a raw pointer to the underlying `struct io_pgtable_cfg`.
    #[inline]
    pub fn raw_cfg(&self) -> *mut bindings::io_pgtable_cfg {
        // SAFETY: The `raw_pgtable()` method returns a valid pointer.
        unsafe { &raw mut (*self.raw_pgtable()).cfg }
    }

    /// Map a physically contiguous range of pages of the same size.
    ///
    /// Even if successful, this operation may not map the entire range. In that case, only a
    /// prefix of the range is mapped, and the returned integer indicates its length in bytes. In
    /// this case, the caller will usually call `map_pages` again for the remaining range.
    ///
    /// The returned [`Result`] indicates whether an error was encountered while mapping pages.
    /// Note that this may return a non-zero length even if an error was encountered. The caller
    /// will usually [unmap the relevant pages](Self::unmap_pages) on error.
    ///
    /// The caller must flush the TLB before using the pgtable to access the newly created mapping.
    ///
    /// # Safety
    ///
    /// * No other io-pgtable operation may access the range `iova .. iova+pgsize*pgcount` while
    ///   this `map_pages` operation executes.
    /// * This page table must not contain any mapping that overlaps with the mapping created by
    ///   this call.
    /// * If this page table is live, then the caller must ensure that it's okay to access the
    ///   physical address being mapped for the duration in which it is mapped.
    #[inline]
    pub unsafe fn map_pages(
        &self,
        iova: usize,
        paddr: PhysAddr,
        pgsize: usize,
        pgcount: usize,
        prot: u32,
        flags: alloc::Flags,
    ) -> (usize, Result) {
        let mut mapped: usize = 0;

        // SAFETY: The `map_pages` function in `io_pgtable_ops` is never null.
        let map_pages = unsafe { (*self.raw_ops()).map_pages.unwrap_unchecked() };

        // SAFETY: The safety requirements of this method are sufficient to call `map_pages`.
        let ret = to_result(unsafe {
            (map_pages)(
                self.raw_ops(),
                iova,
                paddr,
                pgsize,
                pgcount,
                prot as i32,
                flags.as_raw(),
                &mut mapped,
            )
        });

        (mapped, ret)
    }

    /// Unmap a range of virtually contiguous pages of the same size.
    ///
    /// This may not unmap the entire range, and returns the length of the unmapped prefix in
    /// bytes.
    ///
    /// # Safety
    ///
    /// * No other io-pgtable operation may access the range `iova .. iova+pgsize*pgcount` while
    ///   this `unmap_pages` operation executes.
    /// * This page table must contain one or more consecutive mappings starting at `iova` whose
    ///   total size is `pgcount * pgsize`.
    #[inline]
    #[must_use]
    pub unsafe fn unmap_pages(&self, iova: usize, pgsize: usize, pgcount: usize) -> usize {
        // SAFETY: The `unmap_pages` function in `io_pgtable_ops` is never null.
        let unmap_pages = unsafe { (*self.raw_ops()).unmap_pages.unwrap_unchecked() };

        // SAFETY: The safety requirements of this method are sufficient to call `unmap_pages`.
        unsafe { (unmap_pages)(self.raw_ops(), iova, pgsize, pgcount, core::ptr::null_mut()) }
    }

    /// Carries out a map request of the IOMMU core; adds the bytes mapped to `mapped`.
    ///
    /// `req` must be a request given to the domain that owns this page table.
    #[cfg(CONFIG_IOMMU_API)]
    pub fn map(&self, req: &MapRequest, mapped: &mut usize) -> Result {
        // SAFETY: The caller of the IOMMU API that produced `req` is responsible for the mapped
        // memory and for not racing on overlapping ranges; mapping over an existing mapping is
        // rejected by the page-table code.
        let (done, ret) = unsafe {
            self.map_pages(
                req.iova(),
                req.paddr(),
                req.pgsize(),
                req.pgcount(),
                req.prot(),
                req.gfp(),
            )
        };
        *mapped += done;
        ret
    }

    /// Carries out an unmap request of the IOMMU core, gathering the invalidation in `gather`
    /// (through [`FlushOps::tlb_add_page`]); returns the number of bytes unmapped.
    #[cfg(CONFIG_IOMMU_API)]
    pub fn unmap(&self, req: &UnmapRequest, gather: &IotlbGather) -> usize {
        // SAFETY: The `unmap_pages` function in `io_pgtable_ops` is never null.
        let unmap_pages = unsafe { (*self.raw_ops()).unmap_pages.unwrap_unchecked() };
        // SAFETY: The caller of the IOMMU API that produced `req` does not race on the range; a
        // range that is not (fully) mapped only makes the page-table code stop early.
        unsafe {
            (unmap_pages)(
                self.raw_ops(),
                req.iova(),
                req.pgsize(),
                req.pgcount(),
                gather.as_raw(),
            )
        }
    }

    /// Carries out a lookup request of the IOMMU core; returns 0 if the IOVA is not mapped.
    #[cfg(CONFIG_IOMMU_API)]
    pub fn iova_to_phys(&self, req: &LookupRequest) -> PhysAddr {
        let Ok(iova) = usize::try_from(req.iova()) else {
            return 0;
        };
        // SAFETY: The caller of the IOMMU API that produced `req` does not unmap the IOVA
        // concurrently.
        unsafe { self.iova_to_phys_raw(iova) }
    }

    /// Translates `iova`; returns 0 if it is not mapped.
    ///
    /// # Safety
    ///
    /// No concurrent operation may unmap `iova` (the walk would read freed tables).
    pub unsafe fn iova_to_phys_raw(&self, iova: usize) -> PhysAddr {
        // SAFETY: The page table is valid.
        match unsafe { (*self.raw_ops()).iova_to_phys } {
            // SAFETY: Guaranteed by the caller.
            Some(f) => unsafe { f(self.raw_ops(), iova) },
            None => 0,
        }
    }

    /// Carries out a dirty-tracking request of the IOMMU core (requires a format and quirks
    /// with dirty tracking, e.g. [`quirks::ARM_HD`] on stage 1; `EOPNOTSUPP` otherwise).
    #[cfg(CONFIG_IOMMU_API)]
    pub fn read_and_clear_dirty(&self, req: &DirtyRequest, dirty: &DirtyBitmap) -> Result {
        // SAFETY: The page table is valid.
        let Some(f) = (unsafe { (*self.raw_ops()).read_and_clear_dirty }) else {
            return Err(EOPNOTSUPP);
        };
        // SAFETY: The caller of the IOMMU API that produced `req` does not race on the range;
        // `dirty` is valid for the call.
        to_result(unsafe {
            f(
                self.raw_ops(),
                req.iova(),
                req.size(),
                req.flags().as_raw(),
                dirty.as_raw(),
            )
        })
    }
}

impl<F: IoPageTableFmt, Fl: FlushOps> Drop for IoPageTable<'_, F, Fl> {
    fn drop(&mut self) {
        // SAFETY: The caller of `Self::ttbr()` promised that the page table is not live when this
        // destructor runs.
        unsafe { bindings::free_io_pgtable_ops(self.raw_ops()) };
        // SAFETY: By the type invariants the cookie comes from `into_foreign()`, and the page
        // table that used it is gone.
        drop(unsafe { Fl::Cookie::from_foreign(self.cookie) });
    }
}

/// The `ARM_64_LPAE_S1` page table format.
pub enum ARM64LPAES1 {}

impl IoPageTableFmt for ARM64LPAES1 {
    const FORMAT: io_pgtable_fmt = bindings::io_pgtable_fmt_ARM_64_LPAE_S1 as io_pgtable_fmt;
}

impl<Fl: FlushOps> IoPageTable<'_, ARM64LPAES1, Fl> {
    /// Access the `ttbr` field of the configuration.
    ///
    /// This is the physical address of the page table, which may be passed to the device that
    /// needs to use it.
    ///
    /// # Safety
    ///
    /// The caller must ensure that the device stops using the page table before dropping it.
    #[inline]
    pub unsafe fn ttbr(&self) -> u64 {
        // SAFETY: `arm_lpae_s1_cfg` is the right cfg type for `ARM64LPAES1`.
        unsafe { (*self.raw_cfg()).__bindgen_anon_1.arm_lpae_s1_cfg.ttbr }
    }

    /// Access the `mair` field of the configuration.
    #[inline]
    pub fn mair(&self) -> u64 {
        // SAFETY: `arm_lpae_s1_cfg` is the right cfg type for `ARM64LPAES1`.
        unsafe { (*self.raw_cfg()).__bindgen_anon_1.arm_lpae_s1_cfg.mair }
    }

    /// Access the `tcr` fields of the configuration.
    #[inline]
    pub fn tcr(&self) -> Tcr {
        // SAFETY: `arm_lpae_s1_cfg` is the right cfg type for `ARM64LPAES1`; the page-table code
        // wrote it at allocation and never changes it afterwards.
        let tcr = unsafe { &(*self.raw_cfg()).__bindgen_anon_1.arm_lpae_s1_cfg.tcr };
        Tcr {
            ips: tcr.ips(),
            tg: tcr.tg(),
            sh: tcr.sh(),
            orgn: tcr.orgn(),
            irgn: tcr.irgn(),
            tsz: tcr.tsz(),
        }
    }
}

/// The stage-1 translation control fields computed by the page-table code (`TCR`, for TTBR0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tcr {
    /// Intermediate physical address size.
    pub ips: u32,
    /// Translation granule (`TG0` encoding).
    pub tg: u32,
    /// Shareability of table walks.
    pub sh: u32,
    /// Outer cacheability of table walks.
    pub orgn: u32,
    /// Inner cacheability of table walks.
    pub irgn: u32,
    /// Input size offset (`T0SZ`).
    pub tsz: u32,
}

/// The `ARM_64_LPAE_S2` page table format (stage 2, e.g. SMMUv3 nesting parents and VMs).
pub enum ARM64LPAES2 {}

impl IoPageTableFmt for ARM64LPAES2 {
    const FORMAT: io_pgtable_fmt = bindings::io_pgtable_fmt_ARM_64_LPAE_S2 as io_pgtable_fmt;
}

/// The stage-2 translation control fields computed by the page-table code (`VTCR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vtcr {
    /// Physical address size.
    pub ps: u32,
    /// Translation granule.
    pub tg: u32,
    /// Shareability of table walks.
    pub sh: u32,
    /// Outer cacheability of table walks.
    pub orgn: u32,
    /// Inner cacheability of table walks.
    pub irgn: u32,
    /// Starting level.
    pub sl: u32,
    /// Input size offset.
    pub tsz: u32,
}

impl<Fl: FlushOps> IoPageTable<'_, ARM64LPAES2, Fl> {
    /// Access the `vttbr` field of the configuration: the physical address of the table.
    ///
    /// # Safety
    ///
    /// The caller must ensure that the device stops using the page table before dropping it.
    #[inline]
    pub unsafe fn vttbr(&self) -> u64 {
        // SAFETY: `arm_lpae_s2_cfg` is the right cfg type for `ARM64LPAES2`.
        unsafe { (*self.raw_cfg()).__bindgen_anon_1.arm_lpae_s2_cfg.vttbr }
    }

    /// Access the `vtcr` fields of the configuration.
    #[inline]
    pub fn vtcr(&self) -> Vtcr {
        // SAFETY: `arm_lpae_s2_cfg` is the right cfg type for `ARM64LPAES2`.
        let vtcr = unsafe { &(*self.raw_cfg()).__bindgen_anon_1.arm_lpae_s2_cfg.vtcr };
        Vtcr {
            ps: vtcr.ps(),
            tg: vtcr.tg(),
            sh: vtcr.sh(),
            orgn: vtcr.orgn(),
            irgn: vtcr.irgn(),
            sl: vtcr.sl(),
            tsz: vtcr.tsz(),
        }
    }
}
