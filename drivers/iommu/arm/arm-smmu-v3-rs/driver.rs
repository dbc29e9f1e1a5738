// SPDX-License-Identifier: GPL-2.0

//! The platform driver: binds to `arm,smmu-v3` device tree nodes.

use kernel::{
    device::Core,
    dma::{
        Device as DmaDevice,
        DmaMask, //
    },
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
        EvtqIrq,
        GerrorIrq, //
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

/// Per-SMMU driver data, alive while the driver is bound.
///
/// Fields drop in order: the IOMMU core lets go of every client device (attaching the blocking
/// domain through the still running command queue), then the interrupts are freed, then the
/// SMMU is disabled.
#[pin_data]
pub(crate) struct SmmuData<'bound> {
    _debugfs: Option<Debugfs>,
    #[pin]
    _iommu: iommu::Registration<'bound, SmmuIommu>,
    #[pin]
    _evtq_irq: irq::ThreadedRegistration<'bound, EvtqIrq>,
    #[pin]
    _gerror_irq: irq::Registration<'bound, GerrorIrq>,
    _enabled: Enabled,
}

kernel::of_device_table!(
    OF_TABLE,
    <SmmuDriver as platform::Driver>::IdInfo,
    [(of::DeviceId::new(c"arm,smmu-v3"), ())]
);

impl platform::Driver for SmmuDriver {
    type IdInfo = ();
    type Data<'bound> = SmmuData<'bound>;
    const OF_ID_TABLE: Option<of::IdTable<Self::IdInfo>> = Some(&OF_TABLE);

    fn probe<'bound>(
        pdev: &'bound platform::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || {
            let smmu = Smmu::new(pdev)?;
            let oas = smmu.features.idr.oas_bits().ok_or(ENXIO)?;
            // SAFETY: The device is being probed: nothing else allocates or maps DMA memory for
            // it concurrently.
            unsafe { pdev.dma_set_mask_and_coherent(DmaMask::try_new(oas)?)? };
            // From here on the SMMU is enabled; `Enabled` disables it on any later failure.
            let enabled = Enabled(smmu.clone());
            smmu.reset()?;
            let evtq = Ok::<_, Error>(EvtqIrq(smmu.clone()));
            let gerror = Ok::<_, Error>(GerrorIrq(smmu.clone()));
            let dev = pdev.as_ref();
            let debugfs = if cfg!(CONFIG_ARM_SMMU_V3_RUST_FAULT_INJECT) {
                Some(Debugfs::new(&smmu, dev.name())?)
            } else {
                None
            };
            Ok(try_pin_init!(SmmuData {
                _debugfs: debugfs,
                // SAFETY: The registration is a field of the driver data, dropped at unbind;
                // it is never forgotten.
                _evtq_irq <- unsafe {
                    pdev.request_threaded_irq_by_name(
                        irq::Flags::ONESHOT,
                        c"eventq",
                        c"arm-smmu-v3-rs-evtq",
                        evtq,
                    )
                },
                // SAFETY: As above.
                _gerror_irq <- unsafe {
                    pdev.request_irq_by_name(
                        irq::Flags::TRIGGER_NONE,
                        c"gerror",
                        c"arm-smmu-v3-rs-gerror",
                        gerror,
                    )
                },
                _: {
                    smmu.enable_irqs()?;
                },
                _iommu <- iommu::Registration::new(dev, dev.name(), None, smmu.clone()),
                _enabled: enabled,
                _: {
                    dev_info!(pdev, "registered with the IOMMU core\n");
                }
            }? Error))
        })
    }
}
