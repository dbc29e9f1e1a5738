// SPDX-License-Identifier: GPL-2.0

//! The ACPI IO Remapping Table (IORT): how Arm ACPI firmware describes IOMMUs.
//!
//! The kernel's IORT code (`drivers/acpi/arm64/iort.c`) turns every SMMUv3 node into a platform
//! device named `"arm-smmu-v3"`: the node's register base is its first memory resource, its
//! interrupts are named (`"eventq"`, `"gerror"`, `"priq"`, `"cmdq-sync"` or `"combined"`), and
//! its firmware node is the one the IORT code puts into the fwspec of every device behind the
//! SMMU. An IOMMU [`Registration`](super::Registration) that takes its firmware node from that
//! device is therefore the one those fwspecs name. What the node says beyond that (coherency,
//! HTTU, the implementation model) is read here.
//!
//! C header: [`include/acpi/actbl2.h`](srctree/include/acpi/actbl2.h)

use crate::{
    bindings,
    device,
    platform,
    prelude::*, //
};

/// Reading the table, with every offset the firmware gives checked against its length.
#[cfg(CONFIG_ACPI_IORT)]
mod table {
    use core::{
        mem::{
            offset_of,
            size_of, //
        },
        ptr,
    };

    use crate::{
        bindings,
        prelude::*,
        transmute::FromBytes, //
    };

    // SAFETY: `struct acpi_table_iort` is a packed C struct of integers and byte arrays: every bit
    // pattern is valid, and it has no interior mutability.
    unsafe impl FromBytes for bindings::acpi_table_iort {}
    // SAFETY: As above, `struct acpi_iort_node` without its flexible array member.
    unsafe impl FromBytes for bindings::acpi_iort_node {}
    // SAFETY: As above, `struct acpi_iort_smmu_v3` is a packed C struct of integers.
    unsafe impl FromBytes for bindings::acpi_iort_smmu_v3 {}

    /// The IORT, mapped until dropped.
    ///
    /// # Invariants
    ///
    /// `0` was returned by `acpi_get_table()`, which maps `length` bytes of it until
    /// `acpi_put_table()`.
    struct Table(ptr::NonNull<bindings::acpi_table_header>);

    impl Table {
        /// Maps the firmware's (or the initrd's replacement) IORT; `ENODEV` if there is none.
        fn get() -> Result<Self> {
            let mut header = ptr::null_mut();
            // SAFETY: The signature is a NUL-terminated string that ACPICA only reads; `header` is
            // valid for writing.
            let status = unsafe {
                bindings::acpi_get_table(
                    bindings::ACPI_SIG_IORT.as_ptr().cast_mut().cast(),
                    0,
                    &mut header,
                )
            };
            match ptr::NonNull::new(header) {
                // INVARIANT: `acpi_get_table()` succeeded.
                Some(header) if status == 0 => Ok(Self(header)),
                _ => Err(ENODEV),
            }
        }

        /// The whole table, header included.
        fn bytes(&self) -> &[u8] {
            // SAFETY: By the type invariants the header is mapped; `length` is read by value.
            let len = unsafe { (*self.0.as_ptr()).length } as usize;
            // SAFETY: By the type invariants `len` bytes are mapped for as long as `self` lives, and
            // nothing writes to an installed table.
            unsafe { core::slice::from_raw_parts(self.0.as_ptr().cast::<u8>(), len) }
        }
    }

    impl Drop for Table {
        fn drop(&mut self) {
            // SAFETY: By the type invariants the table was got with `acpi_get_table()`.
            unsafe { bindings::acpi_put_table(self.0.as_ptr()) };
        }
    }

    /// Copies a `T` out of `bytes` at `offset`, if it fits.
    fn read<T: FromBytes>(bytes: &[u8], offset: usize) -> Option<T> {
        T::from_bytes_copy_prefix(bytes.get(offset..)?).map(|(t, _)| t)
    }

    /// The SMMUv3 node of the IORT whose registers are at `base`.
    pub(super) fn find_smmu_v3(base: u64) -> Result<bindings::acpi_iort_smmu_v3> {
        let table = Table::get()?;
        let bytes = table.bytes();
        let iort: bindings::acpi_table_iort = read(bytes, 0).ok_or(EINVAL)?;
        let mut offset = iort.node_offset as usize;
        for _ in 0..iort.node_count {
            let node: bindings::acpi_iort_node = read(bytes, offset).ok_or(EINVAL)?;
            let len = usize::from(node.length);
            if len < size_of::<bindings::acpi_iort_node>() {
                return Err(EINVAL);
            }
            if u32::from(node.type_) == bindings::acpi_iort_node_type_ACPI_IORT_NODE_SMMU_V3 {
                // The node's data must lie within the node.
                let node_bytes = bytes.get(..offset + len).ok_or(EINVAL)?;
                let data = offset + offset_of!(bindings::acpi_iort_node, node_data);
                let smmu: bindings::acpi_iort_smmu_v3 = read(node_bytes, data).ok_or(EINVAL)?;
                if smmu.base_address == base {
                    return Ok(smmu);
                }
            }
            offset = offset.checked_add(len).ok_or(EINVAL)?;
        }
        Err(ENODEV)
    }
}

/// The StreamIDs of the IORT's Reserved Memory Range (RMR) nodes that map to the IOMMU `dev`
/// (`iort_get_rmr_sids()`): devices the firmware left doing DMA to memory that must stay
/// reachable, whose streams the IOMMU driver must let through until their devices get domains.
/// Empty without an IORT or RMR nodes.
///
/// # Errors
///
/// `ENOMEM` if the list cannot be had.
#[cfg(CONFIG_ACPI_IORT)]
pub fn rmr_stream_ids(dev: &device::Device) -> Result<KVec<u32>> {
    let Some(fwnode) = dev.fwnode() else {
        return Ok(KVec::new());
    };
    let fwnode = fwnode.as_raw();
    let head = crate::types::Opaque::<bindings::list_head>::uninit();
    let head_ptr = head.get();
    // SAFETY: `head_ptr` is valid for writes and is not moved until the list is released
    // below; `fwnode` is a valid firmware node (it lives as long as `dev`), and the empty list
    // is what `iort_get_rmr_sids()` fills with `struct iommu_iort_rmr_data` entries.
    unsafe {
        bindings::INIT_LIST_HEAD(head_ptr);
        bindings::iort_get_rmr_sids(fwnode, head_ptr);
    }
    let collect = || -> Result<KVec<u32>> {
        let mut sids = KVec::new();
        // SAFETY: `head_ptr` is a valid, initialised list.
        let mut pos = unsafe { (*head_ptr).next };
        while pos != head_ptr {
            // SAFETY: Every entry of the list is the `list` member of the `rr` member of a
            // `struct iommu_iort_rmr_data`, which lives until `iort_put_rmr_sids()`.
            let rmr = unsafe {
                let region = crate::container_of!(pos, bindings::iommu_resv_region, list);
                &*crate::container_of!(region, bindings::iommu_iort_rmr_data, rr)
            };
            for i in 0..rmr.num_sids as usize {
                // SAFETY: `sids` points to `num_sids` StreamIDs (the IORT code's invariant).
                sids.push(unsafe { *rmr.sids.add(i) }, GFP_KERNEL)?;
            }
            // SAFETY: `pos` is an entry of the valid list.
            pos = unsafe { (*pos).next };
        }
        Ok(sids)
    };
    let sids = collect();
    // SAFETY: `head_ptr` is the list `iort_get_rmr_sids()` filled for `fwnode`, not changed.
    unsafe { bindings::iort_put_rmr_sids(fwnode, head_ptr) };
    sids
}

/// Without IORT support, no RMR node is described.
#[cfg(not(CONFIG_ACPI_IORT))]
pub fn rmr_stream_ids(_dev: &device::Device) -> Result<KVec<u32>> {
    Ok(KVec::new())
}

/// Without IORT support there is no table to read.
#[cfg(not(CONFIG_ACPI_IORT))]
mod table {
    use crate::{
        bindings,
        prelude::*, //
    };

    /// No SMMUv3 node is described.
    pub(super) fn find_smmu_v3(_base: u64) -> Result<bindings::acpi_iort_smmu_v3> {
        Err(ENODEV)
    }
}

/// The HTTU support an SMMUv3 node declares, overriding `SMMU_IDR0.HTTU`
/// (`ACPI_IORT_SMMU_V3_HTTU_OVERRIDE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Httu {
    /// No override: `SMMU_IDR0.HTTU` holds.
    None,
    /// Hardware update of the Access flag.
    Access,
    /// Hardware update of the Access flag and of the dirty state.
    AccessDirty,
    /// As [`Httu::AccessDirty`], plus the Access flag of table descriptors (HAFT).
    AccessDirtyHaft,
}

/// The implementation an SMMUv3 node names, for the errata the kernel applies to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmmuV3Model {
    /// A generic SMMUv3 (`ACPI_IORT_SMMU_V3_GENERIC`).
    Generic,
    /// HiSilicon Hi161x: `CMD_PREFETCH_CONFIG` must not be issued.
    HisiliconHi161x,
    /// Cavium CN99xx (ThunderX2): only register page 0 exists; page 1 registers alias into it.
    CaviumCn99xx,
    /// A model this kernel does not know.
    Other(u32),
}

/// An IORT SMMUv3 node (`struct acpi_iort_smmu_v3`), copied out of the table.
#[derive(Clone, Copy)]
pub struct SmmuV3 {
    node: bindings::acpi_iort_smmu_v3,
}

impl SmmuV3 {
    /// Returns the node that describes `pdev`, a platform device the IORT code created for an
    /// SMMUv3 node: the node whose base address is `pdev`'s first memory resource.
    ///
    /// `ENODEV` if `pdev` has no memory resource, there is no IORT (or no IORT support), or none
    /// of its SMMUv3 nodes has that base (e.g. the device comes from a device tree); `EINVAL` if
    /// the table is malformed.
    pub fn for_device<Ctx: device::DeviceContext>(pdev: &platform::Device<Ctx>) -> Result<Self> {
        let base = pdev.resource_by_index(0).ok_or(ENODEV)?.start();
        table::find_smmu_v3(base).map(|node| Self { node })
    }

    /// The physical address of the SMMU's registers.
    pub fn base_address(&self) -> u64 {
        self.node.base_address
    }

    /// Whether the SMMU's table and queue accesses are cache coherent
    /// (`ACPI_IORT_SMMU_V3_COHACC_OVERRIDE`, which overrides `SMMU_IDR0.COHACC`).
    pub fn coherent(&self) -> bool {
        self.node.flags & bindings::ACPI_IORT_SMMU_V3_COHACC_OVERRIDE != 0
    }

    /// The HTTU support the firmware declares.
    pub fn httu(&self) -> Httu {
        let mask = bindings::ACPI_IORT_SMMU_V3_HTTU_OVERRIDE;
        match (self.node.flags & mask) >> mask.trailing_zeros() {
            0 => Httu::None,
            1 => Httu::Access,
            2 => Httu::AccessDirty,
            _ => Httu::AccessDirtyHaft,
        }
    }

    /// The implementation the node names.
    pub fn model(&self) -> SmmuV3Model {
        match self.node.model {
            bindings::ACPI_IORT_SMMU_V3_GENERIC => SmmuV3Model::Generic,
            bindings::ACPI_IORT_SMMU_V3_HISILICON_HI161X => SmmuV3Model::HisiliconHi161x,
            bindings::ACPI_IORT_SMMU_V3_CAVIUM_CN99XX => SmmuV3Model::CaviumCn99xx,
            other => SmmuV3Model::Other(other),
        }
    }
}
