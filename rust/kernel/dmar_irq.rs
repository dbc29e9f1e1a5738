// SPDX-License-Identifier: GPL-2.0

//! Interrupts of Intel VT-d remapping units.
//!
//! A VT-d remapping unit signals its events (a recorded fault, a page request) with a message
//! signalled interrupt that it sends itself, programmed through registers of its own: a control
//! register holding the mask, followed by data, address and upper address registers
//! (`FECTL_REG`..`FEUADDR_REG` for the fault event). A unit is not a PCI device, so x86 gives
//! these interrupts an interrupt domain of their own. The C driver's, DMAR-MSI, reaches the
//! registers through its `struct intel_iommu`; [`DmarIrq`] takes one from DMAR-REGS-MSI
//! instead, whose interrupt chip writes the message and the mask to the registers of a
//! [`FwIoMem`] mapping: for units that the C driver does not drive.
//!
//! C header: [`include/linux/dmar.h`](srctree/include/linux/dmar.h)

use core::marker::PhantomData;

use crate::{
    bindings,
    device::{
        Bound,
        Device, //
    },
    fw_iomem::FwIoMem,
    irq::{
        Flags,
        Handler,
        IrqRequest,
        Registration, //
    },
    prelude::*,
};

/// The size of a unit's event register group: control, data, address and upper address, 32
/// bits each.
pub const EVENT_REGS_SIZE: usize = 16;

/// An interrupt allocated in DMAR-REGS-MSI.
///
/// # Invariants
///
/// `irq` was returned by `dmar_alloc_hwirq_regs()` for registers inside a mapping that is
/// borrowed for `'a`, and is freed on drop.
struct HwIrq<'a> {
    irq: u32,
    _regs: PhantomData<&'a FwIoMem>,
}

impl<'a> HwIrq<'a> {
    /// Allocates interrupt `id` for the event registers at `offset` of `regs`.
    fn new(regs: &'a FwIoMem, offset: usize, id: u32) -> Result<Self> {
        let end = offset.checked_add(EVENT_REGS_SIZE).ok_or(EINVAL)?;
        if end > regs.size() || offset % 4 != 0 {
            return Err(EINVAL);
        }
        let id = c_int::try_from(id)?;
        let addr = regs.addr() + offset;
        // SAFETY: `[addr, addr + EVENT_REGS_SIZE)` lies inside the mapping of `regs`, checked
        // above, which outlives the interrupt: `Self` borrows it for `'a` and frees the
        // interrupt on drop. The chip only writes 32-bit words at offsets 0 to 12 of it.
        let irq = unsafe {
            bindings::dmar_alloc_hwirq_regs(id, bindings::NUMA_NO_NODE, addr as *mut c_void)
        };
        if irq == -1 {
            // The interrupt domain could not be created.
            return Err(ENOMEM);
        }
        if irq < 0 {
            return Err(Error::from_errno(irq));
        }
        // INVARIANT: `irq` was just allocated for registers inside `regs`.
        Ok(Self {
            irq: u32::try_from(irq)?,
            _regs: PhantomData,
        })
    }
}

impl Drop for HwIrq<'_> {
    fn drop(&mut self) {
        // CAST: The number came from a non-negative `int`.
        let irq = self.irq as c_int;
        // SAFETY: By the type invariants `irq` is ours; whoever requested it freed it first
        // (`DmarIrq` drops its registration before this).
        unsafe { bindings::dmar_free_hwirq(irq) };
    }
}

/// An interrupt of a remapping unit with its handler.
///
/// Dropping it frees the handler (waiting for a running one to finish), then the interrupt.
#[pin_data]
pub struct DmarIrq<'a, T: Handler> {
    // Declared first: dropped before `hwirq` frees the interrupt.
    #[pin]
    registration: Registration<'a, T>,
    hwirq: HwIrq<'a>,
}

impl<'a, T: Handler + 'a> DmarIrq<'a, T> {
    /// Allocates interrupt `id` (unique among the caller's units) for the unit whose event
    /// register group (control, data, address, upper address) is at `offset` of `regs`, and
    /// requests it with `handler` under `name`, for `dev`, the device that stands for the unit.
    ///
    /// The interrupt starts unmasked (its chip clears the control register's mask bit when the
    /// handler is installed). `EINVAL` if the register group is not inside `regs`.
    ///
    /// # Safety
    ///
    /// As for [`Registration::new`]: the result must not be forgotten (`mem::forget()`) or
    /// otherwise kept from being dropped while `dev` is bound.
    pub unsafe fn new(
        dev: &'a Device<Bound>,
        regs: &'a FwIoMem,
        offset: usize,
        id: u32,
        name: &'static CStr,
        flags: Flags,
        handler: impl PinInit<T, Error> + 'a,
    ) -> Result<Pin<KBox<Self>>> {
        let hwirq = HwIrq::new(regs, offset, id)?;
        // SAFETY: `hwirq.irq` is an interrupt of the unit that `dev` stands for.
        let request = unsafe { IrqRequest::new(dev, hwirq.irq) };
        // SAFETY: The caller does not forget the result, so the registration is dropped.
        let registration = unsafe { Registration::new(request, flags, name, handler) };
        KBox::pin_init(
            try_pin_init!(Self {
                registration <- registration,
                hwirq,
            }? Error),
            GFP_KERNEL,
        )
    }

    /// The Linux interrupt number.
    pub fn irq(&self) -> u32 {
        self.hwirq.irq
    }

    /// The handler.
    pub fn handler(&self) -> &T {
        self.registration.handler()
    }
}
