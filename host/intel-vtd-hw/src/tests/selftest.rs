// SPDX-License-Identifier: GPL-2.0

//! The shared checks, one test each.

use super::ok;
use crate::hw::selftest::{
    self,
    regs, //
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
fn all() {
    ok(selftest::all());
}
