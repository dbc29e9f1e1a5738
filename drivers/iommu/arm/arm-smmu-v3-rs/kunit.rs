// SPDX-License-Identifier: GPL-2.0

//! KUnit suites: the checks of the pure [`crate::hw`] layer in the kernel, StreamID ownership,
//! and the driver on the SMMU it has bound.
//!
//! The same `hw` checks run on the host through `host/smmu-v3-hw` (`cargo test`); running them
//! here proves that the kernel build of the layer (target, flags, `core` version) behaves the
//! same.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    faux,
    iommu::testing::skip_current_test,
    prelude::*,
    sync::{
        Arc,
        SetOnce, //
    },
};

use crate::smmu::Smmu;

mod stall;

/// The first SMMU the driver bound, for [`live_tests`] (KUnit runs after the driver probed).
pub(crate) static LIVE_SMMU: SetOnce<Arc<Smmu>> = SetOnce::new();

/// The live SMMU, or `None` after marking the test skipped.
fn smmu() -> Option<&'static Arc<Smmu>> {
    let smmu = LIVE_SMMU.as_ref();
    if smmu.is_none() {
        skip_current_test(c"no SMMU bound to arm_smmu_v3_rs");
    }
    smmu
}

/// A StreamID no device owns, in the level-2 span of the lowest owned one.
fn spare_sid(smmu: &Smmu) -> Result<u32> {
    let first = smmu.stream_owned(0).0.ok_or(ENODEV)?;
    (0..256u32)
        .map(|i| (first & !0xff) | i)
        .find(|sid| !smmu.stream_owned(*sid).1)
        .ok_or(EBUSY)
}

/// The `struct device` of a faux device, a stand-in client for the suites.
fn faux_device(reg: &faux::Registration) -> &Device {
    let faux: &faux::Device<Bound> = reg.as_ref();
    let dev: &Device<Bound> = faux.as_ref();
    dev
}

#[kernel::macros::kunit_tests(arm_smmu_v3_rs_hw)]
mod tests {
    use crate::hw::{
        compose::{
            s2_ias,
            TableCfg,
            S1_IAS, //
        },
        probe::pgsize_bitmap,
        selftest::{
            self,
            probe::IdrSpec,
            Check, //
        },
    };
    use kernel::{
        device::{
            Bound,
            Device, //
        },
        faux,
        iommu::pgtable::{
            self,
            IoPageTable,
            ARM64LPAES1,
            ARM64LPAES2, //
        },
        page::PAGE_SIZE,
        prelude::*, //
    };

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
    fn cd_layouts() -> Result {
        run(selftest::cd_layouts())
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

    #[test]
    fn probe_refusals() -> Result {
        run(selftest::probe::probe_refusals())
    }

    #[test]
    fn page_sizes() -> Result {
        run(selftest::probe::page_sizes())
    }

    #[test]
    fn strtab_sizing() -> Result {
        run(selftest::probe::strtab_sizing())
    }

    #[test]
    fn quirks_table() -> Result {
        run(selftest::probe::quirks_table())
    }

    #[test]
    fn checker_rules() -> Result {
        run(selftest::illegal::checker_rules())
    }

    #[test]
    fn composed_entries() -> Result {
        run(selftest::illegal::composed_entries())
    }

    #[test]
    fn cd_table_stes() -> Result {
        run(selftest::illegal::cd_table_stes())
    }

    #[test]
    fn dirty_entries() -> Result {
        run(selftest::illegal::dirty_entries())
    }

    #[test]
    fn stall_entries() -> Result {
        run(selftest::illegal::stall_entries())
    }

    /// The raw translation control fields of a table the page-table code allocated.
    #[test]
    fn nesting_validators() -> Result {
        run(selftest::user::user_validators())
    }

    #[test]
    fn nested_entries() -> Result {
        run(selftest::user::nested_entries())
    }

    fn table_cfg(ttb: u64, tsz: u32, sl: u32, tg: u32, walk: (u32, u32, u32), ps: u32) -> TableCfg {
        let (irgn, orgn, sh) = walk;
        TableCfg {
            ttb,
            tsz,
            sl,
            tg,
            irgn,
            orgn,
            sh,
            ps,
        }
    }

    /// The entries composed from tables the kernel's io-pgtable really allocates, for each
    /// granule and output size, on a faux device (coherent walks, no DMA mapping).
    #[test]
    fn real_page_tables() -> Result {
        let reg = faux::Registration::new(c"arm-smmu-v3-rs-hw-pgtable", None)?;
        let faux: &faux::Device<Bound> = reg.as_ref();
        let dev: &Device<Bound> = faux.as_ref();
        for granules in [0b001, 0b010, 0b100] {
            for oas in 0..7 {
                let spec = IdrSpec {
                    granules,
                    oas,
                    ..IdrSpec::PLAIN
                };
                let idr = spec.idr();
                let oas_bits = idr.oas_bits().ok_or(EINVAL)?;
                // CAST: Page sizes fit in `u64`.
                let page_size = PAGE_SIZE as u64;
                let pgsize = pgsize_bitmap(idr.granules(), oas_bits, page_size);
                let config = |ias| pgtable::Config {
                    quirks: 0,
                    pgsize_bitmap: pgsize as usize,
                    ias,
                    oas: oas_bits,
                    coherent_walk: true,
                };
                let pt1 = IoPageTable::<ARM64LPAES1>::new(dev, config(S1_IAS))?;
                let t = pt1.tcr();
                // SAFETY: The table is never given to a device; its address is only composed
                // into an entry that is checked, never installed.
                let ttb = unsafe { pt1.ttbr() };
                let s1 = table_cfg(ttb, t.tsz, 0, t.tg, (t.irgn, t.orgn, t.sh), t.ips);
                let ias = s2_ias(oas_bits, pgsize.trailing_zeros());
                let pt2 = IoPageTable::<ARM64LPAES2>::new(dev, config(ias))?;
                let v = pt2.vtcr();
                // SAFETY: As above.
                let vttb = unsafe { pt2.vttbr() };
                let s2 = table_cfg(vttb, v.tsz, v.sl, v.tg, (v.irgn, v.orgn, v.sh), v.ps);
                run(selftest::illegal::check_real_tables(
                    &spec, page_size, &s1, &s2,
                ))
                .inspect_err(|_| pr_err!("granules {:#b}, OAS {}\n", granules, oas_bits))?;
            }
        }
        Ok(())
    }
}

/// KUnit suite for the StreamID ownership of [`crate::streams`], with two faux devices.
///
/// The cases QEMU cannot produce: a device listing one StreamID twice (devfn 0 behind a
/// PCIe-to-PCI bridge, which QEMU's bridge with hot-plug cannot hold), and the rollback of a
/// claim that collides after its first StreamIDs were recorded.
#[kernel::macros::kunit_tests(arm_smmu_v3_rs_streams)]
mod streams_tests {
    use super::faux_device;
    use crate::streams::{
        StreamSlot,
        Streams, //
    };
    use kernel::{
        device::Device,
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

    /// Whether `sid` is owned by `dev`.
    fn owned_by(streams: &Streams, sid: u32, dev: &Device) -> bool {
        streams.owner(sid).is_some_and(|o| core::ptr::eq(o, dev))
    }

    #[test]
    fn claim_collide_release() -> Result {
        let a = faux::Registration::new(c"arm-smmu-v3-rs-streams-a", None)?;
        let b = faux::Registration::new(c"arm-smmu-v3-rs-streams-b", None)?;
        let (a, b) = (faux_device(&a), faux_device(&b));
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

/// KUnit suite driving the SMMU the driver has bound, without DMA: command queue batches larger
/// than the queue, live STE updates, and range invalidations. Skipped when no SMMU is bound to
/// this driver (e.g. the C driver was chosen).
///
/// It only touches a StreamID no device owns, claimed for the test's faux device meanwhile, in
/// the level-2 span of a device's StreamID (so that the span exists), and a VMID or ASID it
/// allocates.
#[kernel::macros::kunit_tests(arm_smmu_v3_rs_domain)]
mod domain_tests {
    use crate::domain::Coherency;
    use kernel::prelude::*;

    /// The C driver's rules for `enforce_cache_coherency` and attaching to an enforcing domain.
    #[test]
    fn cache_coherency_rules() -> Result {
        // A domain with only CANWBS devices can enforce; then a device without is refused.
        let c = Coherency::new();
        c.enter(true)?;
        assert!(c.enforce());
        assert!(c.enforce());
        assert_eq!(c.enter(false), Err(EINVAL));
        c.enter(true)?;
        // A domain with a device without CANWBS cannot, until that device has left.
        let c = Coherency::new();
        c.enter(false)?;
        c.enter(false)?;
        assert!(!c.enforce());
        c.leave(false);
        assert!(!c.enforce());
        // A refused enforcement changed nothing: such devices may still attach.
        c.enter(false)?;
        c.leave(false);
        c.leave(false);
        assert!(c.enforce());
        assert_eq!(c.enter(false), Err(EINVAL));
        Ok(())
    }
}

#[kernel::macros::kunit_tests(arm_smmu_v3_rs_live)]
mod live_tests {
    use super::{
        faux_device,
        smmu,
        spare_sid, //
    };
    use crate::{
        hw::{
            cmd::{
                Cmd,
                TlbiAddr, //
            },
            hitless::UpdateKind,
            ste::{
                Shcfg,
                Ste, //
            },
        },
        smmu::Smmu,
    };
    use core::sync::atomic::{
        AtomicU32,
        AtomicU64,
        Ordering, //
    };
    use kernel::{
        faux,
        io::PhysAddr,
        iommu::{
            consumer::PagingDomain,
            prot,
            PagingFlags, //
        },
        prelude::*,
        sync::{
            Arc,
            Completion, //
        },
        time::{
            Instant,
            Monotonic, //
        },
        workqueue, //
    };

    /// Runs `f` and checks that the SMMU refused none of the commands issued meanwhile: a
    /// refused command is logged and replaced by a `CMD_SYNC`, so `f` would succeed regardless.
    fn accepted(smmu: &Smmu, f: impl FnOnce() -> Result) -> Result {
        let before = smmu.cmdq_skipped();
        let r = f();
        assert_eq!(smmu.cmdq_skipped(), before);
        r
    }

    /// The opcodes of `cmds`.
    fn opcodes(cmds: &[Cmd]) -> KVec<u64> {
        let mut v = KVec::new();
        for c in cmds {
            // A trace holds at most a few hundred commands: the pushes cannot fail in practice,
            // and a short vector fails the comparisons anyway.
            let _ = v.push(crate::hw::cmd::OP.get(c.words()), GFP_KERNEL);
        }
        v
    }

    /// The errata of the command queue are applied where they apply: a `CMD_SYNC` at least
    /// every 63 commands (MMU-700 2812531), and CFGI/TLBI runs issued twice (T264-SMMU-3), but
    /// not a vIOMMU user's (the user repeats them).
    #[test]
    fn errata_command_runs() -> Result {
        let Some(smmu) = smmu() else { return Ok(()) };
        let sid = spare_sid(smmu)?;
        const SYNC: u64 = 0x46;
        const CFGI_STE: u64 = 0x03;
        const PREFETCH_CONFIG: u64 = 0x01;
        let cfgi = Cmd::cfgi_ste(sid, true);
        let mut many = KVec::new();
        for _ in 0..100 {
            many.push(cfgi, GFP_KERNEL)?;
        }

        // As the hardware is: one run, one sync.
        let (r, t, lost) = smmu.trace_commands(|| accepted(smmu, || smmu.issue_sync(&many)))?;
        r?;
        assert_eq!(lost, 0);
        assert_eq!(t.len(), 101);

        smmu.force_quirks(true, false);
        let traced = smmu.trace_commands(|| accepted(smmu, || smmu.issue_sync(&many)));
        smmu.force_quirks(false, false);
        let (r, t, lost) = traced?;
        r?;
        assert_eq!(lost, 0);
        let ops = opcodes(&t);
        // 63 commands and a sync, then the other 37 and a sync.
        assert_eq!(ops.len(), 102);
        assert_eq!(ops[63], SYNC);
        assert_eq!(ops[101], SYNC);
        assert_eq!(ops.iter().filter(|o| **o == SYNC).count(), 2);

        smmu.force_quirks(false, true);
        let prefetch = Cmd::from_words([PREFETCH_CONFIG | (u64::from(sid) << 32), 0]);
        let traced = smmu.trace_commands(|| {
            accepted(smmu, || {
                smmu.issue_sync(&[cfgi])?;
                smmu.issue_sync(&[prefetch])?;
                smmu.issue_user_sync(&[cfgi])
            })
        });
        smmu.force_quirks(false, false);
        let (r, t, lost) = traced?;
        r?;
        assert_eq!(lost, 0);
        let ops = opcodes(&t);
        assert_eq!(
            &ops[..],
            &[
                CFGI_STE,
                SYNC,
                CFGI_STE,
                SYNC,
                PREFETCH_CONFIG,
                SYNC,
                CFGI_STE,
                SYNC
            ]
        );
        Ok(())
    }

    #[test]
    fn cmdq_batch_larger_than_queue() -> Result {
        let Some(smmu) = smmu() else { return Ok(()) };
        let sid = spare_sid(smmu)?;
        // Three times round the queue and then some: published as space frees up, one
        // CMD_SYNC at the end.
        let n = 3 * (1usize << smmu.features.cmdq_log2) + 5;
        let mut cmds = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            cmds.push(Cmd::cfgi_ste_range(sid, 0)?, GFP_KERNEL)?;
        }
        accepted(smmu, || {
            smmu.issue_sync(&cmds)?;
            // And the queue still works for a single command.
            smmu.issue_sync(&[])
        })
    }

    #[test]
    fn ste_updates_on_the_live_table() -> Result {
        let Some(smmu) = smmu() else { return Ok(()) };
        let owner = faux::Registration::new(c"arm-smmu-v3-rs-live", None)?;
        let sid = spare_sid(smmu)?;
        smmu.claim_streams(faux_device(&owner), &[sid])?;
        let bypass = Ste::bypass(Shcfg::Incoming);
        let result = accepted(smmu, || {
            // An unused stream aborts; installing abort again changes nothing that is used.
            assert_eq!(
                smmu.install_ste(sid, &Ste::abort())?,
                UpdateKind::NoUsedChange
            );
            assert!(smmu.install_ste(sid, &bypass)? != UpdateKind::Breaking);
            assert_eq!(smmu.install_ste(sid, &bypass)?, UpdateKind::NoUsedChange);
            assert!(smmu.install_ste(sid, &Ste::abort())? != UpdateKind::Breaking);
            Ok(())
        });
        // Whatever happened, leave the stream aborting and unowned.
        let restored = smmu.install_ste(sid, &Ste::abort());
        smmu.release_streams(&[sid]);
        result.and(restored.map(|_| ()))
    }

    /// Two StreamIDs no device owns, in the level-2 span of the lowest owned one.
    fn spare_sids(smmu: &Smmu) -> Result<[u32; 2]> {
        let first = smmu.stream_owned(0).0.ok_or(ENODEV)?;
        let mut free = (0..256u32)
            .map(|i| (first & !0xff) | i)
            .filter(|sid| !smmu.stream_owned(*sid).1);
        Ok([free.next().ok_or(EBUSY)?, free.next().ok_or(EBUSY)?])
    }

    /// A device's streams leave their domain together even when the SMMU does not confirm a
    /// step: every step of every STE is still written, so that none is left pointing at a domain
    /// the core is about to free.
    #[test]
    fn unconfirmed_syncs_do_not_stop_a_detach() -> Result {
        let Some(smmu) = smmu() else { return Ok(()) };
        let owner = faux::Registration::new(c"arm-smmu-v3-rs-live-detach", None)?;
        let sids = spare_sids(smmu)?;
        smmu.claim_streams(faux_device(&owner), &sids)?;
        let bypass = Ste::bypass(Shcfg::Incoming);
        let abort = Ste::abort();
        let result = (|| -> Result {
            smmu.install_stes(&sids, &bypass);
            for sid in sids {
                assert_eq!(smmu.read_ste(sid)?, *bypass.words());
            }
            // The first sync of the first stream, then every sync, fails.
            for failures in [1, 64] {
                smmu.fail_next_syncs(failures);
                smmu.install_stes(&sids, &abort);
                smmu.fail_next_syncs(0);
                for sid in sids {
                    assert_eq!(smmu.read_ste(sid)?, *abort.words());
                }
                smmu.install_stes(&sids, &bypass);
            }
            Ok(())
        })();
        smmu.fail_next_syncs(0);
        smmu.install_stes(&sids, &abort);
        smmu.release_streams(&sids);
        result
    }

    /// Runs `f` with the allocated VMID or ASID `tag`, then frees it.
    fn with_tag(tag: u16, free: impl FnOnce(u16), f: impl FnOnce(u16) -> Result) -> Result {
        let r = f(tag);
        free(tag);
        r
    }

    #[test]
    fn range_invalidations() -> Result {
        let Some(smmu) = smmu() else { return Ok(()) };
        accepted(smmu, || range_sweeps(smmu))
    }

    fn range_sweeps(smmu: &Smmu) -> Result {
        // (iova, size, granule, leaf): a page, a block, an unaligned span crossing blocks, the
        // top of a 48-bit space, and 2^40 bytes (range commands up to the largest scale).
        let ranges: [(u64, u64, usize, bool); 5] = [
            (0x1000, 0x1000, 0x1000, true),
            (0x20_0000, 0x20_0000, 0x20_0000, true),
            (0x1f_f000, 0x40_3000, 0x1000, false),
            ((1 << 48) - 0x2000, 0x2000, 0x1000, true),
            (0, 1 << 40, 0x1000, true),
        ];
        // Every range in turn, then the whole context.
        let sweep = |range: &dyn Fn(u64, u64, usize, bool) -> Result, all: &dyn Fn() -> Result| {
            ranges
                .iter()
                .try_for_each(|&(iova, size, granule, leaf)| range(iova, size, granule, leaf))
                .and_then(|()| all())
        };
        if smmu.features.idr.s2() {
            with_tag(
                smmu.alloc_vmid()?,
                |v| smmu.free_vmid(v),
                |vmid| {
                    sweep(
                        &|iova, size, g, leaf| smmu.invalidate_s2(vmid, iova, size, g, leaf),
                        &|| smmu.invalidate_vmid(vmid),
                    )
                },
            )?;
        }
        if smmu.features.idr.s1() {
            with_tag(
                smmu.alloc_asid()?,
                |a| smmu.free_asid(a),
                |asid| {
                    sweep(
                        &|iova, size, g, leaf| smmu.invalidate_s1(asid, iova, size, g, leaf),
                        &|| smmu.invalidate_asid(asid),
                    )
                },
            )?;
        }
        Ok(())
    }

    /// The paging domains the live SMMU offers: stage 1 (the default where it has stage 1) and
    /// stage 2 (a nesting parent, where it has both stages).
    fn paging_flags(smmu: &Smmu) -> KVec<PagingFlags> {
        let mut v = KVec::new();
        let idr = &smmu.features.idr;
        if idr.s1() || idr.s2() {
            let _ = v.push(PagingFlags::NONE, GFP_KERNEL);
        }
        if idr.nesting() {
            let _ = v.push(PagingFlags::NEST_PARENT, GFP_KERNEL);
        }
        v
    }

    /// The address invalidations of `[iova, iova + size)` among what `unmap` issues, with the
    /// SMMU's range invalidation hidden from the driver or not (`ril`); checks that `unmap`
    /// unmapped `size` bytes and that the SMMU accepted every command.
    fn unmap_tlbis(
        smmu: &Smmu,
        ril: bool,
        iova: u64,
        size: u64,
        unmap: impl FnOnce() -> usize,
    ) -> Result<KVec<TlbiAddr>> {
        smmu.hide_ril(!ril);
        let before = smmu.cmdq_skipped();
        let traced = smmu.trace_commands(unmap);
        smmu.hide_ril(false);
        let (unmapped, cmds, lost) = traced?;
        assert_eq!(smmu.cmdq_skipped(), before);
        assert_eq!(unmapped as u64, size);
        assert_eq!(lost, 0);
        let mut out = KVec::new();
        for (_, a) in cmds.iter().filter_map(|c| c.decode_tlbi_addr()) {
            if a.addr >= iova && a.addr < iova + size {
                out.push(a, GFP_KERNEL)?;
            }
        }
        Ok(out)
    }

    /// Checks that `t` invalidates the leaf block or page of `2^log2` bytes at `iova` (4KB
    /// granule): with range invalidation, one range of that many pages whose `TTL` names the
    /// block's level; without, one command at the block's address, as the C driver issues.
    fn expect_leaf(t: &TlbiAddr, ril: bool, iova: u64, log2: u32) {
        assert_eq!(t.addr, iova);
        assert!(t.leaf);
        if ril {
            // Level 3 holds 4KB pages, level 2 2MB blocks, level 1 1GB blocks.
            let level = 3 - (log2 - 12) / 9;
            assert_eq!(u32::from(t.ttl), level);
            assert_eq!(t.tg, 1);
            assert_eq!(u64::from(t.num + 1) << t.scale, 1u64 << (log2 - 12));
        } else {
            assert_eq!((t.ttl, t.tg, t.num, t.scale), (0, 0, 0, 0));
        }
    }

    /// Whether the live SMMU has range invalidation: the cases run with it hidden, and with it
    /// where it exists.
    fn ril_modes(smmu: &Smmu) -> &'static [bool] {
        if smmu.features.idr.ril() {
            &[true, false]
        } else {
            &[false]
        }
    }

    /// Unmapping a 2MB or 1GB block invalidates it at its level (`TTL` 2 or 1), or with one
    /// command without range invalidation, not as 4KB pages.
    #[test]
    fn block_unmap_invalidates_the_block_level() -> Result {
        let Some(smmu) = smmu() else { return Ok(()) };
        let dev = smmu.first_client().ok_or(ENODEV)?;
        // The domains are never attached: any aligned output address will do.
        const PA: PhysAddr = 0x4000_0000;
        for &flags in paging_flags(smmu).iter() {
            for &ril in ril_modes(smmu) {
                for log2 in [21u32, 30] {
                    let (iova, size) = (4u64 << 30, 1u64 << log2);
                    let mut d = PagingDomain::alloc(&dev, flags)?;
                    // CAST: IOVAs and sizes below 2^48 fit `usize`.
                    let (i, n) = (iova as usize, size as usize);
                    d.map(i, PA, n, prot::READ | prot::WRITE, GFP_KERNEL)?;
                    let t = unmap_tlbis(smmu, ril, iova, size, || d.unmap(i, n))?;
                    assert_eq!(t.len(), 1);
                    expect_leaf(&t[0], ril, iova, log2);
                }
            }
        }
        Ok(())
    }

    /// An unmap that finds a 2MB block and then 4KB pages invalidates each run of one size
    /// separately, as the C driver's gather does: the block's range is synced before pages are
    /// gathered.
    #[test]
    fn mixed_leaf_sizes_are_split() -> Result {
        let Some(smmu) = smmu() else { return Ok(()) };
        let dev = smmu.first_client().ok_or(ENODEV)?;
        const PA: PhysAddr = 0x4000_0000;
        let (iova, block) = (4u64 << 30, 1u64 << 21);
        for &flags in paging_flags(smmu).iter() {
            for &ril in ril_modes(smmu) {
                let mut d = PagingDomain::alloc(&dev, flags)?;
                // CAST: IOVAs and sizes below 2^48 fit `usize`.
                let (i, b) = (iova as usize, block as usize);
                d.map(i, PA, b, prot::READ | prot::WRITE, GFP_KERNEL)?;
                d.map(i + b, PA + block, 0x2000, prot::READ, GFP_KERNEL)?;
                let size = block + 0x2000;
                let t = unmap_tlbis(smmu, ril, iova, size, || d.unmap(i, b + 0x2000))?;
                if ril {
                    // The block, then both pages in one range.
                    assert_eq!(t.len(), 2);
                    expect_leaf(&t[0], ril, iova, 21);
                    assert_eq!(t[1].addr, iova + block);
                    assert_eq!((t[1].ttl, t[1].tg), (3, 1));
                    assert_eq!(u64::from(t[1].num + 1) << t[1].scale, 2);
                } else {
                    // The block, then each page.
                    assert_eq!(t.len(), 3);
                    expect_leaf(&t[0], ril, iova, 21);
                    expect_leaf(&t[1], ril, iova + block, 12);
                    expect_leaf(&t[2], ril, iova + block + 0x1000, 12);
                }
            }
        }
        Ok(())
    }

    /// What the workers of `cmdq_concurrent_batches` share.
    #[pin_data]
    struct Workers {
        #[pin]
        done: Completion,
        /// Workers still running.
        left: AtomicU32,
        /// Calls that failed.
        failed: AtomicU32,
        /// The longest call, in microseconds.
        worst_us: AtomicU64,
    }

    /// Several workers issue batches of TLBIs with their `CMD_SYNC`, many times round the queue
    /// together: every call completes in time, the SMMU refuses none of the commands, and at
    /// the end `CMDQ_PROD` holds every entry the workers wrote and the SMMU consumed them all.
    #[test]
    fn cmdq_concurrent_batches() -> Result {
        const WORKERS: u32 = 4;
        /// Commands per `CMD_SYNC`: a batch of 16 entries.
        const BATCH: usize = 15;
        let Some(smmu) = smmu() else { return Ok(()) };
        // TLBIs of ASID or VMID 0, which no domain has: legal, and harmless.
        let tlbi = if smmu.features.idr.s1() {
            Cmd::tlbi_nh_asid(0, 0)
        } else {
            Cmd::tlbi_s12_vmall(0)
        };
        // Each worker goes four times round the queue.
        let calls = 4 * (1usize << smmu.features.cmdq_log2) / (BATCH + 1);
        let shared = Arc::pin_init(
            pin_init!(Workers {
                done <- Completion::new(),
                left: AtomicU32::new(WORKERS),
                failed: AtomicU32::new(0),
                worst_us: AtomicU64::new(0),
            }),
            GFP_KERNEL,
        )?;
        let skipped = smmu.cmdq_skipped();
        let (start, _) = smmu.cmdq_drained()?;
        let began = Instant::<Monotonic>::now();
        for _ in 0..WORKERS {
            let (smmu, w) = (smmu.clone(), shared.clone());
            let work = move || {
                let cmds = [tlbi; BATCH];
                for _ in 0..calls {
                    let t = Instant::<Monotonic>::now();
                    let r = smmu.issue_sync(&cmds);
                    let us = u64::try_from(t.elapsed().as_micros_ceil()).unwrap_or(0);
                    w.worst_us.fetch_max(us, Ordering::Relaxed);
                    if r.is_err() {
                        // One timeout is enough to fail; do not wait out the others.
                        w.failed.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
                if w.left.fetch_sub(1, Ordering::AcqRel) == 1 {
                    w.done.complete_all();
                }
            };
            if workqueue::system_unbound()
                .try_spawn(GFP_KERNEL, work)
                .is_err()
            {
                shared.failed.fetch_add(1, Ordering::Relaxed);
                if shared.left.fetch_sub(1, Ordering::AcqRel) == 1 {
                    shared.done.complete_all();
                }
            }
        }
        shared.done.wait_for_completion();
        let us = began.elapsed().as_micros_ceil().max(1);
        let (end, drained) = smmu.cmdq_drained()?;
        let entries = u64::from(WORKERS) * u64::try_from(calls * (BATCH + 1))?;
        pr_info!(
            "cmdq: {} workers x {} calls of {} entries in {} us ({} entries/s), worst call {} us\n",
            WORKERS,
            calls,
            BATCH + 1,
            us,
            i64::try_from(entries)? * 1_000_000 / us,
            shared.worst_us.load(Ordering::Relaxed)
        );
        assert_eq!(shared.failed.load(Ordering::Relaxed), 0);
        assert_eq!(smmu.cmdq_skipped(), skipped);
        // Other devices may have issued commands meanwhile, never fewer.
        assert!(end - start >= entries);
        assert!(drained);
        Ok(())
    }
}
