// SPDX-License-Identifier: GPL-2.0

//! Intel VT-d IOMMU driver (DMA remapping), in Rust.
//!
//! So far this crate is the pure hardware-format layer, [`hw`], and the KUnit suite that runs its
//! checks in the kernel ([`kunit`]). The driver above it, how it comes up beside the C driver and
//! interrupt remapping, and what is still to be done are described in
//! `Documentation/iommu-rs/intel-rs.rst`.
//!
//! C reference: [`drivers/iommu/intel/`](srctree/drivers/iommu/intel/).

#[allow(
    dead_code,
    reason = "the format layer is complete; the driver uses it as features land"
)]
mod hw;

mod kunit;

/// The prefix of this crate's log lines. `module!` defines it for a module; this crate has none
/// yet (nothing to initialise until the driver binds units), and the kernel's `pr_*!` macros
/// need it.
const __LOG_PREFIX: &[u8] = b"intel_iommu_rs\0";
