// SPDX-License-Identifier: GPL-2.0

//! Recoverable I/O page faults: the queue an IOMMU driver reports its client devices' page
//! requests to (`struct iopf_queue`), and the requests themselves.
//!
//! The driver takes a page request from its hardware (a PCIe Page Request, a stalled
//! transaction) and reports it with [`IopfDevice::report`]; the IOMMU core gathers the requests
//! of a group and hands the group to the handler of the domain the device (or its PASID) is
//! attached to, for instance an iommufd fault queue. The answer comes back through
//! [`Ops::page_response`](super::Ops::page_response).
//!
//! C header: [`include/linux/iommu.h`](srctree/include/linux/iommu.h)

use core::ptr::NonNull;

use crate::{
    bindings,
    device::Device,
    error::to_result,
    prelude::*,
    sync::{
        aref::ARef,
        Arc, //
    },
};

use super::{
    ClientDevice,
    Ops, //
};

/// The access rights a page request asks for (`IOMMU_FAULT_PERM_*`).
pub mod perm {
    /// Read.
    pub const READ: u32 = bindings::IOMMU_FAULT_PERM_READ;
    /// Write.
    pub const WRITE: u32 = bindings::IOMMU_FAULT_PERM_WRITE;
    /// Execute.
    pub const EXEC: u32 = bindings::IOMMU_FAULT_PERM_EXEC;
    /// Privileged mode.
    pub const PRIV: u32 = bindings::IOMMU_FAULT_PERM_PRIV;
}

/// One page request of a client device, as its IOMMU received it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// The PASID the request carries, if any.
    pub pasid: Option<u32>,
    /// The response must carry the PASID of the request (only meaningful with one).
    pub response_needs_pasid: bool,
    /// The request is the last of its group: the group is then complete and answered as one.
    pub last: bool,
    /// The page request group index.
    pub grpid: u32,
    /// The access asked for: a combination of [`perm`] flags.
    pub perm: u32,
    /// The address of the page.
    pub addr: u64,
}

impl PageRequest {
    /// The request as `struct iopf_fault`.
    fn to_raw(self) -> bindings::iopf_fault {
        let mut flags = 0;
        if self.last {
            flags |= bindings::IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
        }
        if self.pasid.is_some() {
            flags |= bindings::IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;
            if self.response_needs_pasid {
                flags |= bindings::IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID;
            }
        }
        let mut raw: bindings::iopf_fault = pin_init::zeroed();
        raw.fault.type_ = bindings::iommu_fault_type_IOMMU_FAULT_PAGE_REQ;
        raw.fault.prm.flags = flags;
        raw.fault.prm.pasid = self.pasid.unwrap_or(0);
        raw.fault.prm.grpid = self.grpid;
        raw.fault.prm.perm = self.perm;
        raw.fault.prm.addr = self.addr;
        raw
    }
}

/// An I/O page fault queue (`iopf_queue_alloc()`): the IOMMU core runs the fault handlers of the
/// devices on it from its work queue. Freed when dropped.
///
/// # Invariants
///
/// `ptr` is a queue allocated by `iopf_queue_alloc()`, freed only by `drop`.
pub struct IopfQueue {
    ptr: NonNull<bindings::iopf_queue>,
}

// SAFETY: The queue's device list is protected by its mutex; it may be used from any thread.
unsafe impl Send for IopfQueue {}
// SAFETY: Every operation on the queue takes its mutex.
unsafe impl Sync for IopfQueue {}

impl IopfQueue {
    /// Allocates a queue whose work queue is named `iopf_queue/<name>`.
    pub fn new(name: &CStr) -> Result<Arc<Self>> {
        // SAFETY: `name` is a valid NUL-terminated string, which the call copies.
        let ptr = unsafe { bindings::iopf_queue_alloc(name.as_char_ptr()) };
        // INVARIANT: Allocated just now.
        let queue = Self {
            ptr: NonNull::new(ptr).ok_or(ENOMEM)?,
        };
        Ok(Arc::new(queue, GFP_KERNEL)?)
    }

    /// Puts `dev` on the queue: from now on its page requests can be reported.
    ///
    /// # Errors
    ///
    /// - `EBUSY` if the device is on a queue already;
    /// - `ENODEV` if the device's IOMMU driver has no [`Ops::page_response`];
    /// - `ENOMEM`.
    ///
    /// # Safety
    ///
    /// The returned [`IopfDevice`] must be dropped before the IOMMU core releases `dev` (before
    /// `T::release_device` returns), which frees what the queue refers to.
    pub unsafe fn add_device<T: Ops>(
        self: &Arc<Self>,
        dev: &ClientDevice<T>,
    ) -> Result<IopfDevice> {
        // SAFETY: `ptr` is a live queue (type invariants); `dev` is a probed client device,
        // whose `dev_iommu` is valid.
        to_result(unsafe { bindings::iopf_queue_add_device(self.ptr.as_ptr(), dev.as_raw()) })?;
        let device: &Device = dev.as_ref();
        // INVARIANT: Added just now; the caller drops it before the device is released.
        Ok(IopfDevice {
            queue: self.clone(),
            dev: device.into(),
        })
    }

    /// Forgets the requests of every device on the queue that wait for the rest of their
    /// group: after the hardware lost requests (a full queue), a group's last request may never
    /// come.
    pub fn discard_partial(&self) {
        // SAFETY: `ptr` is a live queue (type invariants). The call fails only for NULL.
        let _ = unsafe { bindings::iopf_queue_discard_partial(self.ptr.as_ptr()) };
    }
}

impl Drop for IopfQueue {
    fn drop(&mut self) {
        // SAFETY: `ptr` was allocated by `iopf_queue_alloc()` and is freed once, here. Every
        // `IopfDevice` holds a reference to the queue, so none is left on it.
        unsafe { bindings::iopf_queue_free(self.ptr.as_ptr()) };
    }
}

/// A client device on an [`IopfQueue`]: its page requests are reported through it. Dropping it
/// takes the device off the queue; the core then answers the device's pending groups with
/// "invalid" ([`Ops::page_response`]) and forgets its incomplete ones.
///
/// # Invariants
///
/// `dev` is on `queue` and keeps its `dev_iommu` while this value lives.
pub struct IopfDevice {
    queue: Arc<IopfQueue>,
    dev: ARef<Device>,
}

impl IopfDevice {
    /// The device.
    pub fn device(&self) -> &Device {
        &self.dev
    }

    /// Reports the page request `req` of the device to the handler of the domain its RID (or
    /// the request's PASID) is attached to. May sleep.
    ///
    /// # Errors
    ///
    /// `EINVAL` if no domain of the device handles page faults, `ENOMEM`. For the last request
    /// of a group the core has then answered the group already (with "invalid", through
    /// [`Ops::page_response`]); the driver must not answer it again.
    pub fn report(&self, req: &PageRequest) -> Result {
        let mut raw = req.to_raw();
        // SAFETY: `dev` is a device on a queue, with its `dev_iommu` (type invariants); `raw` is
        // a valid fault, which the core copies.
        to_result(unsafe { bindings::iommu_report_device_fault(self.dev.as_raw(), &mut raw) })
    }
}

impl Drop for IopfDevice {
    fn drop(&mut self) {
        // SAFETY: `dev` is on `queue`, with its `dev_iommu` (type invariants).
        unsafe { bindings::iopf_queue_remove_device(self.queue.ptr.as_ptr(), self.dev.as_raw()) };
    }
}
