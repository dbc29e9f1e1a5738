// SPDX-License-Identifier: GPL-2.0

//! What the firmware says about an SMMU, beyond what its ID registers say: a device tree
//! `arm,smmu-v3` node, or an ACPI IORT SMMUv3 node.
//!
//! On ACPI systems the IORT code creates the SMMU's platform device (`"arm-smmu-v3"`, matched by
//! the driver's platform ID table) with its registers and named interrupts, and fills the fwspec
//! of every PCI device behind it; the node itself is read through [`iort::SmmuV3`].

use kernel::{
    device::{
        Core,
        Device, //
    },
    iommu::iort::{
        self,
        Httu,
        SmmuV3Model, //
    },
    platform,
    prelude::*,
};

use crate::hw::{
    idr,
    imp::FwModel, //
};

/// What the firmware says about an SMMU.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Firmware {
    /// Whether the SMMU's table and queue accesses are cache coherent: the device tree's
    /// `dma-coherent`, or the IORT node's COHACC override. It overrides `IDR0.COHACC`, as in the
    /// C driver.
    pub(crate) coherent: bool,
    /// The hardware table updates the IORT node declares, which replace `IDR0.HTTU` as in the C
    /// driver (an IORT without the override gives none); `None` on a device tree, where
    /// `IDR0.HTTU` holds.
    pub(crate) httu: Option<idr::Httu>,
    /// The implementation the IORT node names, for errata; `None` on a device tree.
    pub(crate) model: Option<SmmuV3Model>,
    /// The device tree node is also compatible with `nvidia,tegra264-smmu`.
    pub(crate) tegra264: bool,
}

impl Firmware {
    /// Reads and checks the firmware description of the SMMU `pdev`: its device tree node if it
    /// has one, else its IORT node, as the C driver.
    pub(crate) fn of_device(pdev: &platform::Device<Core<'_>>) -> Result<Self> {
        let dev: &Device = pdev.as_ref();
        match dev.fwnode() {
            Some(node) if node.is_of_node() => Ok(Self {
                coherent: fw_coherent(dev)?,
                httu: None,
                model: None,
                // As the C driver, which matches `arm,smmu-v3` and then looks for this one.
                tegra264: node
                    .property_match_string(c"compatible", c"nvidia,tegra264-smmu")
                    .is_ok(),
            }),
            _ => Self::from_iort(pdev),
        }
    }

    /// The implementation the firmware names, as the errata table takes it.
    pub(crate) fn errata_model(&self) -> FwModel {
        match self.model {
            None if self.tegra264 => FwModel::NvidiaTegra264,
            None | Some(SmmuV3Model::Generic) => FwModel::Generic,
            Some(SmmuV3Model::HisiliconHi161x) => FwModel::HisiliconHi161x,
            Some(SmmuV3Model::CaviumCn99xx) => FwModel::CaviumCn99xx,
            Some(SmmuV3Model::Other(m)) => FwModel::Other(m),
        }
    }

    /// The description of the IORT SMMUv3 node of `pdev`.
    ///
    /// The Hi161x model needs nothing here: its erratum is about `CMD_PREFETCH_CONFIG`, which
    /// this driver never issues. A CN99xx has no register page 1 and is refused, as on a device
    /// tree.
    fn from_iort(pdev: &platform::Device<Core<'_>>) -> Result<Self> {
        let dev: &Device = pdev.as_ref();
        let node = iort::SmmuV3::for_device(pdev).inspect_err(|e| {
            dev_err!(
                dev,
                "no device tree node, and no IORT SMMUv3 node for it: {:?}\n",
                e
            )
        })?;
        let fw = Self {
            coherent: node.coherent(),
            httu: Some(match node.httu() {
                Httu::None => idr::Httu::None,
                Httu::Access => idr::Httu::Access,
                Httu::AccessDirty => idr::Httu::AccessDirty,
                Httu::AccessDirtyHaft => idr::Httu::AccessDirtyHaft,
            }),
            model: Some(node.model()),
            tegra264: false,
        };
        dev_info!(
            dev,
            "IORT SMMUv3 node at {:#x}: model {:?}, {}coherent, HTTU override {:?}\n",
            node.base_address(),
            node.model(),
            if fw.coherent { "" } else { "non-" },
            node.httu()
        );
        if fw.model == Some(SmmuV3Model::CaviumCn99xx) {
            dev_err!(
                dev,
                "page 1 registers in page 0 (CN99xx) are not supported\n"
            );
            return Err(ENODEV);
        }
        Ok(fw)
    }
}

/// Checks the device tree node of an SMMU; returns whether it is DMA coherent.
///
/// `#iommu-cells` must be 1 (the StreamID), as the binding says. Page 1 registers aliased onto
/// page 0 (`cavium,cn9900-broken-page1-regspace`) are not supported: refused rather than
/// mis-driven.
fn fw_coherent(dev: &Device) -> Result<bool> {
    let fw = dev.fwnode().ok_or(ENODEV)?;
    let cells: u32 = fw.property_read(c"#iommu-cells").required_by(dev)?;
    if cells != 1 {
        dev_err!(dev, "#iommu-cells is {}, must be 1\n", cells);
        return Err(ENODEV);
    }
    if fw.property_present(c"cavium,cn9900-broken-page1-regspace") {
        dev_err!(
            dev,
            "page 1 registers in page 0 (CN9900) are not supported\n"
        );
        return Err(ENODEV);
    }
    Ok(fw.property_present(c"dma-coherent"))
}
