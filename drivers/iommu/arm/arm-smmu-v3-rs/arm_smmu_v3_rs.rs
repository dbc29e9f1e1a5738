// SPDX-License-Identifier: GPL-2.0

//! Arm SMMUv3 IOMMU driver.
//!
//! The driver is layered as follows, each layer using only the ones above it (no module
//! cycles: `qemu-ci/tests/test_layers.py` checks it):
//!
//! - [`hw`]: the architecture's in-memory formats (STE, CD, commands, events), queue index
//!   arithmetic, ID register decoding and the hitless entry update planner. Pure `core` code,
//!   also built and tested on the host.
//! - [`regs`]: the MMIO registers, as `kernel::io::register!` types.
//! - [`fw`]: what the firmware description says about the SMMU (coherency, ...).
//! - [`features`]: what this SMMU implements, decoded once at probe.
//! - [`queue`]: the command and event queues in coherent DMA memory.
//! - [`entry`]: STEs and CDs in coherent DMA memory, updated through the hitless planner.
//! - [`strtab`]: the stream table, linear or two-level; [`cdtab`]: a device's Context
//!   Descriptor table.
//! - [`streams`]: which client device owns each StreamID.
//! - [`smmu`]: the device core shared by everything that issues commands: reset, enable,
//!   error handling, STE installation, TLB invalidation.
//! - [`master`], then [`domain`]: per-device state (StreamIDs, Context Descriptor table), and
//!   the identity, blocking, and stage 1 and stage 2 paging domains.
//! - [`vsmmu`]: virtual SMMUs, the iommufd vIOMMUs of the SMMU, over stage 2 domains.
//! - [`iommu`]: the `iommu_ops`, `DomainOps` and `ViommuOps` glue, calling into the modules
//!   above.
//! - [`irq`] and [`debugfs`]: interrupt handlers and the fault-injection knob, on [`smmu`].
//! - [`driver`]: the platform driver: probe, interrupts, IOMMU core registration, unbind.
//!
//! C reference: [`drivers/iommu/arm/arm-smmu-v3/`](srctree/drivers/iommu/arm/arm-smmu-v3/).

#[allow(
    dead_code,
    reason = "the format layer is complete; the driver uses it as features land"
)]
mod hw;

impl From<hw::Error> for kernel::error::Error {
    fn from(e: hw::Error) -> Self {
        use kernel::error::code::*;
        match e {
            hw::Error::Overflow => EOVERFLOW,
            hw::Error::BadAddress | hw::Error::Invalid | hw::Error::UnusedBitsSet => EINVAL,
        }
    }
}

impl From<hw::user::Reject> for kernel::error::Error {
    fn from(_: hw::user::Reject) -> Self {
        // As C: every vSTE or command a guest may not hand the SMMU is EIO.
        kernel::error::code::EIO
    }
}

/// Prints a [`hw`] value, which implements [`core::fmt::Display`], with the kernel's formatting
/// macros.
pub(crate) struct Show<'a, T>(pub(crate) &'a T);

impl<T: core::fmt::Display> kernel::fmt::Display for Show<'_, T> {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        core::fmt::Display::fmt(self.0, f)
    }
}

mod cdtab;
mod debugfs;
mod domain;
mod driver;
mod entry;
mod features;
mod fw;
mod iommu;
mod irq;
#[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
mod kunit;
mod master;
mod queue;
mod regs;
mod smmu;
mod streams;
mod strtab;
mod vsmmu;

kernel::module_platform_driver! {
    type: driver::SmmuDriver,
    name: "arm_smmu_v3_rs",
    authors: ["iommu-rs developers"],
    description: "Arm SMMUv3 IOMMU driver (Rust)",
    license: "GPL v2",
    params: {
        force_linear_strtab: bool {
            default: false,
            description: "Use a linear stream table even where the SMMU supports two levels \
                (2^SIDSIZE entries of 64 bytes)",
        },
        priq_log2: u32 {
            default: 12,
            description: "log2 of the largest PRI queue to allocate, 1 to 12 (a small queue \
                overflows sooner, to test that path)",
        },
    },
}
