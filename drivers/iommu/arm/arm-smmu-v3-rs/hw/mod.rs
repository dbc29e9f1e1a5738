// SPDX-License-Identifier: GPL-2.0

//! Pure hardware formats of the Arm SMMUv3 architecture.
//!
//! Everything below this module depends on `core` only: no allocation, no `unsafe`, no
//! `kernel::` items and no MMIO. In-memory structures are values made of CPU-order `u64` words;
//! the driver converts them to little-endian when it publishes them to the SMMU. The same files
//! are compiled into the kernel driver crate and into a host test crate, which is why every item
//! is `pub(crate)` and why this module root is a `mod.rs` file.
//!
//! The layouts follow the Arm System Memory Management Unit Architecture Specification, SMMU
//! architecture version 3. The C driver in
//! [`drivers/iommu/arm/arm-smmu-v3/`](srctree/drivers/iommu/arm/arm-smmu-v3/) encodes the same
//! facts.
//!
//! - [`field`]: build-time checked bit fields inside multi-qword structures.
//! - [`ste`] and [`cd`]: Stream Table Entries and Context Descriptors, with the "used bits" the
//!   SMMU reads for a given configuration.
//! - [`compose`]: the STEs and CDs the driver installs, from the features and runtime values.
//! - [`hitless`]: the planner that updates a live STE or CD without the SMMU observing a torn
//!   entry.
//! - [`illegal`]: the specification's ILLEGAL STE and CD conditions, as a checker.
//! - [`cmd`], [`tlbi`]: command queue entries and range invalidation splitting.
//! - [`event`]: event queue and PRI queue record decoding.
//! - [`prodcons`]: producer and consumer index arithmetic of the queues.
//! - [`cmdq`]: the command queue's protocol between CPUs: positions, space and completion.
//! - [`idr`]: the ID registers' fields, decoded.
//! - [`ctrl`]: the control registers' fields: the values the driver writes and reads back.
//! - [`probe`]: the SMMUs the driver refuses, the page sizes and the stream table layout it
//!   derives from the ID registers.
//! - [`imp`]: errata and firmware quirks of particular implementations.
//! - [`ratelimit`]: the kernel's log rate limit as pure policy, for the event log.
//! - [`user`]: what user space hands the driver for nested translation (vSTEs, invalidation
//!   commands), validated, and the event records it receives.
//! - [`ids`]: identifiers shared by several structures, and [`Error`], the one error type.

pub(crate) mod cd;
pub(crate) mod cmd;
pub(crate) mod cmdq;
pub(crate) mod compose;
pub(crate) mod ctrl;
#[path = "../../../rust-hw/error.rs"]
pub(crate) mod error;
pub(crate) mod event;
#[path = "../../../rust-hw/field.rs"]
pub(crate) mod field;
pub(crate) mod hitless;
pub(crate) mod idr;
pub(crate) mod ids;
pub(crate) mod illegal;
pub(crate) mod imp;
pub(crate) mod probe;
pub(crate) mod prodcons;
#[path = "../../../rust-hw/ratelimit.rs"]
pub(crate) mod ratelimit;
pub(crate) mod ste;
pub(crate) mod tlbi;
pub(crate) mod user;

#[cfg(any(test, CONFIG_KUNIT = "y"))]
pub(crate) mod selftest;

pub(crate) use self::error::Error;

/// Common memory attribute encodings shared by several structures and registers.
pub(crate) mod attr {
    use crate::hw::field::encoding;

    encoding! {
        /// Shareability encoding used by SMMU structures and registers (`SH` fields).
        pub(crate) enum Shareability {
            /// Non-shareable.
            Non = 0,
            /// Outer Shareable.
            Outer = 2,
            /// Inner Shareable.
            Inner = 3,
        }
    }

    encoding! {
        /// Cacheability of a table walk as encoded in `IRGN`/`ORGN`-style fields.
        pub(crate) enum Cacheability {
            /// Non-cacheable.
            NonCacheable = 0,
            /// Write-back, read-allocate, write-allocate.
            WriteBackWriteAllocate = 1,
            /// Write-through, read-allocate, no write-allocate.
            WriteThrough = 2,
            /// Write-back, read-allocate, no write-allocate.
            WriteBackNoWriteAllocate = 3,
        }
    }

    encoding! {
        /// Translation granule as encoded in the CD's `TG0` and the STE's `S2TG` (and in
        /// `VTCR_EL2.TG0`): the two fields share this encoding.
        pub(crate) enum Granule {
            /// 4KB pages.
            Size4K = 0,
            /// 64KB pages.
            Size64K = 1,
            /// 16KB pages.
            Size16K = 2,
        }
    }
}
