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

/// Requests the SMMU's wired interrupts: the "combined" line if the firmware describes one,
/// else the event queue and global error lines that it describes (a missing one is warned
/// about, as the C driver does; its source is then never serviced).
fn request_irqs<'bound>(
    pdev: &'bound platform::Device<Core<'_>>,
    smmu: &Arc<Smmu>,
) -> Result<KVec<IrqLine<'bound>>> {
    let mut irqs = KVec::new();
    let combined = match pdev.optional_irq_by_name(Line::Combined.name()) {
        Ok(_) => true,
        Err(e) if e == ENXIO => false,
        Err(e) => return Err(e),
    };
    let lines: &[Line] = if combined {
        &[Line::Combined]
    } else {
        &[Line::Evtq, Line::Gerror]
    };
    for &line in lines {
        match pdev.optional_irq_by_name(line.name()) {
            Ok(_) => {}
            Err(e) if e == ENXIO => {
                dev_warn!(pdev, "no {} interrupt: not serviced\n", line.name());
                continue;
            }
            Err(e) => return Err(e),
        }
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
    dev_info!(
        pdev,
        "wired interrupts: {}\n",
        if combined {
            "combined"
        } else {
            "eventq, gerror"
        }
    );
    Ok(irqs)
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
            let smmu = Smmu::new(pdev)?;
            // The handlers first: the reset unmasks the interrupts before enabling their sources.
            smmu.mask_irqs()?;
            let irqs = request_irqs(pdev, &smmu)?;
            // From here on the SMMU is enabled; `Enabled` disables it on any later failure, before
            // `irqs` is dropped.
            let enabled = Enabled(smmu.clone());
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
