// SPDX-License-Identifier: GPL-2.0

//! How the driver comes up: a built-in `rootfs_initcall`, after PCI enumeration and before any
//! PCI driver probes, that finds the remapping units in the ACPI DMAR table, brings them up and
//! registers them with the IOMMU core.
//!
//! The C driver's own init (`pci_iommu_init()`, the same initcall level, earlier in link order)
//! and interrupt remapping must be kept out of a boot that runs this one
//! (`initcall_blacklist=pci_iommu_init intremap=off`); a unit either of them set up is refused.
//! `Documentation/iommu-rs/intel-rs.rst` explains the choice.

use kernel::{
    acpi_table::Table,
    prelude::*,
    sync::SetOnce,
    syscore, //
};

use crate::{
    fault,
    hw::dmar::Dmar,
    iommu,
    rmrr,
    table,
    unit::Unit,
    yn,
    Show, //
};

/// The units this driver owns, for the life of the kernel (the driver is built in, and the C
/// driver keeps its units the same way).
static UNITS: SetOnce<KVec<Unit>> = SetOnce::new();

/// The units this driver brought up; empty if it did not run (the C driver's boot) or failed.
pub(crate) fn units() -> &'static [Unit] {
    UNITS.as_ref().map_or(&[], |units| units)
}

/// Finds the DMAR table and brings up every unit it describes: registers claimed, queued
/// invalidation on, an empty root table installed; then registers each with the IOMMU core,
/// which probes the PCI devices and attaches their default domains, and turns translation on,
/// in that order, as C's `intel_iommu_init()`.
fn init() -> Result {
    let table = match Table::get(b"DMAR") {
        Ok(table) => table,
        Err(_) => {
            pr_info!("no DMAR table: no VT-d here\n");
            return Ok(());
        }
    };
    let dmar = Dmar::parse(table.bytes()).map_err(|e| {
        // A malformed table is not used at all: its units may be described wrongly.
        pr_err!("DMAR table rejected: {}\n", Show(&e));
        EINVAL
    })?;
    table::keep(&dmar)?;
    rmrr::log(&dmar);
    let flags = dmar.flags();
    pr_info!(
        "DMAR table: revision {}, host address width {}, interrupt remapping {}, \
         x2APIC opt-out {}, DMA platform opt-in {}{}\n",
        dmar.revision(),
        dmar.host_address_width(),
        yn(flags.intr_remap),
        yn(flags.x2apic_opt_out),
        yn(flags.platform_opt_in),
        if dmar.checksum_ok() {
            ""
        } else {
            " (bad checksum)"
        }
    );

    let mut units = KVec::new();
    for (index, drhd) in dmar.drhds() {
        let mut unit = Unit::probe(index, &drhd)?;
        unit.log_probe();
        unit.enable_qi()?;
        unit.install_root_table()?;
        units.push(unit, GFP_KERNEL)?;
    }
    if units.is_empty() {
        pr_info!("the DMAR table describes no remapping unit\n");
    }
    // Only this initcall, which runs once, populates it.
    UNITS.populate(units);
    let mut usable = KVec::new();
    for unit in self::units() {
        if !unit.ecap.smts() || !(unit.ecap.fsts() || unit.ecap.ssts()) {
            // The context and PASID entries are scalable-mode ones, the paging domains
            // first-stage or second-stage ones.
            pr_err!(
                "{}: not registered: no scalable mode with first-stage or second-stage \
                 translation (ECAP.SMTS {}, FSTS {}, SSTS {}); legacy-mode domains are not \
                 implemented\n",
                unit.label(),
                yn(unit.ecap.smts()),
                yn(unit.ecap.fsts()),
                yn(unit.ecap.ssts())
            );
            continue;
        }
        usable.push(unit, GFP_KERNEL)?;
    }
    let devs = iommu::register(&usable)?;
    // Before translation is on, as C's `init_dmars()`: every fault from then on is reported.
    fault::request_irqs(&usable, &devs)?;
    // Before translation is on: a shutdown from then on turns it off.
    syscore::Registration::register::<crate::LocalModule>(Shutdown)?;
    for unit in usable {
        unit.enable_translation()?;
    }
    Ok(())
}

/// Turns every unit's translation off at system shutdown.
struct Shutdown;

impl syscore::Shutdown for Shutdown {
    /// Runs after every device's shutdown (`device_shutdown()`), where C's
    /// `intel_iommu_shutdown()` runs too (`x86_platform.iommu_shutdown`, from
    /// `native_machine_shutdown()`, which comes after `syscore_shutdown()` on power off, restart
    /// and kexec): the devices are quiet, so none is left DMAing through a table that is going
    /// away or with addresses that now reach memory untranslated.
    fn shutdown(&self) {
        for unit in units() {
            if let Err(e) = unit.shutdown() {
                pr_err!(
                    "{}: cannot turn translation off at shutdown: {:?}\n",
                    unit.label(),
                    e
                );
            }
        }
    }
}

kernel::builtin_initcall!(rootfs, __intel_iommu_rs_init, init);
