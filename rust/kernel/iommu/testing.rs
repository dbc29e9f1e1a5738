// SPDX-License-Identifier: GPL-2.0

//! Support for testing IOMMU drivers: firmware nodes and client devices that point at them.
//!
//! A software IOMMU registers with a [`SoftwareNode`] as its firmware node; a [`TestClient`] is a
//! platform device whose fwspec designates that node, so that the core probes it with the
//! software IOMMU (and only with it) when it is added.

use core::ptr::NonNull;

use crate::{
    bindings,
    device::{
        self,
        property::FwNode, //
    },
    error::{
        from_err_ptr,
        to_result, //
    },
    prelude::*, //
};

use super::{
    consumer::{
        AttachedDomain,
        PagingDomain, //
    },
    device::ProbeLockGuard, //
};

/// A firmware node without properties (`fwnode_create_software_node()`).
///
/// # Invariants
///
/// `ptr` is a software node created by us and removed on drop.
pub struct SoftwareNode {
    ptr: NonNull<bindings::fwnode_handle>,
}

// SAFETY: Software nodes can be removed from any thread.
unsafe impl Send for SoftwareNode {}
// SAFETY: `&SoftwareNode` only gives access to the `FwNode`, which is thread safe.
unsafe impl Sync for SoftwareNode {}

impl SoftwareNode {
    /// Creates a new, empty software node.
    pub fn new() -> Result<Self> {
        let props = [pin_init::zeroed::<bindings::property_entry>()];
        // SAFETY: `props` is an empty, terminated property list, copied by the call.
        let ptr = from_err_ptr(unsafe {
            bindings::fwnode_create_software_node(props.as_ptr(), core::ptr::null())
        })?;
        Ok(Self {
            ptr: NonNull::new(ptr).ok_or(ENOMEM)?,
        })
    }
}

impl AsRef<FwNode> for SoftwareNode {
    fn as_ref(&self) -> &FwNode {
        // SAFETY: The node is valid while `self` lives; `FwNode` is a transparent wrapper of
        // `struct fwnode_handle`.
        unsafe { &*self.ptr.as_ptr().cast::<FwNode>() }
    }
}

impl Drop for SoftwareNode {
    fn drop(&mut self) {
        // SAFETY: The node was created in `new`.
        unsafe { bindings::fwnode_remove_software_node(self.ptr.as_ptr()) };
    }
}

/// A platform device (bound to no driver) translated by the IOMMU whose firmware node is given.
///
/// # Invariants
///
/// `pdev` is a registered platform device owned by us.
pub struct TestClient {
    pdev: NonNull<bindings::platform_device>,
}

// SAFETY: Platform devices can be unregistered from any thread.
unsafe impl Send for TestClient {}
// SAFETY: `&TestClient` only gives access to the `struct device`, which is thread safe.
unsafe impl Sync for TestClient {}

impl TestClient {
    /// Creates and adds a platform device named `name` whose fwspec designates `iommu` with the
    /// firmware IDs `ids`. The IOMMU must be registered already.
    pub fn new(name: &CStr, iommu: &FwNode, ids: &[u32]) -> Result<Self> {
        let num = i32::try_from(ids.len())?;
        // SAFETY: `name` is copied by the call.
        let pdev = unsafe {
            bindings::platform_device_alloc(name.as_char_ptr(), bindings::PLATFORM_DEVID_AUTO)
        };
        let pdev = NonNull::new(pdev).ok_or(ENOMEM)?;
        // SAFETY: `pdev` is a valid, not yet added platform device.
        let dev = unsafe { &raw mut (*pdev.as_ptr()).dev };

        let guard = ProbeLockGuard::lock();
        // SAFETY: `dev` is valid, the probe lock is held as `iommu_fwspec_init` requires, and
        // `iommu` is a valid firmware node (the fwspec takes a reference).
        let ret = to_result(unsafe { bindings::iommu_fwspec_init(dev, iommu.as_raw()) }).and_then(
            // SAFETY: The fwspec exists now; `ids` holds `num` IDs, copied by the call.
            |()| to_result(unsafe { bindings::iommu_fwspec_add_ids(dev, ids.as_ptr(), num) }),
        );
        drop(guard);

        // SAFETY: `pdev` is valid; adding it makes the core probe it with the IOMMU.
        let ret =
            ret.and_then(|()| to_result(unsafe { bindings::platform_device_add(pdev.as_ptr()) }));
        if let Err(e) = ret {
            // SAFETY: `pdev` was allocated above and not added.
            unsafe { bindings::platform_device_put(pdev.as_ptr()) };
            return Err(e);
        }
        // INVARIANT: The device is registered.
        Ok(Self { pdev })
    }

    /// Attaches `domain` to the client.
    ///
    /// Unlike [`PagingDomain::attach`] this is safe: a test client has no driver and never
    /// accesses memory, whatever the domain maps.
    pub fn attach(&self, domain: PagingDomain) -> Result<AttachedDomain> {
        // SAFETY: The device performs no DMA (see above).
        unsafe { domain.attach(self.device()) }
    }

    /// Returns the client's `struct device`.
    pub fn device(&self) -> &device::Device {
        // SAFETY: The device is valid while registered (type invariants).
        unsafe { device::Device::from_raw(&raw mut (*self.pdev.as_ptr()).dev) }
    }
}

impl Drop for TestClient {
    fn drop(&mut self) {
        // SAFETY: The device is registered and owned by us.
        unsafe { bindings::platform_device_unregister(self.pdev.as_ptr()) };
    }
}

/// Marks the running KUnit test as skipped, with `reason`, as C's `kunit_mark_skipped()` does;
/// does nothing outside a KUnit test. The test should return right after (its result then does
/// not count as a pass).
///
/// 7.3's `kernel::kunit` has no way to skip; this is the one IOMMU driver tests need when the
/// hardware they run against is absent.
pub fn skip_current_test(reason: &CStr) {
    // SAFETY: Reads the current task's KUnit test pointer; no preconditions.
    let test = unsafe { bindings::kunit_get_current_test() };
    if test.is_null() {
        return;
    }
    let reason = reason.to_bytes();
    // SAFETY: `test` is the test this task is running, valid until it returns; only the task
    // running a test writes its status and comment, as `kunit_mark_skipped()` does.
    unsafe {
        let comment = &raw mut (*test).status_comment;
        let n = reason.len().min((*comment).len() - 1);
        core::ptr::copy_nonoverlapping(reason.as_ptr(), (*comment).as_mut_ptr().cast::<u8>(), n);
        (*comment)[n] = 0;
        core::ptr::write_volatile(
            &raw mut (*test).status,
            bindings::kunit_status_KUNIT_SKIPPED,
        );
    }
}
