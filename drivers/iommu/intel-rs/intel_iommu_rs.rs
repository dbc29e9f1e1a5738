// SPDX-License-Identifier: GPL-2.0

//! Intel VT-d IOMMU driver (DMA remapping), in Rust.
//!
//! Layered as the SMMUv3 driver, from the bottom:
//!
//! - [`hw`]: the specification's formats (DMAR table, registers, root/context/PASID entries,
//!   invalidation descriptors, fault records). Pure `core` code, also built and tested on the
//!   host.
//! - `table`: the DMAR table, kept for devices probed later: which unit translates a device
//!   (its DRHD's device scopes).
//! - `rmrr`: the reserved memory regions of the DMAR table, and the devices that use them.
//! - `queue`: the invalidation queue, with synchronous, bounded waits.
//! - `unit`: one remapping unit: its registers, claimed and mapped, global commands, the queue,
//!   the root and context tables and the domain IDs.
//! - `fault`: the unit's fault interrupt: fault records drained, decoded and logged, rate
//!   limited.
//! - `pgtable`: second-stage page tables.
//! - `master`: a client device: its requester IDs, context entries, PASID directory and table.
//! - `domain`: the identity, blocked and second-stage paging domains.
//! - `iommu`: the IOMMU core glue (`iommu_ops`, domain ops) and the registration of a unit.
//! - `driver`: the built-in init that finds the units in the DMAR table and registers them.
//!
//! Each uses only the ones listed before it.
//!
//! How the driver comes up beside the C driver and interrupt remapping, and what is still to be
//! done, is in `Documentation/iommu-rs/intel-rs.rst`. With only
//! `CONFIG_INTEL_IOMMU_RUST_HW_KUNIT_TEST`, the crate is [`hw`] and its KUnit suite.
//!
//! C reference: [`drivers/iommu/intel/`](srctree/drivers/iommu/intel/).

#[allow(
    dead_code,
    reason = "the format layer is complete; the driver uses it as features land"
)]
mod hw;

#[cfg(CONFIG_INTEL_IOMMU_RUST)]
mod domain;
#[cfg(CONFIG_INTEL_IOMMU_RUST)]
mod driver;
#[cfg(CONFIG_INTEL_IOMMU_RUST)]
mod fault;
#[cfg(CONFIG_INTEL_IOMMU_RUST)]
mod iommu;
#[cfg(CONFIG_INTEL_IOMMU_RUST_HW_KUNIT_TEST)]
mod kunit;
#[cfg(CONFIG_INTEL_IOMMU_RUST)]
mod master;
#[cfg(CONFIG_INTEL_IOMMU_RUST)]
mod pgtable;
#[cfg(CONFIG_INTEL_IOMMU_RUST)]
mod queue;
#[cfg(CONFIG_INTEL_IOMMU_RUST)]
mod rmrr;
#[cfg(CONFIG_INTEL_IOMMU_RUST)]
mod table;
#[cfg(CONFIG_INTEL_IOMMU_RUST)]
mod unit;

/// The prefix of this crate's log lines. `module!` defines it for a module; this crate is
/// started by [`kernel::builtin_initcall!`] instead, and the kernel's `pr_*!` macros need it.
const __LOG_PREFIX: &[u8] = b"intel_iommu_rs\0";

// The module `#[vtable]` impls name as their owner: this crate is built in.
#[cfg(CONFIG_INTEL_IOMMU_RUST)]
kernel::builtin_module_metadata!(c"intel_iommu_rs");

#[cfg(CONFIG_INTEL_IOMMU_RUST)]
impl From<hw::Error> for kernel::error::Error {
    fn from(e: hw::Error) -> Self {
        use kernel::error::code::*;
        match e {
            hw::Error::Overflow => EOVERFLOW,
            hw::Error::BadAddress | hw::Error::Invalid | hw::Error::UnusedBitsSet => EINVAL,
        }
    }
}

#[cfg(CONFIG_INTEL_IOMMU_RUST)]
/// Prints a [`hw`] value, which implements [`core::fmt::Display`], with the kernel's formatting
/// macros.
pub(crate) struct Show<'a, T>(pub(crate) &'a T);

#[cfg(CONFIG_INTEL_IOMMU_RUST)]
impl<T: core::fmt::Display> kernel::fmt::Display for Show<'_, T> {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        core::fmt::Display::fmt(self.0, f)
    }
}

#[cfg(CONFIG_INTEL_IOMMU_RUST)]
/// `"yes"` or `"no"`, for log lines.
pub(crate) fn yn(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
