// SPDX-License-Identifier: GPL-2.0

//! The shared checks, one test each.

use super::ok;
use crate::hw::selftest::{
    self,
    context,
    dmar,
    fault,
    fspt,
    pasid,
    pt,
    qi,
    regs,
    sspt, //
};

#[test]
fn cap_decoding() {
    ok(regs::cap_decoding());
}

#[test]
fn ecap_decoding() {
    ok(regs::ecap_decoding());
}

#[test]
fn register_values() {
    ok(regs::register_values());
}

#[test]
fn sspt_entries() {
    ok(sspt::entries());
}

#[test]
fn sspt_indexing() {
    ok(sspt::indexing());
}

#[test]
fn sspt_large_pages() {
    ok(sspt::large_pages());
}

#[test]
fn pt_paging_formats() {
    ok(pt::paging_formats());
}

#[test]
fn fspt_entries() {
    ok(fspt::entries());
}

#[test]
fn fspt_unit_limits() {
    ok(fspt::unit_limits());
}

#[test]
fn fspt_invalidation() {
    ok(fspt::invalidation());
}

#[test]
fn root_entries() {
    ok(context::root_entries());
}

#[test]
fn context_entries() {
    ok(context::context_entries());
}

#[test]
fn sm_context_entries() {
    ok(context::sm_context_entries());
}

#[test]
fn pasid_dir_entries() {
    ok(pasid::dir_entries());
}

#[test]
fn pasid_entries() {
    ok(pasid::pasid_entries());
}

#[test]
fn qi_descriptors() {
    ok(qi::descriptors());
}

#[test]
fn qi_ranges() {
    ok(qi::ranges());
}

#[test]
fn fault_records() {
    ok(fault::records());
}

#[test]
fn fault_reasons() {
    ok(fault::reasons());
}

#[test]
fn dmar_tables() {
    ok(dmar::tables());
}

#[test]
fn all() {
    ok(selftest::all());
}
