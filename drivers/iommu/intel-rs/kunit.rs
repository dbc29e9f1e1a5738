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
    fn sspt_entries() -> Result {
        run(selftest::sspt::entries())
    }

    #[test]
    fn sspt_indexing() -> Result {
        run(selftest::sspt::indexing())
    }

    #[test]
    fn fspt_entries() -> Result {
        run(selftest::fspt::entries())
    }

    #[test]
    fn fspt_unit_limits() -> Result {
        run(selftest::fspt::unit_limits())
    }

    #[test]
    fn fspt_invalidation() -> Result {
        run(selftest::fspt::invalidation())
    }

    #[test]
    fn paging_formats() -> Result {
        run(selftest::pt::paging_formats())
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

/// KUnit suite `intel_iommu_rs_kernel`: the kernel crate pieces the driver stands on, in the
/// x86_64 kernel that has the hardware they are for (the DMAR table, RAM, MMIO).
#[cfg(CONFIG_INTEL_IOMMU_RUST)]
#[kernel::macros::kunit_tests(intel_iommu_rs_kernel)]
mod kernel_tests {
    use kernel::{
        acpi_table::Table,
        fw_iomem::FwIoMem,
        new_spinlock_irq,
        phys_mem::PhysMem,
        prelude::*,
        str::CString,
        sync::atomic::Relaxed, //
    };

    use crate::{
        hw::{
            dmar::{
                Dmar,
                Structure, //
            },
            pt::Format,
        },
        pgtable::{
            self,
            MapStep,
            Node,
            PageTable, //
        },
    };

    /// Maps the page of `level` at `paddr` at `iova` in `pt`, allocating the tables it needs.
    fn map(pt: &mut PageTable, iova: u64, paddr: u64, level: u32) -> Result<MapStep> {
        let mut spare = None;
        loop {
            match pt.map_page(iova, paddr, level, true, true, &mut spare)? {
                MapStep::NeedTable(l) => spare = Some(Node::new(l, GFP_KERNEL)?),
                step => return Ok(step),
            }
        }
    }

    /// Second-stage pages of 2MB and 1GB: a large page translates its whole range, is not
    /// mapped over nor cut by a smaller request, and a table left by 4KB pages is in the way
    /// of a large page (`Occupied`), whose unmap clears the pages under it.
    #[test]
    fn second_stage_large_pages() -> Result {
        const M2: u64 = 0x20_0000;
        let mut pt = PageTable::new(Format::Second, 4, 48, false)?;
        assert!(matches!(map(&mut pt, M2, 0x4000_0000, 2)?, MapStep::Done));
        assert_eq!(pt.lookup(M2 + 0x1_2345), Some(0x4001_2345));
        assert_eq!(pt.lookup(2 * M2 - 1), Some(0x401f_ffff));
        assert!(map(&mut pt, M2 + 0x1000, 0x1000, 1).err() == Some(EEXIST));
        assert!(map(&mut pt, M2 + 0x1000, 0x4000_0000, 2).err() == Some(EINVAL));
        // A 4KB request inside the 2MB page does not cut it; one covering it unmaps it whole.
        assert_eq!(pt.unmap_page(M2 + 0x1000, 1, M2 + 0x1fff)?, None);
        assert_eq!(pt.unmap_page(M2, 1, M2 + 0xfff)?, None);
        assert_eq!(pt.unmap_page(M2, 1, 2 * M2 - 1)?, Some(M2));
        assert_eq!(pt.lookup(M2), None);
        // 4KB pages leave a table where a 2MB page would go.
        assert!(matches!(map(&mut pt, 2 * M2, 0x1000, 1)?, MapStep::Done));
        assert!(matches!(
            map(&mut pt, 2 * M2 + 0x5000, 0x2000, 1)?,
            MapStep::Done
        ));
        assert!(matches!(
            map(&mut pt, 2 * M2, 0x4000_0000, 2)?,
            MapStep::Occupied
        ));
        assert_eq!(pt.unmap_page(2 * M2, 2, 3 * M2 - 1)?, Some(M2));
        assert_eq!(pt.lookup(2 * M2 + 0x5000), None);
        assert_eq!(pt.unmap_page(2 * M2, 2, 3 * M2 - 1)?, None);
        // The table stays until the domain goes: still in the way.
        assert!(matches!(
            map(&mut pt, 2 * M2, 0x4000_0000, 2)?,
            MapStep::Occupied
        ));
        // 1GB.
        assert!(matches!(
            map(&mut pt, 0x4000_0000, 0x8000_0000, 3)?,
            MapStep::Done
        ));
        assert_eq!(pt.lookup(0x7fff_f000), Some(0xbfff_f000));
        assert_eq!(pt.unmap_page(0x4000_0000, 2, 0x4000_0000 + M2 - 1)?, None);
        assert_eq!(
            pt.unmap_page(0x4000_0000, 3, 0x7fff_ffff)?,
            Some(0x4000_0000)
        );
        Ok(())
    }

    /// The split of a large page over a table ([`MapStep::Occupied`], in both stages'
    /// formats): a 2MB page where an emptied 4KB page left a table is mapped as 512 4KB pages,
    /// and a 1GB page over such a table as 511 2MB pages and 512 4KB ones, each translating
    /// its part of the range; one unmap of the large page's size clears them all. A page
    /// already mapped inside makes the split fail, and nothing of it stays mapped.
    #[test]
    fn large_page_split() -> Result {
        for format in [Format::Second, Format::First] {
            split(format)?;
        }
        Ok(())
    }

    /// [`large_page_split`] for a table of `format`.
    fn split(format: Format) -> Result {
        const K4: u64 = 0x1000;
        const M2: u64 = 0x20_0000;
        const G1: u64 = 0x4000_0000;
        let pt = KBox::pin_init(
            new_spinlock_irq!(PageTable::new(format, 4, 47, false)?, "split"),
            GFP_KERNEL,
        )?;
        let mut spare = None;
        let mut map = |iova: u64, paddr: u64, level: u32| {
            pgtable::map(&pt, iova, paddr, level, true, true, GFP_KERNEL, &mut spare)
        };
        // A 4KB page mapped and unmapped leaves its table under [M2, 2 * M2).
        map(M2 + 5 * K4, 0x1000, 1)?;
        assert_eq!(
            pt.lock().unmap_page(M2 + 5 * K4, 1, M2 + 6 * K4 - 1)?,
            Some(K4)
        );
        map(M2, 0x4000_0000, 2)?;
        for off in [0, 5 * K4, M2 - K4] {
            assert_eq!(
                pt.lock().lookup(M2 + off + 0x123),
                Some(0x4000_0000 + off + 0x123)
            );
        }
        assert_eq!(pt.lock().unmap_page(M2, 2, 2 * M2 - 1)?, Some(M2));
        assert_eq!(pt.lock().lookup(M2 + 5 * K4), None);
        // A page in the way: nothing of the split stays.
        map(M2 + 7 * K4, 0x7000, 1)?;
        assert!(map(M2, 0x4000_0000, 2).err() == Some(EEXIST));
        assert_eq!(pt.lock().lookup(M2), None);
        assert_eq!(pt.lock().lookup(M2 + 6 * K4), None);
        assert_eq!(pt.lock().lookup(M2 + 7 * K4), Some(0x7000));
        assert_eq!(pt.lock().lookup(M2 + 8 * K4), None);
        // 1GB over tables at levels 2 and 1: 2MB pages, and 4KB ones where the 4KB page was.
        map(G1 + 3 * M2 + K4, 0x2000, 1)?;
        assert_eq!(
            pt.lock()
                .unmap_page(G1 + 3 * M2 + K4, 1, G1 + 3 * M2 + 2 * K4 - 1)?,
            Some(K4)
        );
        map(G1, 0x8000_0000, 3)?;
        for off in [0, 3 * M2, 3 * M2 + K4, 4 * M2 - K4, 4 * M2, G1 - K4] {
            assert_eq!(
                pt.lock().lookup(G1 + off + 0x10),
                Some(0x8000_0000 + off + 0x10)
            );
        }
        assert_eq!(pt.lock().unmap_page(G1, 3, 2 * G1 - 1)?, Some(G1));
        assert_eq!(pt.lock().lookup(G1 + 3 * M2 + K4), None);
        assert_eq!(pt.lock().lookup(G1 + G1 - K4), None);
        Ok(())
    }

    /// The DMAR table is found by its signature and is what its header says.
    #[test]
    fn acpi_table_by_signature() -> Result {
        let table = Table::get(b"DMAR")?;
        let bytes = table.bytes();
        assert_eq!(bytes.get(..4), Some(b"DMAR".as_slice()));
        let len = u32::from_le_bytes(bytes[4..8].try_into().map_err(|_| EINVAL)?);
        assert_eq!(bytes.len(), len as usize);
        assert!(Table::get(b"ZZZZ").err() == Some(ENODEV));
        Ok(())
    }

    /// Zeroed, aligned pages with their physical address; flushes are bounds-checked.
    #[test]
    fn phys_mem() -> Result {
        assert!(PhysMem::new_zeroed(0).err() == Some(EINVAL));
        let one = PhysMem::new_zeroed(1)?;
        assert_eq!(one.len(), 4096);
        assert_eq!(one.phys() % 4096, 0);
        assert!(one.words().iter().all(|w| w.load(Relaxed) == 0));
        one.words()[511].store(0x1234_5678_9abc_def0, Relaxed);
        assert_eq!(one.words()[511].load(Relaxed), 0x1234_5678_9abc_def0);
        one.flush(0..512)?;
        assert!(one.flush(0..513).err() == Some(EINVAL));
        assert!(one.flush(511..512).is_ok());
        let two = PhysMem::new_zeroed(8192)?;
        assert_eq!(two.len(), 8192);
        assert_eq!(two.phys() % 8192, 0);
        assert_ne!(one.phys(), two.phys());
        Ok(())
    }

    /// RAM and a unit some driver (the C or the Rust one) has claimed cannot be claimed again.
    #[test]
    fn fw_iomem_claims_exclusively() -> Result {
        let ram = PhysMem::new_zeroed(4096)?;
        assert!(
            FwIoMem::request(ram.phys(), 4096, CString::try_from_fmt(fmt!("test"))?).err()
                == Some(EBUSY)
        );
        assert!(
            FwIoMem::request(ram.phys(), 0, CString::try_from_fmt(fmt!("test"))?).err()
                == Some(EINVAL)
        );
        let table = Table::get(b"DMAR")?;
        let dmar = Dmar::parse(table.bytes()).map_err(|_| EINVAL)?;
        let unit = dmar.structures().find_map(|s| match s {
            Ok(Structure::Drhd(d)) => Some(d),
            _ => None,
        });
        let unit = unit.ok_or(ENODEV)?;
        assert!(
            FwIoMem::request(unit.address, 4096, CString::try_from_fmt(fmt!("test"))?).err()
                == Some(EBUSY)
        );
        Ok(())
    }
}

/// KUnit suite `intel_iommu_rs_live`: the invalidation queue and the fault interrupt of the units
/// the driver brought up (skipped unless the Rust driver runs: `--driver rust`).
#[cfg(CONFIG_INTEL_IOMMU_RUST)]
#[kernel::macros::kunit_tests(intel_iommu_rs_live)]
mod live_tests {
    use kernel::{
        dmar_irq::DmarIrq,
        faux,
        io::Io,
        iommu::testing::skip_current_test,
        irq,
        prelude::*, //
    };

    use crate::{
        driver,
        hw::{
            qi::{
                ContextScope,
                Desc,
                Drain,
                IotlbScope, //
            },
            regs,
        },
        unit::Unit,
    };

    /// The first unit, or `None` after marking the test skipped.
    fn unit() -> Option<&'static Unit> {
        let unit = driver::units().first();
        if unit.is_none() {
            skip_current_test(c"no VT-d unit brought up by intel_iommu_rs");
        }
        unit
    }

    /// Invalidations and a bare wait complete, one submission after another.
    #[test]
    fn queue_completes() -> Result {
        let Some(unit) = unit() else {
            return Ok(());
        };
        let drain = Drain::from_cap(unit.cap);
        unit.submit_sync(&[
            Desc::context(ContextScope::Global)?,
            Desc::iotlb(IotlbScope::Global, drain)?,
        ])?;
        for _ in 0..300 {
            // More than the queue holds: the ring wraps.
            unit.submit_sync(&[])?;
        }
        Ok(())
    }

    /// A descriptor the unit rejects (`IQE`: a type no VT-d version defines) fails the
    /// submission with `EIO`, and the queue goes on: the next submissions complete.
    #[test]
    fn queue_recovers_from_a_rejected_descriptor() -> Result {
        let Some(unit) = unit() else {
            return Ok(());
        };
        let bad = Desc::from_words([0xf, 0, 0, 0]);
        assert!(bad.kind().is_none());
        assert!(unit.submit_sync(&[bad]).err() == Some(EIO));
        unit.submit_sync(&[])?;
        unit.submit_sync(&[Desc::context(ContextScope::Global)?])?;
        Ok(())
    }

    /// The fault interrupt's chip (`kernel::dmar_irq`, DMAR-REGS-MSI) programmed the unit's
    /// fault event registers: unmasked, the message aimed at the local APICs' interrupt range
    /// with a device vector.
    #[test]
    fn fault_event_registers_programmed() -> Result {
        let Some(unit) = unit() else {
            return Ok(());
        };
        let regs = unit.regs();
        let fectl = regs.try_read32(regs::FECTL)?;
        let data = regs.try_read32(regs::FEDATA)?;
        let addr = regs.try_read32(regs::FEADDR)?;
        assert_eq!(fectl & regs::FECTL_IM, 0);
        assert_eq!(addr & 0xfff0_0000, 0xfee0_0000);
        // Vectors below 0x20 are exceptions.
        assert!((data & 0xff) >= 0x20);
        Ok(())
    }

    /// A handler that never runs.
    struct Never;

    impl irq::Handler for Never {
        fn handle(&self) -> irq::IrqReturn {
            irq::IrqReturn::None
        }
    }

    /// `DmarIrq` refuses an event register group that is not inside the mapping, before it
    /// allocates anything.
    #[test]
    fn dmar_irq_refuses_registers_outside_the_mapping() -> Result {
        let Some(unit) = unit() else {
            return Ok(());
        };
        let owner = faux::Registration::new(c"intel-iommu-rs-dmar-irq", None)?;
        let size = unit.regs().size();
        for (offset, expected) in [(size - 8, EINVAL), (usize::MAX - 4, EINVAL), (2, EINVAL)] {
            // SAFETY: Nothing is registered: every case fails.
            let r = unsafe {
                DmarIrq::new(
                    owner.as_ref().as_ref(),
                    unit.regs(),
                    offset,
                    99,
                    c"intel_iommu_rs-test",
                    irq::Flags::NO_THREAD,
                    Ok::<_, Error>(Never),
                )
            };
            assert!(r.err() == Some(expected));
        }
        Ok(())
    }
}
