// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `intel_iommu_rs_hw`: the checks of the pure [`crate::hw`] layer in the kernel.
//!
//! The same checks run on the host through `host/intel-vtd-hw` (`cargo test`); running them
//! here proves that the kernel's build of the layer (target, flags, `core` version) behaves the
//! same.

#[kernel::macros::kunit_tests(intel_iommu_rs_hw)]
mod tests {
    use crate::hw::selftest::{
        self,
        Check, //
    };
    use kernel::prelude::*;

    /// Turns a check's outcome into a KUnit result, logging what failed.
    fn run(check: Check) -> Result {
        check.map_err(|f| {
            pr_err!("{}\n", ShowFailure(&f));
            EINVAL
        })
    }

    /// Prints a [`selftest::Failure`], which implements [`core::fmt::Display`], with the
    /// kernel's formatting macros.
    struct ShowFailure<'a>(&'a selftest::Failure);

    impl kernel::fmt::Display for ShowFailure<'_> {
        fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
            core::fmt::Display::fmt(self.0, f)
        }
    }

    #[test]
    fn cap_decoding() -> Result {
        run(selftest::regs::cap_decoding())
    }

    #[test]
    fn ecap_decoding() -> Result {
        run(selftest::regs::ecap_decoding())
    }

    #[test]
    fn register_values() -> Result {
        run(selftest::regs::register_values())
    }

    #[test]
    fn root_entries() -> Result {
        run(selftest::context::root_entries())
    }

    #[test]
    fn context_entries() -> Result {
        run(selftest::context::context_entries())
    }

    #[test]
    fn sm_context_entries() -> Result {
        run(selftest::context::sm_context_entries())
    }

    #[test]
    fn pasid_dir_entries() -> Result {
        run(selftest::pasid::dir_entries())
    }

    #[test]
    fn pasid_entries() -> Result {
        run(selftest::pasid::pasid_entries())
    }

    #[test]
    fn qi_descriptors() -> Result {
        run(selftest::qi::descriptors())
    }

    #[test]
    fn qi_ranges() -> Result {
        run(selftest::qi::ranges())
    }

    #[test]
    fn fault_records() -> Result {
        run(selftest::fault::records())
    }

    #[test]
    fn fault_reasons() -> Result {
        run(selftest::fault::reasons())
    }

    #[test]
    fn dmar_tables() -> Result {
        run(selftest::dmar::tables())
    }
}
