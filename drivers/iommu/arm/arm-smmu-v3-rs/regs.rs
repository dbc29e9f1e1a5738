// SPDX-License-Identifier: GPL-2.0

//! SMMUv3 MMIO registers.
//!
//! One owner per register layout: the fields of the ID registers are declared and decoded in
//! [`crate::hw::idr`], those of the control registers in [`crate::hw::ctrl`], and the queue
//! indices in [`crate::hw::prodcons`], where the host tests reach them; the types here only give
//! each register its offset and width, as `31:0 value`, and no field is declared twice. (The
//! queue registers are not relative registers: the event queue's indices sit in page 1, the
//! command queue's in page 0, so their offsets from the queue bases differ.) Registers of page 1 (the event and PRI queue indices) sit at their
//! page-1 offsets, as the driver maps both pages in one region.
//!
//! The architecture's 64-bit registers (`*_BASE`) are declared as `_LO`/`_HI` halves: the
//! mapped region only guarantees 32-bit aligned accesses, and the SMMUv3 architecture allows
//! 32-bit accesses to each half. The driver writes them only while the table or queue they
//! configure is disabled, so the two halves never take effect separately.

use kernel::io::register;

/// Size of the MMIO region the driver maps: register pages 0 and 1.
pub(crate) const SIZE: usize = 0x20000;

register! {
    /// ID register 0: stages, table formats, queues, stall and ATS support.
    pub(crate) IDR0(u32) @ 0x0 { 31:0 value; }
    /// ID register 1: stream and substream ID sizes, queue sizes.
    pub(crate) IDR1(u32) @ 0x4 { 31:0 value; }
    /// ID register 2: VATOS support.
    pub(crate) IDR2(u32) @ 0x8 { 31:0 value; }
    /// ID register 3: range invalidation, BBML, FWB.
    pub(crate) IDR3(u32) @ 0xc { 31:0 value; }
    /// ID register 4: implementation defined.
    pub(crate) IDR4(u32) @ 0x10 { 31:0 value; }
    /// ID register 5: output address size, granules, VAX.
    pub(crate) IDR5(u32) @ 0x14 { 31:0 value; }
    /// Implementation identification.
    pub(crate) IIDR(u32) @ 0x18 { 31:0 value; }
    /// Architecture identification.
    pub(crate) AIDR(u32) @ 0x1c { 31:0 value; }
    /// Global control: SMMUEN and the queue enables.
    pub(crate) CR0(u32) @ 0x20 { 31:0 value; }
    /// Acknowledgement of CR0.
    pub(crate) CR0ACK(u32) @ 0x24 { 31:0 value; }
    /// Table and queue memory attributes.
    pub(crate) CR1(u32) @ 0x28 { 31:0 value; }
    /// Further control: PTM, RECINVSID, E2H.
    pub(crate) CR2(u32) @ 0x2c { 31:0 value; }
    /// Global bypass attribute, used while SMMUEN is 0.
    pub(crate) GBPA(u32) @ 0x44 { 31:0 value; }
    /// Interrupt enables.
    pub(crate) IRQ_CTRL(u32) @ 0x50 { 31:0 value; }
    /// Acknowledgement of IRQ_CTRL.
    pub(crate) IRQ_CTRLACK(u32) @ 0x54 { 31:0 value; }
    /// Active global errors (toggled by the SMMU).
    pub(crate) GERROR(u32) @ 0x60 { 31:0 value; }
    /// Acknowledged global errors (toggled by the driver).
    pub(crate) GERRORN(u32) @ 0x64 { 31:0 value; }
    /// Stream table base address and read-allocate hint, low half.
    pub(crate) STRTAB_BASE_LO(u32) @ 0x80 { 31:0 value; }
    /// Stream table base address, high half.
    pub(crate) STRTAB_BASE_HI(u32) @ 0x84 { 31:0 value; }
    /// Stream table format, split and size.
    pub(crate) STRTAB_BASE_CFG(u32) @ 0x88 { 31:0 value; }
    /// Command queue base address and size, low half.
    pub(crate) CMDQ_BASE_LO(u32) @ 0x90 { 31:0 value; }
    /// Command queue base address, high half.
    pub(crate) CMDQ_BASE_HI(u32) @ 0x94 { 31:0 value; }
    /// Command queue producer index (driver).
    pub(crate) CMDQ_PROD(u32) @ 0x98 { 31:0 value; }
    /// Command queue consumer index and error code (SMMU).
    pub(crate) CMDQ_CONS(u32) @ 0x9c { 31:0 value; }
    /// Event queue base address and size, low half.
    pub(crate) EVTQ_BASE_LO(u32) @ 0xa0 { 31:0 value; }
    /// Event queue base address, high half.
    pub(crate) EVTQ_BASE_HI(u32) @ 0xa4 { 31:0 value; }
    /// Event queue producer index (SMMU), in page 1.
    pub(crate) EVTQ_PROD(u32) @ 0x100a8 { 31:0 value; }
    /// Event queue consumer index (driver), in page 1.
    pub(crate) EVTQ_CONS(u32) @ 0x100ac { 31:0 value; }
    /// PRI queue base address and size, low half.
    pub(crate) PRIQ_BASE_LO(u32) @ 0xc0 { 31:0 value; }
    /// PRI queue base address, high half.
    pub(crate) PRIQ_BASE_HI(u32) @ 0xc4 { 31:0 value; }
    /// PRI queue producer index (SMMU), in page 1.
    pub(crate) PRIQ_PROD(u32) @ 0x100c8 { 31:0 value; }
    /// PRI queue consumer index (driver), in page 1.
    pub(crate) PRIQ_CONS(u32) @ 0x100cc { 31:0 value; }
}

/// Splits a 64-bit register value into its low and high halves.
pub(crate) const fn halves(v: u64) -> (u32, u32) {
    // CAST: Truncation to the low half is intended; the high half is shifted down first.
    (v as u32, (v >> 32) as u32)
}
