// SPDX-License-Identifier: GPL-2.0

//! Host build of the Intel VT-d driver's pure hardware-format layer.
//!
//! The files under `drivers/iommu/intel-rs/hw/` are included as this crate's own `hw` module, so
//! their `pub(crate)` items are reachable from the tests below without the kernel build knowing
//! anything about this crate.

#![no_std]

#[cfg(test)]
extern crate std;

// The kernel driver, not this crate, uses most of the module.
#[allow(dead_code, reason = "items are used by the kernel driver")]
#[path = "../../../drivers/iommu/intel-rs/hw/mod.rs"]
mod hw;

#[cfg(test)]
mod tests;
