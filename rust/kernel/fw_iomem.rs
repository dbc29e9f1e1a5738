// SPDX-License-Identifier: GPL-2.0

//! Register blocks that firmware tables name by physical address.
//!
//! A device's registers normally come from its resources ([`crate::io::mem::IoRequest`]). Some
//! hardware has no device: an Intel VT-d remapping unit is a register block at the address its
//! ACPI DMAR table entry gives. [`FwIoMem`] claims such a block in the kernel's I/O memory
//! resource tree, exclusively, and maps it.
//!
//! C header: [`include/linux/ioport.h`](srctree/include/linux/ioport.h)

use crate::{
    bindings,
    io::{
        IoBase,
        Mmio,
        MmioBackend,
        MmioRaw,
        PhysAddr,
        Region, //
    },
    prelude::*,
    str::CString, //
};

/// A claimed and mapped register block.
///
/// # Invariants
///
/// - `[start, start + size)` is claimed busy in `iomem_resource` under `name` (which the resource
///   tree points at) until drop.
/// - `io` is an `ioremap()` mapping of exactly that range, valid until drop.
pub struct FwIoMem {
    io: MmioRaw<Region>,
    start: PhysAddr,
    size: usize,
    _name: CString,
}

// SAFETY: The claim and the mapping are not tied to a thread; MMIO accessors may be used from any
// thread.
unsafe impl Send for FwIoMem {}
// SAFETY: `&FwIoMem` gives MMIO accessors, which the kernel allows concurrently.
unsafe impl Sync for FwIoMem {}

impl FwIoMem {
    /// Claims `[start, start + size)` of the physical address space for `name` and maps it.
    ///
    /// `EBUSY` if another driver (or the kernel) has claimed any part of it, which also keeps
    /// system RAM out: the kernel claims its RAM in the same tree.
    pub fn request(start: PhysAddr, size: usize, name: CString) -> Result<Self> {
        if size == 0 {
            return Err(EINVAL);
        }
        let len = bindings::resource_size_t::try_from(size)?;
        // SAFETY: `name` is NUL-terminated and kept alive (in `Self`) for as long as the claim.
        let res = unsafe { bindings::request_mem_region(start, len, name.as_char_ptr()) };
        if res.is_null() {
            return Err(EBUSY);
        }
        // SAFETY: `[start, start + size)` is now claimed for us, and `size` is not zero.
        let addr = unsafe { bindings::ioremap(start, size) };
        if addr.is_null() {
            // SAFETY: The region was claimed just above.
            unsafe { bindings::release_mem_region(start, len) };
            return Err(ENOMEM);
        }
        let io = match MmioRaw::new_region(addr as usize, size) {
            Ok(io) => io,
            Err(e) => {
                // SAFETY: `addr` was mapped and the region claimed just above.
                unsafe {
                    bindings::iounmap(addr);
                    bindings::release_mem_region(start, len);
                }
                return Err(e);
            }
        };
        // INVARIANT: The range is claimed under `name` and `io` maps it.
        Ok(Self {
            io,
            start,
            size,
            _name: name,
        })
    }

    /// The physical address of the block.
    pub fn start(&self) -> PhysAddr {
        self.start
    }

    /// The size of the block, in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The virtual address of the mapping, valid while `self` lives (what a wrapper of C that
    /// takes the mapping needs, e.g. `kernel::dmar_irq` on x86).
    pub fn addr(&self) -> usize {
        self.io.addr()
    }
}

impl Drop for FwIoMem {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `io` is our mapping and the range our claim; `size`
        // fitted `resource_size_t` when it was claimed.
        unsafe {
            bindings::iounmap(self.io.addr() as *mut c_void);
            bindings::release_mem_region(self.start, self.size as bindings::resource_size_t);
        }
    }
}

impl<'a> IoBase<'a> for &'a FwIoMem {
    type Backend = MmioBackend;
    type Target = Region;

    #[inline]
    fn as_view(self) -> Mmio<'a, Region> {
        // SAFETY: By the type invariants `io` is a valid mapping for as long as `self` lives.
        unsafe { Mmio::from_raw(self.io) }
    }
}
