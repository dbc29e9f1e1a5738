// SPDX-License-Identifier: GPL-2.0

//! KUnit suite running the checks of the pure [`crate::hw`] layer in the kernel.
//!
//! The same checks run on the host through `host/smmu-v3-hw` (`cargo test`); running them here
//! proves that the kernel build of the layer (target, flags, `core` version) behaves the same.

#[kernel::macros::kunit_tests(arm_smmu_v3_rs_hw)]
mod tests {
    use crate::hw::selftest::{
        self,
        Check, //
    };
    use kernel::prelude::*;

    /// Turns a check's outcome into a KUnit result, logging what failed.
    fn run(check: Check) -> Result {
        check.map_err(|f| {
            pr_err!("{}\n", crate::Show(&f));
            EINVAL
        })
    }

    #[test]
    fn ste_encodings() -> Result {
        run(selftest::ste_encodings())
    }

    #[test]
    fn cd_encodings() -> Result {
        run(selftest::cd_encodings())
    }

    #[test]
    fn cmd_encodings() -> Result {
        run(selftest::cmd_encodings())
    }

    #[test]
    fn event_decoding() -> Result {
        run(selftest::event_decoding())
    }

    #[test]
    fn queue_arithmetic() -> Result {
        run(selftest::queue_arithmetic())
    }

    #[test]
    fn register_values() -> Result {
        run(selftest::register_values())
    }

    #[test]
    fn c_suite_ste_cases() -> Result {
        run(selftest::c_suite_ste_cases())
    }

    #[test]
    fn c_suite_cd_cases() -> Result {
        run(selftest::c_suite_cd_cases())
    }

    #[test]
    fn ste_sweep() -> Result {
        run(selftest::ste_sweep())
    }

    #[test]
    fn cd_sweep() -> Result {
        run(selftest::cd_sweep())
    }

    #[test]
    fn tlbi_ranges() -> Result {
        run(selftest::tlbi_ranges())
    }
}
