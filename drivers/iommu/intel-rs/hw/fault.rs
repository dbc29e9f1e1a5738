// SPDX-License-Identifier: GPL-2.0

//! Fault recording registers and fault reasons.
//!
//! A fault recording register (`FRCD_REG`) is 128 bits: the faulting page address in the low
//! qword, and the requester, PASID, fault reason and `F` (fault) bit in the high qword. The
//! driver reads the high qword (bits 127:64) first and processes the record only if `F` is set,
//! then clears `F` by writing 1 to it.

use core::fmt;

use crate::hw::{
    field::{
        Bit,
        Field, //
    },
    ids::{
        Pasid,
        SourceId, //
    },
};

/// `FI`: fault information, the page address of the faulting request.
const FI: Field<0, 63, 12> = Field;
/// `SID`: the requester.
const SID: Field<1, 15, 0> = Field;
/// `T2`: type bit 2.
const T2: Bit<1, 28> = Field;
/// `PRIV`: privilege mode requested.
const PRIV: Bit<1, 29> = Field;
/// `EXE`: execute permission requested.
const EXE: Bit<1, 30> = Field;
/// `PP`: the request had a PASID.
const PP: Bit<1, 31> = Field;
/// `FR`: fault reason.
const FR: Field<1, 39, 32> = Field;
/// `PV`: the PASID, valid when `PP` is set.
const PV: Field<1, 59, 40> = Field;
/// `AT`: address type of the request.
const AT: Field<1, 61, 60> = Field;
/// `T1`: type bit 1; 0 for a write, 1 for a read (or atomic) request.
const T1: Bit<1, 62> = Field;
/// `F`: the record holds a fault.
const F: Bit<1, 63> = Field;

/// The `F` bit as seen in the high 32 bits of the record (offset 12), which is what the driver
/// reads first and writes back to clear the record.
pub(crate) const FRCD_HI_F: u32 = 1 << 31;

/// What the faulting request was doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// A write request.
    Write,
    /// A read or atomic request.
    Read,
}

/// Which translation a fault reason belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReasonKind {
    /// DMA remapping.
    Dma,
    /// Interrupt remapping: the address field holds the interrupt index in bits 63:48.
    Interrupt,
    /// A reason this layer does not know.
    Unknown,
}

/// A decoded fault record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FaultRecord {
    /// The faulting page address (`FI`), or for interrupt remapping faults the interrupt index
    /// in bits 63:48.
    pub(crate) addr: u64,
    /// The requester (`SID`).
    pub(crate) sid: SourceId,
    /// The PASID, when the request had one (`PP`, `PV`).
    pub(crate) pasid: Option<Pasid>,
    /// The fault reason (`FR`).
    pub(crate) reason: u8,
    /// Read or write (`T1`).
    pub(crate) access: Access,
    /// Type bit 2 (`T2`), set for page requests and for some translated requests.
    pub(crate) t2: bool,
    /// Address type (`AT`).
    pub(crate) at: u8,
    /// Execute permission requested (`EXE`).
    pub(crate) exe: bool,
    /// Privileged mode requested (`PRIV`).
    pub(crate) privileged: bool,
}

impl FaultRecord {
    /// Decodes a fault recording register, low qword first; `None` if `F` is clear.
    pub(crate) const fn decode(w: &[u64; 2]) -> Option<Self> {
        if !F.is_set(w) {
            return None;
        }
        let pasid = if PP.is_set(w) {
            // CAST: The field is 20 bits wide, so `Pasid::new` cannot fail.
            match Pasid::new(PV.get(w) as u32) {
                Ok(p) => Some(p),
                Err(_) => None,
            }
        } else {
            None
        };
        Some(Self {
            addr: FI.get_addr(w),
            // CAST: The field is 16 bits wide.
            sid: SourceId::new(SID.get(w) as u16),
            pasid,
            // CAST: The field is 8 bits wide.
            reason: FR.get(w) as u8,
            access: if T1.is_set(w) {
                Access::Read
            } else {
                Access::Write
            },
            t2: T2.is_set(w),
            // CAST: The field is 2 bits wide.
            at: AT.get(w) as u8,
            exe: EXE.is_set(w),
            privileged: PRIV.is_set(w),
        })
    }

    /// The interrupt index of an interrupt remapping fault.
    pub(crate) const fn interrupt_index(&self) -> u16 {
        // CAST: The shift leaves 16 bits.
        (self.addr >> 48) as u16
    }

    /// A displayable form in the C driver's log format, for the unit in PCI `segment`.
    pub(crate) const fn display(&self, segment: u16) -> FaultDisplay<'_> {
        FaultDisplay {
            record: self,
            segment,
        }
    }
}

/// A fault record with its PCI segment, formatted as the C driver logs one.
pub(crate) struct FaultDisplay<'a> {
    record: &'a FaultRecord,
    segment: u16,
}

impl fmt::Display for FaultDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.record;
        let (kind, text) = reason(r.reason);
        if kind == ReasonKind::Interrupt {
            return write!(
                f,
                "[INTR-REMAP] Request device [{:04x}:{}] fault index {:#x} [fault reason {:#04x}] {}",
                self.segment,
                r.sid,
                r.interrupt_index(),
                r.reason,
                text
            );
        }
        let access = match r.access {
            Access::Read => "DMA Read",
            Access::Write => "DMA Write",
        };
        match r.pasid {
            Some(p) => write!(f, "[{} PASID {:#x}]", access, p.raw())?,
            None => write!(f, "[{} NO_PASID]", access)?,
        }
        write!(
            f,
            " Request device [{:04x}:{}] fault addr {:#x} [fault reason {:#04x}] {}",
            self.segment, r.sid, r.addr, r.reason, text
        )
    }
}

/// The kind and a description of fault reason `fr`, from the fault reason tables of the VT-d
/// specification (legacy-mode, interrupt-remapping and scalable-mode reasons).
pub(crate) const fn reason(fr: u8) -> (ReasonKind, &'static str) {
    use ReasonKind::*;
    let (kind, text) = match fr {
        0x01 => (Dma, "Root entry not present"),
        0x02 => (Dma, "Context entry not present"),
        0x03 => (Dma, "Invalid context entry"),
        0x04 => (Dma, "Address beyond the guest address width"),
        0x05 => (Dma, "Write to a page without write permission"),
        0x06 => (Dma, "Read from a page without read permission"),
        0x07 => (Dma, "Cannot access a second-level paging entry"),
        0x08 => (Dma, "Cannot access the root table"),
        0x09 => (Dma, "Cannot access the context table"),
        0x0a => (Dma, "Reserved field set in a root entry"),
        0x0b => (Dma, "Reserved field set in a context entry"),
        0x0c => (Dma, "Reserved field set in a second-level paging entry"),
        0x0d => (Dma, "Translation request blocked by its context entry"),
        0x20 => (Interrupt, "Reserved field set in the interrupt request"),
        0x21 => (Interrupt, "Interrupt index beyond the table size"),
        0x22 => (Interrupt, "Interrupt remapping table entry not present"),
        0x23 => (Interrupt, "Cannot access the interrupt remapping table"),
        0x24 => (
            Interrupt,
            "Reserved field set in an interrupt remapping table entry",
        ),
        0x25 => (Interrupt, "Compatibility format interrupt blocked"),
        0x26 => (Interrupt, "Interrupt blocked by source-id validation"),
        0x30 => (Dma, "SM: Invalid root table address"),
        0x31 => (Dma, "SM: Request with PASID while in legacy mode"),
        0x32 => (Dma, "SM: Page request while in legacy mode"),
        0x38 => (Dma, "SM: Cannot access the root entry"),
        0x39 => (Dma, "SM: Root entry not present"),
        0x3a => (Dma, "SM: Reserved field set in the root entry"),
        0x40 => (Dma, "SM: Cannot access the context entry"),
        0x41 => (Dma, "SM: Context entry not present"),
        0x42 => (Dma, "SM: Reserved field set in the context entry"),
        0x43 => (Dma, "SM: Invalid context entry"),
        0x44 => (
            Dma,
            "SM: Translation request with DTE clear in the context entry",
        ),
        0x45 => (
            Dma,
            "SM: Request with PASID with PASIDE clear in the context entry",
        ),
        0x46 => (
            Dma,
            "SM: PASID beyond the directory size of the context entry",
        ),
        0x47 => (Dma, "SM: Page request with PRE clear in the context entry"),
        0x48 => (Dma, "SM: Invalid RID_PASID in the context entry"),
        0x50 => (Dma, "SM: Cannot access the PASID directory entry"),
        0x51 => (Dma, "SM: PASID directory entry not present"),
        0x52 => (Dma, "SM: Reserved field set in the PASID directory entry"),
        0x58 => (Dma, "SM: Cannot access the PASID table entry"),
        0x59 => (Dma, "SM: PASID table entry not present"),
        0x5a => (Dma, "SM: Reserved field set in the PASID table entry"),
        0x5b => (Dma, "SM: Invalid PASID table entry"),
        0x5c => (
            Dma,
            "SM: Execute request with ERE clear in the PASID table entry",
        ),
        0x5d => (
            Dma,
            "SM: Supervisor request with SRE clear in the PASID table entry",
        ),
        0x70 => (Dma, "SM: Cannot access a first-stage paging entry"),
        0x71 => (Dma, "SM: First-stage paging entry not present"),
        0x72 => (Dma, "SM: Reserved field set in a first-stage paging entry"),
        0x73 => (
            Dma,
            "SM: Cannot access the first-stage table root in nesting",
        ),
        0x74 => (
            Dma,
            "SM: First-stage entry address beyond the second stage in nesting",
        ),
        0x75 => (Dma, "SM: First-stage table root not readable in nesting"),
        0x76 => (Dma, "SM: First-stage paging entry not readable in nesting"),
        0x77 => (Dma, "SM: First-stage paging entry not writable in nesting"),
        0x78 => (Dma, "SM: Cannot access a second-stage paging entry"),
        0x79 => (
            Dma,
            "SM: Second-stage paging entry lacks read or write permission",
        ),
        0x7a => (Dma, "SM: Reserved field set in a second-stage paging entry"),
        0x7b => (Dma, "SM: Invalid second-stage table root"),
        0x7c => (
            Dma,
            "SM: Second-stage A/D update needed on a non-snooped walk",
        ),
        0x80 => (Dma, "SM: Non-canonical first-stage input address"),
        0x81 => (Dma, "SM: User request to a supervisor first-stage page"),
        0x82 => (
            Dma,
            "SM: Execute request to a page without execute permission",
        ),
        0x83 => (Dma, "SM: Address beyond the unit's address width"),
        0x84 => (
            Dma,
            "SM: Second-stage output address beyond the address width",
        ),
        0x85 => (Dma, "SM: Write or atomic request without write permission"),
        0x86 => (Dma, "SM: Read or atomic request without read permission"),
        0x87 => (Dma, "SM: Invalid interrupt address"),
        0x90 => (
            Dma,
            "SM: First-stage A/D update needed on a non-snooped walk",
        ),
        _ => (Unknown, "Unknown"),
    };
    (kind, text)
}
