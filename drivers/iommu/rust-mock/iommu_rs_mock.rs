// SPDX-License-Identifier: GPL-2.0

//! A software IOMMU for testing the Rust IOMMU abstractions.
//!
//! The mock IOMMU translates with a software page table (a red-black tree of page entries, 4 KiB
//! and 2 MiB pages) and counts every callback the IOMMU core makes, so that the KUnit suite can
//! drive it through the public IOMMU API and check what reached the driver, and that nothing
//! leaks. It only translates devices whose fwspec points at its own software firmware node.
//!
//! The driver part uses neither `unsafe` nor `bindings`.

use kernel::{
    io::PhysAddr,
    iommu::{
        self,
        iommufd::UserData,
        pgtable::{
            self,
            FlushOps,
            IoPageTable,
            ARM64LPAES1,
            ARM64LPAES2, //
        },
        AnyDomain,
        Capability,
        ClientDevice,
        DefaultDomain,
        DirtyBitmap,
        DirtyFlags,
        DirtyRequest,
        Domain,
        DomainOps,
        HwInfo,
        IommuDevice,
        IotlbGather,
        LookupRequest,
        MapRequest,
        PagingConfig,
        PagingFlags,
        ResvRegions,
        ResvType,
        StaticDomain,
        StaticDomainCell,
        UnmapRequest, //
    },
    prelude::*,
    rbtree::{
        RBTree,
        RBTreeNode, //
    },
    sizes::{
        SZ_2M,
        SZ_4K, //
    },
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        ArcBorrow,
        SpinLock, //
    },
};

module! {
    type: MockModule,
    name: "iommu_rs_mock",
    authors: ["iommu-rs"],
    description: "Software IOMMU for testing the Rust IOMMU abstractions",
    license: "GPL",
}

struct MockModule;

impl kernel::Module for MockModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

/// `IOMMU_HW_INFO_TYPE_DEFAULT`: the driver picks the type.
const HW_INFO_TYPE_DEFAULT: u32 = 0;
/// The (made up) hardware-information type of the mock, as the C selftest's.
const MOCK_HW_INFO_TYPE: u32 = 0xfeed_beef;
const MOCK_HW_INFO_VERSION: u32 = 1;

/// The reserved region the mock reports for every device.
const RESV_START: PhysAddr = 0x0800_0000;
const RESV_LEN: usize = SZ_2M;

/// Counters of one mock IOMMU instance, shared with its domains and devices.
pub(crate) struct MockState {
    probes: Atomic<i32>,
    releases: Atomic<i32>,
    live_devices: Atomic<i32>,
    domain_allocs: Atomic<i32>,
    live_domains: Atomic<i32>,
    identity_attaches: Atomic<i32>,
    blocked_attaches: Atomic<i32>,
    paging_attaches: Atomic<i32>,
    attaches_from_identity: Atomic<i32>,
    iotlb_syncs: Atomic<i32>,
    sync_maps: Atomic<i32>,
    flush_alls: Atomic<i32>,
    last_sync_start: Atomic<u64>,
    last_sync_end: Atomic<u64>,
    fail_next_alloc: Atomic<bool>,
    use_lpae_s1: Atomic<bool>,
    tlb_add_pages: Atomic<i32>,
    tlb_flush_walks: Atomic<i32>,
    tlb_flush_alls: Atomic<i32>,
}

impl MockState {
    fn new() -> Self {
        Self {
            probes: Atomic::new(0),
            releases: Atomic::new(0),
            live_devices: Atomic::new(0),
            domain_allocs: Atomic::new(0),
            live_domains: Atomic::new(0),
            identity_attaches: Atomic::new(0),
            blocked_attaches: Atomic::new(0),
            paging_attaches: Atomic::new(0),
            attaches_from_identity: Atomic::new(0),
            iotlb_syncs: Atomic::new(0),
            sync_maps: Atomic::new(0),
            flush_alls: Atomic::new(0),
            last_sync_start: Atomic::new(0),
            last_sync_end: Atomic::new(0),
            fail_next_alloc: Atomic::new(false),
            use_lpae_s1: Atomic::new(false),
            tlb_add_pages: Atomic::new(0),
            tlb_flush_walks: Atomic::new(0),
            tlb_flush_alls: Atomic::new(0),
        }
    }

    fn inc(counter: &Atomic<i32>) {
        counter.fetch_add(1, Relaxed);
    }

    fn dec(counter: &Atomic<i32>) {
        counter.fetch_sub(1, Relaxed);
    }
}

/// Per-device data of a client device.
pub(crate) struct MockMaster {
    sid: u32,
    state: Arc<MockState>,
}

impl Drop for MockMaster {
    fn drop(&mut self) {
        MockState::dec(&self.state.live_devices);
    }
}

/// The mock IOMMU driver.
pub(crate) struct MockIommu;

/// The static identity domain.
static IDENTITY: StaticDomainCell<MockIdentity> = StaticDomainCell::identity(MockIdentity);

/// The static blocking domain, also the release domain.
static BLOCKED: StaticDomainCell<MockBlocked> = StaticDomainCell::blocked(MockBlocked);

fn state_of(dev: &ClientDevice<MockIommu>) -> Result<&Arc<MockState>> {
    dev.iommu().map(|iommu| iommu.data()).ok_or(ENODEV)
}

#[vtable]
impl iommu::Ops for MockIommu {
    type IommuData = Arc<MockState>;
    type DeviceData = KBox<MockMaster>;
    type PagingDomain = MockDomain;
    type Viommu = iommu::NoViommu<Self>;

    const IDENTITY_DOMAIN: Option<StaticDomain<Self>> = Some(StaticDomain::new(&IDENTITY));
    const BLOCKED_DOMAIN: Option<StaticDomain<Self>> = Some(StaticDomain::new(&BLOCKED));
    const RELEASE_DOMAIN: Option<StaticDomain<Self>> = Some(StaticDomain::new(&BLOCKED));

    fn probe_device(
        iommu: &IommuDevice<Self>,
        dev: &ClientDevice<Self>,
    ) -> Result<KBox<MockMaster>> {
        let sid = *dev
            .fwspec()
            .and_then(|fwspec| fwspec.ids().first())
            .ok_or(ENODEV)?;
        let state = iommu.data().clone();
        MockState::inc(&state.probes);
        MockState::inc(&state.live_devices);
        Ok(KBox::new(MockMaster { sid, state }, GFP_KERNEL)?)
    }

    fn release_device(
        _iommu: &IommuDevice<Self>,
        _dev: &ClientDevice<Self>,
        data: KBox<MockMaster>,
    ) {
        MockState::inc(&data.state.releases);
    }

    fn capable(_dev: &ClientDevice<Self>, cap: Capability) -> bool {
        cap == Capability::CACHE_COHERENCY || cap == Capability::DIRTY_TRACKING
    }

    fn hw_info(dev: &ClientDevice<Self>, requested: u32) -> Result<HwInfo> {
        if requested != HW_INFO_TYPE_DEFAULT && requested != MOCK_HW_INFO_TYPE {
            return Err(EOPNOTSUPP);
        }
        let sid = dev.data().map_or(0, |master| master.sid);
        HwInfo::new(
            KBox::new([MOCK_HW_INFO_VERSION, sid], GFP_KERNEL)?,
            MOCK_HW_INFO_TYPE,
        )
    }

    fn def_domain_type(_dev: &ClientDevice<Self>) -> Option<DefaultDomain> {
        Some(DefaultDomain::Identity)
    }

    fn get_resv_regions(_dev: &ClientDevice<Self>, regions: &ResvRegions) {
        // The core ignores allocation failures of reserved regions.
        let _ = regions.add(RESV_START, RESV_LEN, 0, ResvType::Reserved);
    }

    fn domain_alloc_paging(
        iommu: &IommuDevice<Self>,
        _dev: &ClientDevice<Self>,
        flags: PagingFlags,
        user_data: Option<&UserData>,
    ) -> Result<Pin<KBox<Domain<MockDomain>>>> {
        let supported = PagingFlags::DIRTY_TRACKING | PagingFlags::NEST_PARENT;
        if user_data.is_some() || !flags.is_subset_of(supported) {
            return Err(EOPNOTSUPP);
        }
        let dirty_tracking = flags.contains(PagingFlags::DIRTY_TRACKING);
        let nest_parent = flags.contains(PagingFlags::NEST_PARENT);
        let state = iommu.data();
        let lpae_s1 = state.use_lpae_s1.load(Relaxed);
        // Only the software page table tracks dirty pages (the LPAE ones need hardware DBM).
        if dirty_tracking && (nest_parent || lpae_s1) {
            return Err(EOPNOTSUPP);
        }
        if state.fail_next_alloc.xchg(false, Relaxed) {
            return Err(ENOMEM);
        }

        // A nesting parent gets a stage-2 table, like on SMMUv3.
        let (lpae, ias) = if nest_parent {
            let pt = IoPageTable::new_with_flush(iommu.device(), lpae_config(40), state.clone())?;
            (Some(Lpae::S2(pt)), 40)
        } else if lpae_s1 {
            let pt = IoPageTable::new_with_flush(iommu.device(), lpae_config(48), state.clone())?;
            (Some(Lpae::S1(pt)), 48)
        } else {
            (None, 48)
        };
        let config = PagingConfig {
            pgsize_bitmap: SZ_4K | SZ_2M,
            aperture_start: 0,
            aperture_end: (1 << ias) - 1,
            force_aperture: true,
            dirty_tracking,
        };
        let domain = Domain::new(config, MockDomain::new(state.clone(), lpae))?;
        MockState::inc(&state.domain_allocs);
        Ok(domain)
    }
}

fn lpae_config(bits: u32) -> pgtable::Config {
    pgtable::Config {
        quirks: 0,
        pgsize_bitmap: SZ_4K | SZ_2M,
        ias: bits,
        oas: bits,
        coherent_walk: true,
    }
}

/// TLB maintenance of the io-pgtable page tables: counted, and leaves gathered.
pub(crate) struct MockFlush;

impl FlushOps for MockFlush {
    type Cookie = Arc<MockState>;

    fn tlb_flush_all(state: ArcBorrow<'_, MockState>) {
        MockState::inc(&state.tlb_flush_alls);
    }

    fn tlb_flush_walk(
        state: ArcBorrow<'_, MockState>,
        _iova: usize,
        _size: usize,
        _granule: usize,
    ) {
        MockState::inc(&state.tlb_flush_walks);
    }

    fn tlb_add_page(
        state: ArcBorrow<'_, MockState>,
        gather: &IotlbGather,
        iova: usize,
        granule: usize,
    ) {
        MockState::inc(&state.tlb_add_pages);
        gather.add_range(iova, granule);
    }
}

/// An io-pgtable page table of a domain.
enum Lpae {
    S1(IoPageTable<'static, ARM64LPAES1, MockFlush>),
    S2(IoPageTable<'static, ARM64LPAES2, MockFlush>),
}

impl Lpae {
    fn map(&self, req: &MapRequest, mapped: &mut usize) -> Result {
        match self {
            Self::S1(pt) => pt.map(req, mapped),
            Self::S2(pt) => pt.map(req, mapped),
        }
    }

    fn unmap(&self, req: &UnmapRequest, gather: &IotlbGather) -> usize {
        match self {
            Self::S1(pt) => pt.unmap(req, gather),
            Self::S2(pt) => pt.unmap(req, gather),
        }
    }

    fn iova_to_phys(&self, req: &LookupRequest) -> PhysAddr {
        match self {
            Self::S1(pt) => pt.iova_to_phys(req),
            Self::S2(pt) => pt.iova_to_phys(req),
        }
    }
}

/// The identity domain type.
pub(crate) struct MockIdentity;

#[vtable]
impl DomainOps for MockIdentity {
    type Iommu = MockIommu;

    fn attach_dev(
        _domain: &Domain<Self>,
        dev: &ClientDevice<MockIommu>,
        _old: Option<&AnyDomain>,
    ) -> Result {
        MockState::inc(&state_of(dev)?.identity_attaches);
        Ok(())
    }
}

/// The blocking domain type.
pub(crate) struct MockBlocked;

#[vtable]
impl DomainOps for MockBlocked {
    type Iommu = MockIommu;

    fn attach_dev(
        _domain: &Domain<Self>,
        dev: &ClientDevice<MockIommu>,
        _old: Option<&AnyDomain>,
    ) -> Result {
        MockState::inc(&state_of(dev)?.blocked_attaches);
        Ok(())
    }
}

/// A software page table entry.
struct Pte {
    paddr: PhysAddr,
    size: usize,
    dirty: bool,
}

/// A paging domain with a software page table, keyed by the IOVA of each page.
#[pin_data(PinnedDrop)]
pub(crate) struct MockDomain {
    #[pin]
    table: SpinLock<RBTree<usize, Pte>>,
    dirty_tracking: Atomic<bool>,
    lpae: Option<Lpae>,
    state: Arc<MockState>,
}

impl MockDomain {
    fn new(state: Arc<MockState>, lpae: Option<Lpae>) -> impl PinInit<Self, Error> {
        MockState::inc(&state.live_domains);
        try_pin_init!(Self {
            table <- kernel::new_spinlock!(RBTree::new()),
            dirty_tracking: Atomic::new(false),
            lpae,
            state,
        })
    }

    fn lookup(&self, iova: usize) -> Option<PhysAddr> {
        let table = self.table.lock();
        [SZ_4K, SZ_2M].into_iter().find_map(|size| {
            let base = iova & !(size - 1);
            table
                .get(&base)
                .filter(|pte| pte.size == size)
                .map(|pte| pte.paddr + (iova - base) as PhysAddr)
        })
    }
}

#[pinned_drop]
impl PinnedDrop for MockDomain {
    fn drop(self: Pin<&mut Self>) {
        MockState::dec(&self.state.live_domains);
    }
}

#[vtable]
impl DomainOps for MockDomain {
    type Iommu = MockIommu;

    fn attach_dev(
        domain: &Domain<Self>,
        dev: &ClientDevice<MockIommu>,
        old: Option<&AnyDomain>,
    ) -> Result {
        let master = dev.data().ok_or(ENODEV)?;
        if master.sid == u32::MAX {
            return Err(EINVAL);
        }
        if old.and_then(|old| old.downcast::<MockIdentity>()).is_some() {
            MockState::inc(&domain.state.attaches_from_identity);
        }
        MockState::inc(&domain.state.paging_attaches);
        Ok(())
    }

    fn map_pages(domain: &Domain<Self>, req: &MapRequest, mapped: &mut usize) -> Result {
        if let Some(lpae) = &domain.lpae {
            return lpae.map(req, mapped);
        }
        let dirty = domain.dirty_tracking.load(Relaxed) && req.prot() & iommu::prot::WRITE != 0;
        for i in 0..req.pgcount() {
            let offset = i * req.pgsize();
            let iova = req.iova() + offset;
            let pte = Pte {
                paddr: req.paddr() + offset as PhysAddr,
                size: req.pgsize(),
                dirty,
            };
            let node = RBTreeNode::new(iova, pte, req.gfp())?;
            let mut table = domain.table.lock();
            if table.get(&iova).is_some() {
                return Err(EEXIST);
            }
            table.insert(node);
            drop(table);
            *mapped += req.pgsize();
        }
        Ok(())
    }

    fn unmap_pages(domain: &Domain<Self>, req: &UnmapRequest, gather: &IotlbGather) -> usize {
        if let Some(lpae) = &domain.lpae {
            return lpae.unmap(req, gather);
        }
        let mut unmapped = 0;
        let mut table = domain.table.lock();
        for i in 0..req.pgcount() {
            match table.remove(&(req.iova() + i * req.pgsize())) {
                Some(pte) => unmapped += pte.size,
                None => break,
            }
        }
        drop(table);
        if unmapped != 0 {
            gather.add_page(domain, req.iova(), unmapped);
        }
        unmapped
    }

    fn iotlb_sync(domain: &Domain<Self>, gather: &IotlbGather) {
        let state = &domain.state;
        MockState::inc(&state.iotlb_syncs);
        state.last_sync_start.store(gather.start() as u64, Relaxed);
        state.last_sync_end.store(gather.end() as u64, Relaxed);
    }

    fn iotlb_sync_map(domain: &Domain<Self>, _iova: usize, _size: usize) -> Result {
        MockState::inc(&domain.state.sync_maps);
        Ok(())
    }

    fn flush_iotlb_all(domain: &Domain<Self>) {
        MockState::inc(&domain.state.flush_alls);
    }

    fn iova_to_phys(domain: &Domain<Self>, req: &LookupRequest) -> PhysAddr {
        if let Some(lpae) = &domain.lpae {
            return lpae.iova_to_phys(req);
        }
        usize::try_from(req.iova())
            .ok()
            .and_then(|iova| domain.lookup(iova))
            .unwrap_or(0)
    }

    fn enforce_cache_coherency(_domain: &Domain<Self>) -> bool {
        true
    }

    fn set_dirty_tracking(domain: &Domain<Self>, enabled: bool) -> Result {
        domain.dirty_tracking.store(enabled, Relaxed);
        Ok(())
    }

    fn read_and_clear_dirty(
        domain: &Domain<Self>,
        req: &DirtyRequest,
        dirty: &DirtyBitmap,
    ) -> Result {
        let clear = !req.flags().contains(DirtyFlags::NO_CLEAR);
        let start = req.iova();
        let end = start.checked_add(req.size()).ok_or(EINVAL)?;
        let mut table = domain.table.lock();
        for (iova, pte) in table.iter_mut() {
            if *iova >= start && *iova < end && pte.dirty {
                dirty.record(*iova, pte.size);
                if clear {
                    pte.dirty = false;
                }
            }
        }
        Ok(())
    }
}

#[kunit_tests(rust_iommu_mock)]
mod tests {
    use super::*;

    use kernel::{
        faux,
        iommu::{
            consumer::{
                self,
                DmaOwner,
                PagingDomain, //
            },
            domain_type,
            prot,
            testing::{
                SoftwareNode,
                TestClient, //
            },
            Group,
            Registration, //
        },
        uaccess::UserPtr,
    };

    const CLIENT_SID: u32 = 0x42;
    const IOVA: usize = 0x10_0000;
    const PADDR: PhysAddr = 0x4000_0000;

    /// Registers a mock IOMMU instance for `faux`, designated by `node`, counting in `state`.
    fn register<'a>(
        faux: &'a faux::Registration,
        node: &'a SoftwareNode,
        state: &Arc<MockState>,
    ) -> Result<Pin<KBox<Registration<'a, MockIommu>>>> {
        let config = iommu::Config {
            name: c"iommu-rs-mock",
            fwnode: Some(node.as_ref()),
            max_pasids: 0,
        };
        KBox::pin_init(
            Registration::new_with_config(faux.as_ref().as_ref(), config, state.clone()),
            GFP_KERNEL,
        )
    }

    fn new_state() -> Result<Arc<MockState>> {
        Arc::new(MockState::new(), GFP_KERNEL).map_err(Into::into)
    }

    fn count(counter: &Atomic<i32>) -> i32 {
        counter.load(Relaxed)
    }

    /// Registering the mock makes the core probe a client that points at it, with the identity
    /// default domain; removing the client releases it.
    #[test]
    fn probe_and_release() -> Result {
        let node = SoftwareNode::new()?;
        let faux = faux::Registration::new(c"iommu-rs-mock", None)?;
        let state = new_state()?;
        let reg = register(&faux, &node, &state)?;
        assert_eq!(count(&state.probes), 0);

        let client = TestClient::new(c"iommu-rs-mock-client", node.as_ref(), &[CLIENT_SID])?;
        let dev = client.device();
        assert_eq!(count(&state.probes), 1);
        assert_eq!(count(&state.live_devices), 1);
        assert!(Group::get(dev).is_some());
        assert_eq!(
            consumer::current_domain_type(dev),
            Some(domain_type::IDENTITY)
        );
        assert_eq!(count(&state.identity_attaches), 1);

        let client_view = ClientDevice::<MockIommu>::try_from_device(dev).ok_or(ENODEV)?;
        assert_eq!(client_view.data().map(|m| m.sid), Some(CLIENT_SID));
        assert_eq!(client_view.fwspec().map(|f| f.ids().len()), Some(1));

        let info = <MockIommu as iommu::Ops>::hw_info(client_view, HW_INFO_TYPE_DEFAULT)?;
        assert_eq!(info.info_type(), MOCK_HW_INFO_TYPE);
        assert_eq!(info.len(), 8);
        assert_eq!(
            <MockIommu as iommu::Ops>::hw_info(client_view, 1).err(),
            Some(EOPNOTSUPP)
        );

        assert!(consumer::capable(dev, Capability::CACHE_COHERENCY));
        assert!(!consumer::capable(dev, Capability::NOEXEC));

        let regions = consumer::resv_regions(dev)?;
        assert!(regions.iter().any(|r| r.start == RESV_START
            && r.length == RESV_LEN
            && r.kind == ResvType::Reserved));

        drop(client);
        assert_eq!(count(&state.releases), 1);
        assert_eq!(count(&state.live_devices), 0);
        // The release domain (blocked) was attached before `release_device`.
        assert_eq!(count(&state.blocked_attaches), 1);

        drop(reg);
        Ok(())
    }

    /// Allocate, attach, map, translate, unmap, detach and free a paging domain.
    #[test]
    fn map_unmap() -> Result {
        let node = SoftwareNode::new()?;
        let faux = faux::Registration::new(c"iommu-rs-mock", None)?;
        let state = new_state()?;
        let _reg = register(&faux, &node, &state)?;
        let client = TestClient::new(c"iommu-rs-mock-client", node.as_ref(), &[CLIENT_SID])?;
        let dev = client.device();

        let mut domain = PagingDomain::alloc(dev, PagingFlags::NONE)?;
        assert_eq!(count(&state.domain_allocs), 1);
        assert_eq!(count(&state.live_domains), 1);
        assert_eq!(domain.domain_type(), domain_type::UNMANAGED);

        // Map while detached, then hand the mappings to the client.
        let rw = prot::READ | prot::WRITE;
        domain.map(IOVA, PADDR, SZ_4K, rw, GFP_KERNEL)?;
        domain.map(2 * SZ_2M, 2 * PADDR, SZ_2M, rw, GFP_KERNEL)?;
        assert!(count(&state.sync_maps) >= 2);

        // Mapping over an existing mapping fails.
        assert_eq!(domain.map(IOVA, PADDR, SZ_4K, rw, GFP_KERNEL), Err(EEXIST));
        // Unaligned mappings are rejected by the core.
        assert_eq!(
            domain.map(IOVA + 1, PADDR, SZ_4K, rw, GFP_KERNEL),
            Err(EINVAL)
        );

        let mut domain = client.attach(domain)?;
        assert_eq!(count(&state.paging_attaches), 1);
        // The driver recognised the identity domain it replaced.
        assert_eq!(count(&state.attaches_from_identity), 1);
        assert!(domain.is_current_for(dev));

        assert_eq!(domain.iova_to_phys(IOVA as u64), PADDR);
        assert_eq!(domain.iova_to_phys(IOVA as u64 + 0x123), PADDR + 0x123);
        assert_eq!(
            domain.iova_to_phys((2 * SZ_2M + 0x1234) as u64),
            2 * PADDR + 0x1234
        );
        assert_eq!(domain.iova_to_phys((IOVA + SZ_4K) as u64), 0);

        assert_eq!(domain.unmap(IOVA, SZ_4K), SZ_4K);
        assert_eq!(domain.iova_to_phys(IOVA as u64), 0);
        assert_eq!(domain.unmap(2 * SZ_2M, SZ_2M), SZ_2M);
        assert_eq!(domain.iova_to_phys((2 * SZ_2M) as u64), 0);
        assert!(count(&state.iotlb_syncs) >= 2);

        domain.flush_iotlb_all();
        assert_eq!(count(&state.flush_alls), 1);

        let domain = domain.detach();
        assert!(!domain.is_current_for(dev));
        assert_eq!(
            consumer::current_domain_type(dev),
            Some(domain_type::IDENTITY)
        );

        drop(domain);
        assert_eq!(count(&state.live_domains), 0);
        Ok(())
    }

    /// Unmaps gathered with `unmap_fast` are invalidated by one `iotlb_sync` covering them all.
    #[test]
    fn gather_sync() -> Result {
        let node = SoftwareNode::new()?;
        let faux = faux::Registration::new(c"iommu-rs-mock", None)?;
        let state = new_state()?;
        let _reg = register(&faux, &node, &state)?;
        let client = TestClient::new(c"iommu-rs-mock-client", node.as_ref(), &[CLIENT_SID])?;
        let dev = client.device();
        let mut domain = PagingDomain::alloc(dev, PagingFlags::NONE)?;
        domain.map(IOVA, PADDR, 4 * SZ_4K, prot::READ, GFP_KERNEL)?;
        let mut domain = client.attach(domain)?;
        let syncs = count(&state.iotlb_syncs);

        pin_init::stack_pin_init!(let gather = IotlbGather::new());
        assert!(gather.is_empty());
        assert_eq!(domain.unmap_fast(IOVA, 2 * SZ_4K, &gather), 2 * SZ_4K);
        assert_eq!(
            domain.unmap_fast(IOVA + 2 * SZ_4K, 2 * SZ_4K, &gather),
            2 * SZ_4K
        );
        assert_eq!(count(&state.iotlb_syncs), syncs);
        assert_eq!(gather.start(), IOVA);
        assert_eq!(gather.end(), IOVA + 4 * SZ_4K - 1);

        domain.iotlb_sync(&gather);
        assert_eq!(count(&state.iotlb_syncs), syncs + 1);
        assert_eq!(state.last_sync_start.load(Relaxed), IOVA as u64);
        assert_eq!(
            state.last_sync_end.load(Relaxed),
            (IOVA + 4 * SZ_4K - 1) as u64
        );
        assert!(gather.is_empty());
        assert_eq!(domain.iova_to_phys(IOVA as u64), 0);
        Ok(())
    }

    /// Claiming DMA ownership attaches the static blocking domain; releasing it goes back to
    /// the identity default domain.
    #[test]
    fn blocked_and_identity() -> Result {
        let node = SoftwareNode::new()?;
        let faux = faux::Registration::new(c"iommu-rs-mock", None)?;
        let state = new_state()?;
        let _reg = register(&faux, &node, &state)?;
        let client = TestClient::new(c"iommu-rs-mock-client", node.as_ref(), &[CLIENT_SID])?;
        let dev = client.device();
        assert_eq!(count(&state.identity_attaches), 1);

        let owner = DmaOwner::claim(dev)?;
        assert_eq!(count(&state.blocked_attaches), 1);
        assert_eq!(
            consumer::current_domain_type(dev),
            Some(domain_type::BLOCKED)
        );

        drop(owner);
        assert_eq!(count(&state.identity_attaches), 2);
        assert_eq!(
            consumer::current_domain_type(dev),
            Some(domain_type::IDENTITY)
        );
        Ok(())
    }

    /// Failed allocations, unsupported flags and unsupported user data return the right errno
    /// and leave nothing behind.
    #[test]
    fn alloc_errors() -> Result {
        let node = SoftwareNode::new()?;
        let faux = faux::Registration::new(c"iommu-rs-mock", None)?;
        let state = new_state()?;
        let reg = register(&faux, &node, &state)?;
        let client = TestClient::new(c"iommu-rs-mock-client", node.as_ref(), &[CLIENT_SID])?;
        let dev = client.device();

        state.fail_next_alloc.store(true, Relaxed);
        assert_eq!(
            PagingDomain::alloc(dev, PagingFlags::NONE).err(),
            Some(ENOMEM)
        );
        assert_eq!(
            PagingDomain::alloc(dev, PagingFlags::NEST_PARENT | PagingFlags::DIRTY_TRACKING).err(),
            Some(EOPNOTSUPP)
        );
        assert_eq!(
            PagingDomain::alloc(dev, PagingFlags::PASID).err(),
            Some(EOPNOTSUPP)
        );

        let view = ClientDevice::<MockIommu>::try_from_device(dev).ok_or(ENODEV)?;
        let user = UserData::new(1, UserPtr::from_addr(0x1000), 8);
        assert_eq!(
            <MockIommu as iommu::Ops>::domain_alloc_paging(
                reg.iommu(),
                view,
                PagingFlags::NONE,
                Some(&user)
            )
            .err(),
            Some(EOPNOTSUPP)
        );
        // Wrong type, then too short: rejected before user memory is touched.
        assert_eq!(user.read::<u64>(2, 8).err(), Some(EINVAL));
        assert_eq!(user.read::<u64>(1, 16).err(), Some(EINVAL));
        // A KUnit thread has no user memory: the copy faults cleanly.
        assert_eq!(user.read::<u64>(1, 8).err(), Some(EFAULT));

        assert_eq!(count(&state.domain_allocs), 0);
        assert_eq!(count(&state.live_domains), 0);

        // A domain without dirty tracking has no dirty ops.
        let domain = PagingDomain::alloc(dev, PagingFlags::NONE)?;
        assert_eq!(domain.set_dirty_tracking(true), Err(EOPNOTSUPP));
        drop(domain);
        assert_eq!(count(&state.live_domains), 0);

        // A device of another IOMMU is not a client of the mock.
        let faux_dev: &kernel::device::Device<kernel::device::Bound> = faux.as_ref().as_ref();
        assert!(ClientDevice::<MockIommu>::try_from_device(faux_dev).is_none());
        Ok(())
    }

    /// Dirty tracking: written pages are reported once, and again with `NO_CLEAR`.
    #[test]
    fn dirty_tracking() -> Result {
        let node = SoftwareNode::new()?;
        let faux = faux::Registration::new(c"iommu-rs-mock", None)?;
        let state = new_state()?;
        let _reg = register(&faux, &node, &state)?;
        let client = TestClient::new(c"iommu-rs-mock-client", node.as_ref(), &[CLIENT_SID])?;
        let dev = client.device();
        let mut domain = PagingDomain::alloc(dev, PagingFlags::DIRTY_TRACKING)?;
        domain.set_dirty_tracking(true)?;
        domain.map(IOVA, PADDR, 2 * SZ_4K, prot::READ | prot::WRITE, GFP_KERNEL)?;
        domain.map(IOVA + 4 * SZ_4K, PADDR, SZ_4K, prot::READ, GFP_KERNEL)?;
        let mut domain = client.attach(domain)?;

        pin_init::stack_pin_init!(let gather = IotlbGather::new());
        domain.read_and_clear_dirty(IOVA, SZ_2M, DirtyFlags::NO_CLEAR, &gather)?;
        assert_eq!(gather.start(), IOVA);
        assert_eq!(gather.end(), IOVA + 2 * SZ_4K - 1);

        domain.read_and_clear_dirty(IOVA, SZ_2M, DirtyFlags::NONE, &gather)?;
        assert_eq!(gather.end(), IOVA + 2 * SZ_4K - 1);

        domain.read_and_clear_dirty(IOVA, SZ_2M, DirtyFlags::NONE, &gather)?;
        assert!(gather.is_empty());

        assert_eq!(domain.unmap(IOVA, 5 * SZ_4K), 2 * SZ_4K);
        Ok(())
    }

    /// Unregistering the IOMMU releases its clients first.
    #[test]
    fn unregister_releases_clients() -> Result {
        let node = SoftwareNode::new()?;
        let faux = faux::Registration::new(c"iommu-rs-mock", None)?;
        let state = new_state()?;
        let reg = register(&faux, &node, &state)?;
        let client = TestClient::new(c"iommu-rs-mock-client", node.as_ref(), &[CLIENT_SID])?;
        assert_eq!(count(&state.live_devices), 1);

        drop(reg);
        assert_eq!(count(&state.releases), 1);
        assert_eq!(count(&state.live_devices), 0);
        assert!(Group::get(client.device()).is_none());
        drop(client);
        Ok(())
    }

    /// Stage-1 and stage-2 io-pgtable page tables behind a domain: map, translate, unmap with
    /// the TLB maintenance going through the flush cookie into the gather.
    #[test]
    fn lpae_stage1_and_stage2() -> Result {
        let node = SoftwareNode::new()?;
        let faux = faux::Registration::new(c"iommu-rs-mock", None)?;
        let state = new_state()?;
        let _reg = register(&faux, &node, &state)?;
        let client = TestClient::new(c"iommu-rs-mock-client", node.as_ref(), &[CLIENT_SID])?;
        let dev = client.device();

        for stage in [1, 2] {
            state.use_lpae_s1.store(stage == 1, Relaxed);
            let flags = if stage == 2 {
                PagingFlags::NEST_PARENT
            } else {
                PagingFlags::NONE
            };
            let add_pages = count(&state.tlb_add_pages);
            let syncs = count(&state.iotlb_syncs);

            let mut domain = PagingDomain::alloc(dev, flags)?;
            let rw = prot::READ | prot::WRITE;
            domain.map(IOVA, PADDR, 2 * SZ_4K, rw, GFP_KERNEL)?;
            domain.map(2 * SZ_2M, 2 * PADDR, SZ_2M, rw, GFP_KERNEL)?;
            let mut domain = client.attach(domain)?;

            assert_eq!(domain.iova_to_phys(IOVA as u64 + 0x10), PADDR + 0x10);
            assert_eq!(
                domain.iova_to_phys((IOVA + SZ_4K) as u64),
                PADDR + SZ_4K as PhysAddr
            );
            assert_eq!(
                domain.iova_to_phys((2 * SZ_2M + 0x2345) as u64),
                2 * PADDR + 0x2345
            );
            assert_eq!(domain.iova_to_phys((IOVA + 2 * SZ_4K) as u64), 0);

            pin_init::stack_pin_init!(let gather = IotlbGather::new());
            assert_eq!(domain.unmap_fast(IOVA, 2 * SZ_4K, &gather), 2 * SZ_4K);
            assert_eq!(domain.unmap_fast(2 * SZ_2M, SZ_2M, &gather), SZ_2M);
            assert!(count(&state.tlb_add_pages) >= add_pages + 2);
            assert!(!gather.is_empty());
            domain.iotlb_sync(&gather);
            assert!(count(&state.iotlb_syncs) > syncs);
            assert_eq!(domain.iova_to_phys(IOVA as u64), 0);
            assert_eq!(domain.iova_to_phys((2 * SZ_2M) as u64), 0);
        }
        state.use_lpae_s1.store(false, Relaxed);
        assert_eq!(count(&state.live_domains), 0);
        Ok(())
    }

    /// A client the driver refuses is left without a group, and a refused attach leaves the
    /// client on its default domain; nothing leaks.
    #[test]
    fn probe_and_attach_failures() -> Result {
        let node = SoftwareNode::new()?;
        let faux = faux::Registration::new(c"iommu-rs-mock", None)?;
        let state = new_state()?;
        let _reg = register(&faux, &node, &state)?;

        // No stream ID: `probe_device` fails with ENODEV.
        let orphan = TestClient::new(c"iommu-rs-mock-orphan", node.as_ref(), &[])?;
        assert_eq!(count(&state.probes), 0);
        assert!(Group::get(orphan.device()).is_none());
        assert!(ClientDevice::<MockIommu>::try_from_device(orphan.device()).is_none());
        assert_eq!(
            PagingDomain::alloc(orphan.device(), PagingFlags::NONE).err(),
            Some(ENODEV)
        );
        drop(orphan);
        assert_eq!(count(&state.releases), 0);

        // The mock refuses to attach paging domains to stream ID `u32::MAX`.
        let client = TestClient::new(c"iommu-rs-mock-client", node.as_ref(), &[u32::MAX])?;
        let dev = client.device();
        assert_eq!(count(&state.live_devices), 1);
        let domain = PagingDomain::alloc(dev, PagingFlags::NONE)?;
        assert_eq!(client.attach(domain).err(), Some(EINVAL));
        assert_eq!(count(&state.live_domains), 0);
        assert_eq!(
            consumer::current_domain_type(dev),
            Some(domain_type::IDENTITY)
        );

        drop(client);
        assert_eq!(count(&state.live_devices), 0);
        Ok(())
    }
}
