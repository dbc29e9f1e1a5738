// SPDX-License-Identifier: GPL-2.0

//! The shared checks, one test each, exactly as KUnit runs them.

use super::ok;
use crate::hw::selftest;

#[test]
fn ste_encodings() {
    ok(selftest::ste_encodings());
}

#[test]
fn cd_encodings() {
    ok(selftest::cd_encodings());
}

#[test]
fn cd_layouts() {
    ok(selftest::cd_layouts());
}

#[test]
fn cmd_encodings() {
    ok(selftest::cmd_encodings());
}

#[test]
fn event_decoding() {
    ok(selftest::event_decoding());
}

#[test]
fn queue_arithmetic() {
    ok(selftest::queue_arithmetic());
}

#[test]
fn register_values() {
    ok(selftest::register_values());
}

#[test]
fn c_suite_ste_cases() {
    ok(selftest::c_suite_ste_cases());
}

#[test]
fn c_suite_cd_cases() {
    ok(selftest::c_suite_cd_cases());
}

#[test]
fn ste_sweep() {
    ok(selftest::ste_sweep());
}

#[test]
fn cd_sweep() {
    ok(selftest::cd_sweep());
}

#[test]
fn tlbi_ranges() {
    ok(selftest::tlbi_ranges());
}

#[test]
fn all() {
    ok(selftest::all());
}

#[test]
fn probe_refusals() {
    ok(selftest::probe::probe_refusals());
}

#[test]
fn page_sizes() {
    ok(selftest::probe::page_sizes());
}

#[test]
fn strtab_sizing() {
    ok(selftest::probe::strtab_sizing());
}

#[test]
fn quirks_table() {
    ok(selftest::probe::quirks_table());
}

#[test]
fn checker_rules() {
    ok(selftest::illegal::checker_rules());
}

#[test]
fn composed_entries() {
    ok(selftest::illegal::composed_entries());
}

#[test]
fn cd_table_stes() {
    ok(selftest::illegal::cd_table_stes());
}

#[test]
fn dirty_entries() {
    ok(selftest::illegal::dirty_entries());
}

#[test]
fn stall_entries() {
    ok(selftest::illegal::stall_entries());
}
