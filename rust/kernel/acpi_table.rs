// SPDX-License-Identifier: GPL-2.0

//! Static ACPI tables, read as bytes.
//!
//! Firmware describes some hardware only in a static ACPI table (the DMAR table of Intel VT-d,
//! for instance) rather than as devices. [`Table`] maps such a table, as installed by the kernel
//! (the firmware's or an initrd upgrade), for as long as it lives; parsing its bytes is the
//! driver's business.
//!
//! C header: [`include/acpi/acpixf.h`](srctree/include/acpi/acpixf.h)

use core::ptr::NonNull;

use crate::{
    bindings,
    prelude::*, //
};

/// An installed ACPI table, mapped until dropped.
///
/// # Invariants
///
/// `0` was returned by a successful `acpi_get_table()`, which maps the table's `length` bytes
/// (header included) until the matching `acpi_put_table()`.
pub struct Table(NonNull<bindings::acpi_table_header>);

// SAFETY: The mapping is not tied to the thread that made it; `acpi_put_table()` may be called from
// any thread.
unsafe impl Send for Table {}
// SAFETY: `&Table` only gives read access to the installed table, which nothing writes.
unsafe impl Sync for Table {}

impl Table {
    /// Maps the first installed table with the four-character `signature` (e.g. `*b"DMAR"`);
    /// `ENODEV` if there is none.
    ///
    /// May sleep.
    pub fn get(signature: &[u8; 4]) -> Result<Self> {
        // ACPICA compares four bytes of the signature: hand it a terminated copy.
        let mut sig = [0u8; 5];
        sig[..4].copy_from_slice(signature);
        let mut header = core::ptr::null_mut();
        // SAFETY: `sig` is a NUL-terminated four-character signature that ACPICA only reads;
        // `header` is valid for writing.
        let status = unsafe { bindings::acpi_get_table(sig.as_mut_ptr().cast(), 0, &mut header) };
        match NonNull::new(header) {
            // INVARIANT: `acpi_get_table()` succeeded and returned the table.
            Some(header) if status == 0 => Ok(Self(header)),
            _ => Err(ENODEV),
        }
    }

    /// The whole table, header included.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: By the type invariants the header is mapped; `length` is read by value.
        let len = unsafe { (*self.0.as_ptr()).length } as usize;
        // SAFETY: By the type invariants `len` bytes are mapped for as long as `self` lives, and
        // nothing writes to an installed table.
        unsafe { core::slice::from_raw_parts(self.0.as_ptr().cast::<u8>(), len) }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the table was got with `acpi_get_table()` and is put once.
        unsafe { bindings::acpi_put_table(self.0.as_ptr()) };
    }
}
