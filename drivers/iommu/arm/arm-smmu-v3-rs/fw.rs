// SPDX-License-Identifier: GPL-2.0

//! What the firmware says about an SMMU, beyond what its ID registers say.

use kernel::{
    device::Device,
    prelude::*, //
};

/// Checks the device tree node of an SMMU; returns whether it is DMA coherent.
///
/// `#iommu-cells` must be 1 (the StreamID), as the binding says. Page 1 registers aliased onto
/// page 0 (`cavium,cn9900-broken-page1-regspace`) are not supported: refused rather than
/// mis-driven.
pub(crate) fn fw_coherent(dev: &Device) -> Result<bool> {
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
