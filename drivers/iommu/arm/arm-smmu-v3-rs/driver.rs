// SPDX-License-Identifier: GPL-2.0

//! The platform driver: binds to `arm,smmu-v3` device tree nodes and to the `arm-smmu-v3`
//! platform devices that ACPI's IORT code creates for its SMMUv3 nodes.

use kernel::{
    device::Core,
    iommu,
    irq,
    of,
    platform,
    prelude::*,
    sync::Arc, //
};

use crate::{
    debugfs::Debugfs,
    iommu::SmmuIommu,
    irq::{
        Line,
        SmmuIrq, //
    },
    smmu::Smmu,
};

/// The Rust SMMUv3 platform driver.
pub(crate) struct SmmuDriver;

/// Disables the SMMU when dropped: the last step of unbinding.
struct Enabled(Arc<Smmu>);

impl Drop for Enabled {
    fn drop(&mut self) {
        self.0.disable();
    }
}

/// A requested interrupt line, freed when dropped.
type IrqLine<'bound> = Pin<KBox<irq::ThreadedRegistration<'bound, SmmuIrq>>>;

/// Per-SMMU driver data, alive while the driver is bound.
///
/// Fields drop in order: the IOMMU core lets go of every client device (attaching the blocking
/// domain through the still running command queue), then the SMMU is disabled and its
/// interrupts masked, then the interrupts are freed.
#[pin_data]
pub(crate) struct SmmuData<'bound> {
    _debugfs: Option<Debugfs>,
    #[pin]
    _iommu: iommu::Registration<'bound, SmmuIommu>,
    enabled: Enabled,
    _irqs: KVec<IrqLine<'bound>>,
}

/// The SMMU's wired interrupts the firmware describes: the "combined" line if there is one,
/// else the event queue, PRI queue and global error lines there are (a missing event queue or
/// global error line is warned about, as the C driver does; its source is then never serviced).
fn irq_lines(pdev: &platform::Device<Core<'_>>) -> Result<KVec<Line>> {
    let present = |line: Line| match pdev.optional_irq_by_name(line.name()) {
        Ok(_) => Ok(true),
        Err(e) if e == ENXIO => Ok(false),
        Err(e) => Err(e),
    };
    let mut lines = KVec::new();
    if present(Line::Combined)? {
        lines.push(Line::Combined, GFP_KERNEL)?;
        return Ok(lines);
    }
    for line in [Line::Evtq, Line::Priq, Line::Gerror] {
        if present(line)? {
            lines.push(line, GFP_KERNEL)?;
        } else if line != Line::Priq {
            dev_warn!(pdev, "no {} interrupt: not serviced\n", line.name());
        }
    }
    Ok(lines)
}

/// Requests the interrupt `lines` of the SMMU.
fn request_irqs<'bound>(
    pdev: &'bound platform::Device<Core<'_>>,
    smmu: &Arc<Smmu>,
    lines: &[Line],
) -> Result<KVec<IrqLine<'bound>>> {
    let mut irqs = KVec::new();
    for &line in lines {
        // Handled in the thread only: the line stays masked until it is done.
        let flags = irq::Flags::ONESHOT;
        let handler = Ok::<_, Error>(SmmuIrq::new(smmu.clone(), line));
        // SAFETY: The registration is kept in the driver data, dropped at unbind; it is never
        // forgotten.
        let reg = unsafe {
            pdev.request_threaded_irq_by_name(flags, line.name(), line.handler_name(), handler)
        };
        irqs.push(KBox::pin_init(reg, GFP_KERNEL)?, GFP_KERNEL)?;
    }
    dev_info!(pdev, "wired interrupts: {}\n", crate::Show(&Names(lines)));
    Ok(irqs)
}

/// The names of interrupt lines, comma separated.
struct Names<'a>(&'a [Line]);

impl core::fmt::Display for Names<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, line) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(line.name().to_str().unwrap_or("?"))?;
        }
        Ok(())
    }
}

kernel::of_device_table!(
    OF_TABLE,
    <SmmuDriver as platform::Driver>::IdInfo,
    [(of::DeviceId::new(c"arm,smmu-v3"), ())]
);

// The devices `drivers/acpi/arm64/iort.c` creates, by name, for the IORT's SMMUv3 nodes; the C
// driver binds to them through its driver name, which this one does not share.
kernel::platform_device_table!(
    PLATFORM_TABLE,
    <SmmuDriver as platform::Driver>::IdInfo,
    [(platform::DeviceId::new(c"arm-smmu-v3"), ())]
);

impl platform::Driver for SmmuDriver {
    type IdInfo = ();
    type Data<'bound> = SmmuData<'bound>;
    const OF_ID_TABLE: Option<of::IdTable<Self::IdInfo>> = Some(&OF_TABLE);
    const ID_TABLE: Option<platform::IdTable<Self::IdInfo>> = Some(&PLATFORM_TABLE);
    // As the C driver: client devices' DMA goes through the SMMU, and the IOMMU core cannot take
    // it from under their drivers (it warns, and their DMA stops).
    const SUPPRESS_BIND_ATTRS: bool = true;

    fn probe<'bound>(
        pdev: &'bound platform::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || {
            let mut lines = irq_lines(pdev)?;
            let smmu = Smmu::new(
                pdev,
                lines.contains(&Line::Priq) || lines.contains(&Line::Combined),
            )?;
            // A PRI queue line is only handled where the driver takes page requests.
            lines.retain(|l| *l != Line::Priq || smmu.has_pri());
            // The handlers first: the reset unmasks the interrupts before enabling their sources.
            smmu.mask_irqs()?;
            let irqs = request_irqs(pdev, &smmu, &lines)?;
            // From here on the SMMU is enabled; `Enabled` disables it on any later failure, before
            // `irqs` is dropped.
            let enabled = Enabled(smmu.clone());
            // As the C driver: the streams of the firmware's Reserved Memory Ranges bypass from
            // the reset on, so that the DMA the firmware left running does not fault.
            match kernel::iommu::iort::rmr_stream_ids(pdev.as_ref()) {
                Ok(sids) => smmu.bypass_rmr_streams(pdev.as_ref(), &sids),
                Err(e) => dev_err!(pdev, "RMR StreamIDs unread: {:?}\n", e),
            }
            smmu.reset()?;
            let dev = pdev.as_ref();
            let debugfs = if cfg!(CONFIG_ARM_SMMU_V3_RUST_FAULT_INJECT) {
                Some(Debugfs::new(&smmu, dev.name())?)
            } else {
                None
            };
            let config = iommu::Config {
                name: dev.name(),
                fwnode: None,
                max_pasids: smmu.max_pasids(),
            };
            Ok(try_pin_init!(SmmuData {
                _debugfs: debugfs,
                _iommu <- iommu::Registration::new_with_config(dev, config, smmu.clone()),
                enabled,
                _irqs: irqs,
                _: {
                    dev_info!(pdev, "registered with the IOMMU core\n");
                    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
                    crate::kunit::LIVE_SMMU.populate(smmu.clone());
                }
            }? Error))
        })
    }

    /// Disables the SMMU before a reboot or `kexec`, as the C driver does: the next kernel must
    /// not find it walking tables in memory that it reuses (nor must `kdump`'s).
    fn shutdown<'bound>(_pdev: &'bound platform::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        this.enabled.0.disable();
    }
}
