// SPDX-License-Identifier: GPL-2.0

//! Checks of the hardware formats shared by the host tests and KUnit.
//!
//! Every check returns a [`Failure`] instead of panicking: in the kernel, a `core` panic is a
//! BUG, and `#[kunit_tests]` only redefines `assert!` inside its own module. The expected raw
//! words are written out from the VT-d specification's layouts; the comments name the fields
//! and their bit positions (inside the qword, or as the specification numbers them across the
//! whole structure where that is how it is written there).
//!
//! This file includes the frame shared with the SMMUv3 driver's `hw` layer
//! (`drivers/iommu/rust-hw/check.rs`: [`Failure`], the `expect` helpers) and holds [`all`]; the
//! checks sit in one file per `hw` module under `selftest/`, named after it.

#[path = "../../rust-hw/check.rs"]
mod check;
pub(crate) use check::{
    at,
    expect,
    expect_eq,
    expect_words,
    Check,
    Failure, //
};

pub(crate) mod context;
pub(crate) mod dmar;
pub(crate) mod fault;
pub(crate) mod fspt;
pub(crate) mod pasid;
pub(crate) mod pt;
pub(crate) mod qi;
pub(crate) mod regs;
pub(crate) mod sspt;

/// Runs every check, returning the first failure.
pub(crate) fn all() -> Check {
    regs::cap_decoding()?;
    regs::ecap_decoding()?;
    regs::register_values()?;
    context::root_entries()?;
    context::context_entries()?;
    context::sm_context_entries()?;
    pasid::dir_entries()?;
    pasid::pasid_entries()?;
    sspt::entries()?;
    sspt::indexing()?;
    sspt::large_pages()?;
    fspt::entries()?;
    fspt::unit_limits()?;
    fspt::invalidation()?;
    pt::paging_formats()?;
    qi::descriptors()?;
    qi::ranges()?;
    fault::records()?;
    fault::reasons()?;
    dmar::tables()
}
