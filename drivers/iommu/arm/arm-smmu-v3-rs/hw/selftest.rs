// SPDX-License-Identifier: GPL-2.0

//! Checks of the hardware formats shared by the host tests and KUnit.
//!
//! Every check returns a [`Failure`] instead of panicking: in the kernel, a `core` panic is a
//! BUG, and `#[kunit_tests]` only redefines `assert!` inside its own module. The expected raw
//! words are written out from the field tables of the SMMUv3 specification; the comments name
//! the fields and their bit positions inside the qword.
//!
//! This file includes the frame shared with the VT-d driver's `hw` layer
//! (`drivers/iommu/rust-hw/check.rs`: [`Failure`], the `expect` helpers) and holds [`all`]; the
//! checks sit in one file per `hw` module under `selftest/`, named after it. The STE and CD
//! transition cases of `c_suite` reproduce the C driver's KUnit suite
//! (`drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-test.c`) with entries of the same shape.

#[path = "../../../rust-hw/check.rs"]
mod check;
pub(crate) use check::{
    at,
    expect,
    expect_eq,
    expect_words,
    Check,
    Failure, //
};

pub(crate) mod c_suite;
pub(crate) mod cd;
pub(crate) mod cmd;
pub(crate) mod event;
pub(crate) mod hitless;
pub(crate) mod illegal;
pub(crate) mod probe;
pub(crate) mod queue;
pub(crate) mod regs;
pub(crate) mod ste;
pub(crate) mod tlbi;
pub(crate) mod user;

pub(crate) use c_suite::{
    c_suite_cd_cases,
    c_suite_ste_cases, //
};
pub(crate) use cd::{
    cd_encodings,
    cd_layouts, //
};
pub(crate) use cmd::cmd_encodings;
pub(crate) use event::event_decoding;
pub(crate) use hitless::{
    cd_sweep,
    simulate,
    ste_sweep, //
};
pub(crate) use queue::queue_arithmetic;
pub(crate) use regs::register_values;
pub(crate) use ste::ste_encodings;
pub(crate) use tlbi::tlbi_ranges;

/// Runs every check, returning the first failure.
pub(crate) fn all() -> Check {
    ste_encodings()?;
    cd_encodings()?;
    cd_layouts()?;
    cmd_encodings()?;
    event_decoding()?;
    queue_arithmetic()?;
    register_values()?;
    c_suite_ste_cases()?;
    c_suite_cd_cases()?;
    ste_sweep()?;
    cd_sweep()?;
    tlbi_ranges()?;
    probe::probe_refusals()?;
    probe::page_sizes()?;
    probe::strtab_sizing()?;
    probe::quirks_table()?;
    illegal::checker_rules()?;
    illegal::composed_entries()?;
    illegal::cd_table_stes()?;
    illegal::dirty_entries()?;
    illegal::stall_entries()?;
    user::user_validators()?;
    user::nested_entries()
}
