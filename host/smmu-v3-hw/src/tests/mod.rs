// SPDX-License-Identifier: GPL-2.0

//! Host tests: the shared checks of `hw::selftest`, plus property tests against simple models.

mod cmdq;
mod hitless;
mod queue;
mod selftest;
mod tlbi;
mod user;

use crate::hw::selftest::Check;

/// Turns a shared check into a test assertion with a readable message.
#[track_caller]
fn ok(check: Check) {
    if let Err(f) = check {
        panic!("{f}");
    }
}
