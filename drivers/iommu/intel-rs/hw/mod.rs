// SPDX-License-Identifier: GPL-2.0

//! Pure hardware formats of Intel VT-d (Virtualization Technology for Directed I/O).
//!
//! Everything below this module depends on `core` only: no allocation, no `unsafe`, no
//! `kernel::` items and no MMIO. In-memory structures are values made of CPU-order `u64` words;
//! the driver converts them to little-endian when it publishes them to the IOMMU. The same files
//! are compiled into the kernel driver crate and into a host test crate
//! (`host/intel-vtd-hw`), which is why every item is `pub(crate)` and why this module root is a
//! `mod.rs` file.
//!
//! The layouts follow the Intel Virtualization Technology for Directed I/O Architecture
//! Specification. The C driver in [`drivers/iommu/intel/`](srctree/drivers/iommu/intel/)
//! encodes the same facts.
//!
//! - [`field`]: build-time checked bit fields inside multi-qword structures.
//! - [`dmar`]: the ACPI DMAR table: hardware units, reserved memory, ATS root ports, SoC
//!   devices and their device scopes.
//! - [`regs`]: register offsets, `CAP`/`ECAP` decoding and control register values.
//! - [`context`]: root and context entries, legacy and scalable mode.
//! - [`pasid`]: scalable-mode PASID directory and PASID table entries.
//! - [`pt`]: what the tables of both stages share (indexing, page sizes, decoded entries) and
//!   which entry format a table holds.
//! - [`sspt`]: second-stage page-table entries.
//! - [`fspt`]: first-stage (x86-64) page-table entries.
//! - [`qi`]: invalidation queue descriptors and page-selective range arithmetic.
//! - [`fault`]: fault recording registers and fault reasons.
//! - [`ids`]: domain IDs, PASIDs and source-ids.
//! - [`ratelimit`]: the kernel's log rate limit as pure policy, for the fault log (shared with
//!   the SMMUv3 driver's `hw` layer, in `drivers/iommu/rust-hw/`).
//! - [`error`]: [`Error`], the error type of the encoders, shared with the SMMUv3 driver's `hw`
//!   layer like [`field`] (both live in `drivers/iommu/rust-hw/`). Malformed firmware tables have
//!   their own, more detailed error: [`dmar::DmarError`].

pub(crate) mod context;
pub(crate) mod dmar;
#[path = "../../rust-hw/error.rs"]
pub(crate) mod error;
pub(crate) mod fault;
#[path = "../../rust-hw/field.rs"]
pub(crate) mod field;
pub(crate) mod fspt;
pub(crate) mod ids;
pub(crate) mod pasid;
pub(crate) mod pt;
pub(crate) mod qi;
#[path = "../../rust-hw/ratelimit.rs"]
pub(crate) mod ratelimit;
pub(crate) mod regs;
pub(crate) mod sspt;

#[cfg(any(test, CONFIG_KUNIT = "y"))]
pub(crate) mod selftest;

pub(crate) use self::error::Error;
