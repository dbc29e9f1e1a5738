// SPDX-License-Identifier: GPL-2.0

//! System core operations: a callback run late at system shutdown.
//!
//! `syscore_shutdown()` runs the registered shutdown callbacks after every device was shut down
//! (`device_shutdown()`), on one CPU, before the machine powers off, restarts or jumps into a
//! kexec'd kernel; it holds a mutex, so a callback may sleep. Firmware-described hardware that
//! is no device (an IOMMU unit of the ACPI DMAR table) is quiesced there.
//!
//! C header: [`include/linux/syscore_ops.h`](srctree/include/linux/syscore_ops.h)

use crate::{
    bindings,
    prelude::*,
    types::Opaque,
    ModuleMetadata, //
};
use core::ffi::c_void;

/// What runs at system shutdown.
pub trait Shutdown: Sync + 'static {
    /// Called once by `syscore_shutdown()`, after every device's shutdown.
    fn shutdown(&self);
}

/// A registration of a [`Shutdown`] with the system core, for the life of the kernel: there is
/// no unregistering, so it serves built-in code only ([`Registration::register`] refuses a
/// loadable module).
#[pin_data]
pub struct Registration<T: Shutdown> {
    #[pin]
    syscore: Opaque<bindings::syscore>,
    data: T,
}

impl<T: Shutdown> Registration<T> {
    const OPS: bindings::syscore_ops = bindings::syscore_ops {
        suspend: None,
        resume: None,
        shutdown: Some(Self::shutdown_callback),
    };

    /// Registers `data`, whose [`Shutdown::shutdown`] then runs at system shutdown. The
    /// registration is never freed.
    ///
    /// `M` is the caller's module: `EINVAL` unless it is built in (a NULL `THIS_MODULE`), since
    /// a loadable module could be unloaded with its callback still registered.
    pub fn register<M: ModuleMetadata>(data: T) -> Result<&'static Self> {
        if !M::THIS_MODULE.as_ptr().is_null() {
            return Err(EINVAL);
        }
        let reg = KBox::pin_init(
            pin_init!(Self {
                syscore <- Opaque::uninit(),
                data,
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: The box is leaked, never moved nor freed: what it holds stays pinned.
        let reg: &'static Self = KBox::leak(unsafe { Pin::into_inner_unchecked(reg) });
        let syscore = reg.syscore.get();
        // SAFETY: `syscore` points to a `struct syscore` that lives for the rest of the
        // kernel's life; `ops` and `data` are set before `register_syscore()` links it into the
        // system core's list (and initialises `node`), and nothing else writes them.
        unsafe {
            (*syscore).ops = &Self::OPS;
            (*syscore).data = core::ptr::from_ref(reg).cast_mut().cast();
            bindings::register_syscore(syscore);
        }
        Ok(reg)
    }

    /// The `shutdown` callback of [`Self::OPS`].
    ///
    /// # Safety
    ///
    /// `data` is the `data` field a [`Registration::register`] set: a `Registration<T>` that
    /// lives forever.
    unsafe extern "C" fn shutdown_callback(data: *mut c_void) {
        // SAFETY: By the function's safety requirement.
        let reg = unsafe { &*data.cast::<Self>() };
        reg.data.shutdown();
    }
}

// SAFETY: The system core's list is under its own lock; `T` is `Sync`.
unsafe impl<T: Shutdown> Sync for Registration<T> {}
// SAFETY: As above; the registration is never dropped.
unsafe impl<T: Shutdown> Send for Registration<T> {}
