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

/// KUnit suite for the StreamID ownership of [`crate::streams`], with two faux devices.
///
/// The cases QEMU cannot produce: a device listing one StreamID twice (devfn 0 behind a
/// PCIe-to-PCI bridge, which QEMU's bridge with hot-plug cannot hold), and the rollback of a
/// claim that collides after its first StreamIDs were recorded.
#[kernel::macros::kunit_tests(arm_smmu_v3_rs_streams)]
mod streams_tests {
    use crate::streams::{
        StreamSlot,
        Streams, //
    };
    use kernel::{
        device::{
            Bound,
            Device, //
        },
        faux,
        prelude::*, //
    };

    /// Claims `sids` for `dev` with freshly allocated slots.
    fn claim(
        streams: &mut Streams,
        dev: &Device,
        sids: &[u32],
    ) -> Result<core::result::Result<(), u32>> {
        let mut slots = KVec::new();
        for _ in sids {
            slots.push(StreamSlot::new(GFP_KERNEL)?, GFP_KERNEL)?;
        }
        Ok(streams.claim(dev, sids, slots).map_err(|(sid, _owner)| sid))
    }

    /// The `struct device` of a faux device.
    fn device(reg: &faux::Registration) -> &Device {
        let faux: &faux::Device<Bound> = reg.as_ref();
        let dev: &Device<Bound> = faux.as_ref();
        dev
    }

    /// Whether `sid` is owned by `dev`.
    fn owned_by(streams: &Streams, sid: u32, dev: &Device) -> bool {
        streams.owner(sid).is_some_and(|o| core::ptr::eq(o, dev))
    }

    #[test]
    fn claim_collide_release() -> Result {
        let a = faux::Registration::new(c"arm-smmu-v3-rs-streams-a", None)?;
        let b = faux::Registration::new(c"arm-smmu-v3-rs-streams-b", None)?;
        let (a, b) = (device(&a), device(&b));
        let mut streams = Streams::new();

        assert_eq!(claim(&mut streams, a, &[0x200, 0x208])?, Ok(()));
        assert!(owned_by(&streams, 0x200, a) && owned_by(&streams, 0x208, a));
        // One StreamID listed twice is owned once.
        assert_eq!(claim(&mut streams, a, &[0x300, 0x300])?, Ok(()));
        assert!(owned_by(&streams, 0x300, a));
        assert!(streams.release(0x300));
        assert!(!streams.release(0x300));

        // b's alias 0x200 is a's: refused, and b's own 0x210, recorded first, rolled back.
        assert_eq!(claim(&mut streams, b, &[0x210, 0x200])?, Err(0x200));
        assert!(streams.owner(0x210).is_none());
        assert!(owned_by(&streams, 0x200, a) && owned_by(&streams, 0x208, a));

        // Once a is released, b gets both.
        assert!(streams.release(0x200) && streams.release(0x208));
        assert_eq!(claim(&mut streams, b, &[0x210, 0x200])?, Ok(()));
        assert!(owned_by(&streams, 0x210, b) && owned_by(&streams, 0x200, b));
        assert!(streams.release(0x210) && streams.release(0x200));
        assert!(streams.owner(0x200).is_none());
        Ok(())
    }
}
