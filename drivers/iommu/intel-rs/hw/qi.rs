// SPDX-License-Identifier: GPL-2.0

//! Invalidation queue descriptors.
//!
//! A descriptor is 128 bits in legacy mode and 256 bits when `IQA.DW` is set, which scalable
//! mode requires. Every descriptor built here has its upper 128 bits zero, so the driver copies
//! 2 or 4 qwords of [`Desc::words`] depending on the queue's width. The type is in bits 3:0
//! (and 11:9, zero for every type below) of qword 0.

use crate::hw::{
    field::{
        encoding,
        Bit,
        Field, //
    },
    ids::{
        DomainId,
        Pasid,
        SourceId, //
    },
    regs::Cap,
    Error,
};

/// The number of qwords of a 256-bit descriptor.
pub(crate) const DESC_QWORDS: usize = 4;

/// The 4KB page shift of every address in a descriptor.
const PAGE_SHIFT: u32 = 12;

/// The size order (log2 of a number of 4KB pages) that covers the whole 64-bit address space.
pub(crate) const ORDER_ALL: u32 = 64 - PAGE_SHIFT;

/// Descriptor type, bits 3:0.
const TYPE: Field<0, 3, 0> = Field;
/// Granularity of most invalidations, bits 5:4.
const GRAN: Field<0, 5, 4> = Field;
/// `DID` of context-cache, IOTLB, PASID-based IOTLB and PASID-cache invalidations.
const DID: Field<0, 31, 16> = Field;
/// Context-cache `SID`.
const CC_SID: Field<0, 47, 32> = Field;
/// Context-cache `FM`: function mask.
const CC_FM: Field<0, 49, 48> = Field;
/// IOTLB `DW`: drain writes.
const IOTLB_DW: Bit<0, 6> = Field;
/// IOTLB `DR`: drain reads.
const IOTLB_DR: Bit<0, 7> = Field;
/// `PASID` of PASID-based IOTLB, PASID-cache and PASID-based device-TLB invalidations.
const PASID: Field<0, 51, 32> = Field;
/// `AM`: address mask, `2^AM` pages are invalidated.
const AM: Field<1, 5, 0> = Field;
/// `IH`: invalidation hint, only leaf entries changed.
const IH: Bit<1, 6> = Field;
/// `ADDR` of IOTLB, PASID-based IOTLB and device-TLB invalidations.
const ADDR: Field<1, 63, 12> = Field;
/// Device-TLB `PFSID[3:0]`.
const PFSID_LO: Field<0, 15, 12> = Field;
/// Device-TLB `PFSID[15:4]`.
const PFSID_HI: Field<0, 63, 52> = Field;
/// Device-TLB `MIP`: max invalidations pending.
const DTLB_MIP: Field<0, 20, 16> = Field;
/// Device-TLB `SID`.
const DTLB_SID: Field<0, 47, 32> = Field;
/// Device-TLB `S`: the address encodes a range.
const DTLB_S: Bit<1, 0> = Field;
/// PASID-based device-TLB `MIP`.
const PDTLB_MIP: Field<0, 8, 4> = Field;
/// PASID-based device-TLB `SID`.
const PDTLB_SID: Field<0, 31, 16> = Field;
/// PASID-based device-TLB `G`: also global mappings.
const PDTLB_G: Bit<1, 0> = Field;
/// PASID-based device-TLB `S`.
const PDTLB_S: Bit<1, 11> = Field;
/// Interrupt entry cache `G`: index-selective when set.
const IEC_G: Bit<0, 4> = Field;
/// Interrupt entry cache `IM`: index mask.
const IEC_IM: Field<0, 31, 27> = Field;
/// Interrupt entry cache `IIDX`: interrupt index.
const IEC_IIDX: Field<0, 47, 32> = Field;
/// Invalidation wait `IF`: interrupt on completion.
const WAIT_IF: Bit<0, 4> = Field;
/// Invalidation wait `SW`: status write on completion.
const WAIT_SW: Bit<0, 5> = Field;
/// Invalidation wait `FN`: fence, later descriptors wait for this one.
const WAIT_FN: Bit<0, 6> = Field;
/// Invalidation wait `PD`: page-request drain.
const WAIT_PD: Bit<0, 7> = Field;
/// Invalidation wait `Status Data`.
const WAIT_SDATA: Field<0, 63, 32> = Field;
/// Invalidation wait `Status Address`, 4-byte aligned.
const WAIT_SADDR: Field<1, 63, 2> = Field;

encoding! {
    /// Descriptor types.
    pub(crate) enum DescType {
        /// Context-cache invalidate.
        ContextCache = 0x1,
        /// IOTLB invalidate.
        Iotlb = 0x2,
        /// Device-TLB invalidate.
        DevTlb = 0x3,
        /// Interrupt entry cache invalidate.
        InterruptEntryCache = 0x4,
        /// Invalidation wait.
        Wait = 0x5,
        /// PASID-based IOTLB invalidate.
        PasidIotlb = 0x6,
        /// PASID-cache invalidate.
        PasidCache = 0x7,
        /// PASID-based device-TLB invalidate.
        PasidDevTlb = 0x8,
        /// Page group response.
        PageGroupResponse = 0x9,
    }
}

/// Context-cache invalidation granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ContextScope {
    /// Every context entry.
    Global,
    /// The entries of one domain.
    Domain(DomainId),
    /// One device's entry (and those of the functions `fm` masks out of `sid`'s function
    /// number: 0 none, 1 bit 2, 2 bits 2:1, 3 bits 2:0).
    Device {
        /// The domain the entry was in.
        did: DomainId,
        /// The device.
        sid: SourceId,
        /// Function mask.
        fm: u8,
    },
}

/// IOTLB invalidation granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IotlbScope {
    /// Every IOTLB entry.
    Global,
    /// The entries of one domain.
    Domain(DomainId),
    /// `2^am` pages at `addr`, which is aligned to their size.
    Pages {
        /// The domain.
        did: DomainId,
        /// The first address, aligned to `2^(12 + am)`.
        addr: u64,
        /// Address mask: log2 of the number of 4KB pages.
        am: u8,
        /// Only leaf entries changed (`IH`).
        ih: bool,
    },
}

/// PASID-cache invalidation granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PasidCacheScope {
    /// Every PASID entry of the domain (`G` = 00).
    Domain(DomainId),
    /// One PASID of the domain (`G` = 01).
    Pasid(DomainId, Pasid),
    /// Every PASID entry (`G` = 11).
    Global,
}

/// An invalidation queue descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Desc([u64; DESC_QWORDS]);

/// Returns `Err` if `addr` is not aligned to `2^(12 + order)` bytes.
const fn check_aligned(addr: u64, order: u32) -> Result<(), Error> {
    if order >= ORDER_ALL {
        if addr != 0 {
            return Err(Error::BadAddress);
        }
    } else if addr & ((1u64 << (PAGE_SHIFT + order)) - 1) != 0 {
        return Err(Error::BadAddress);
    }
    Ok(())
}

/// Writes a source-id of the function a device-TLB invalidation is for (`PFSID`).
const fn set_pfsid(w: &mut [u64; DESC_QWORDS], pfsid: SourceId) {
    // CAST: Widening `u16` to `u64` is lossless; `From` is not usable in a `const fn`.
    let raw = pfsid.raw() as u64;
    PFSID_LO.set_truncated(w, raw & 0xf);
    PFSID_HI.set_truncated(w, raw >> 4);
}

/// The `MIP` value for an ATS invalidate queue depth: a depth of 32 or more is encoded as 0,
/// as ATS encodes it and as the C driver does.
const fn mip(qdep: u8) -> u64 {
    if qdep >= 32 {
        0
    } else {
        // CAST: Widening `u8` to `u64` is lossless; `From` is not usable in a `const fn`.
        qdep as u64
    }
}

/// The address field of a device-TLB invalidation of `2^order` pages at `addr`, and its `S`
/// bit. With `S` set, the lowest clear bit of the address from bit 12 up gives the size: the
/// bits below it are set, so `2^order` pages have bit `12 + order - 1` clear and the bits
/// below it set.
///
/// # Errors
///
/// Returns [`Error::BadAddress`] if `addr` is not aligned to the range and
/// [`Error::Overflow`] if `order` is above [`ORDER_ALL`].
pub(crate) const fn dev_tlb_range(addr: u64, order: u32) -> Result<(u64, bool), Error> {
    if order > ORDER_ALL {
        return Err(Error::Overflow);
    }
    if let Err(e) = check_aligned(addr, order) {
        return Err(e);
    }
    if order == 0 {
        return Ok((addr, false));
    }
    // Bits 12 up to `12 + order - 2` set; bit `12 + order - 1` stays clear (`addr` is aligned).
    let ones = ((1u64 << (order - 1)) - 1) << PAGE_SHIFT;
    Ok((addr | ones, true))
}

impl Desc {
    /// A descriptor of arbitrary qwords, for tests that make a unit reject one.
    #[cfg(any(test, CONFIG_KUNIT = "y"))]
    pub(crate) const fn from_words(w: [u64; DESC_QWORDS]) -> Self {
        Self(w)
    }

    /// The descriptor's four qwords; a 128-bit queue takes the first two.
    pub(crate) const fn words(&self) -> &[u64; DESC_QWORDS] {
        &self.0
    }

    /// The descriptor's type, `None` for a type this layer does not know.
    pub(crate) const fn kind(&self) -> Option<DescType> {
        DescType::from_raw(TYPE.get(&self.0))
    }

    /// A descriptor of type `kind` with nothing else set.
    const fn of(kind: DescType) -> [u64; DESC_QWORDS] {
        let mut w = [0; DESC_QWORDS];
        TYPE.set_truncated(&mut w, kind.raw());
        w
    }

    /// Context-cache invalidation.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Overflow`] if a device-selective `fm` is above 3.
    pub(crate) const fn context(scope: ContextScope) -> Result<Self, Error> {
        let mut w = Self::of(DescType::ContextCache);
        match scope {
            ContextScope::Global => GRAN.set_truncated(&mut w, 1),
            ContextScope::Domain(did) => {
                GRAN.set_truncated(&mut w, 2);
                DID.set_u16(&mut w, did.raw());
            }
            ContextScope::Device { did, sid, fm } => {
                // CAST: Widening `u8` to `u64` is lossless; `From` is not usable in a `const fn`.
                if let Err(e) = CC_FM.set(&mut w, fm as u64) {
                    return Err(e);
                }
                GRAN.set_truncated(&mut w, 3);
                DID.set_u16(&mut w, did.raw());
                CC_SID.set_u16(&mut w, sid.raw());
            }
        }
        Ok(Self(w))
    }

    /// IOTLB invalidation; `drain` sets `DR` and `DW`, which the C driver sets whenever
    /// `CAP.DRD` and `CAP.DWD` say the unit can drain.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Overflow`] if `am` does not fit its 6 bits and [`Error::BadAddress`] if
    /// `addr` is not aligned to `2^(12 + am)`.
    pub(crate) const fn iotlb(scope: IotlbScope, drain: Drain) -> Result<Self, Error> {
        let mut w = Self::of(DescType::Iotlb);
        IOTLB_DR.set_bool(&mut w, drain.read);
        IOTLB_DW.set_bool(&mut w, drain.write);
        match scope {
            IotlbScope::Global => GRAN.set_truncated(&mut w, 1),
            IotlbScope::Domain(did) => {
                GRAN.set_truncated(&mut w, 2);
                DID.set_u16(&mut w, did.raw());
            }
            IotlbScope::Pages { did, addr, am, ih } => {
                // CAST: Widening `u8` to `u64` is lossless; `From` is not usable in a `const fn`.
                if let Err(e) = AM.set(&mut w, am as u64) {
                    return Err(e);
                }
                // CAST: As above.
                if let Err(e) = check_aligned(addr, am as u32) {
                    return Err(e);
                }
                if let Err(e) = ADDR.set_addr(&mut w, addr) {
                    return Err(e);
                }
                GRAN.set_truncated(&mut w, 3);
                DID.set_u16(&mut w, did.raw());
                IH.set_bool(&mut w, ih);
            }
        }
        Ok(Self(w))
    }

    /// PASID-based IOTLB invalidation of every non-global entry of `pasid` in `did`
    /// (`G` = 10), or of `2^am` pages at `addr` (`G` = 11) when `pages` is given.
    ///
    /// # Errors
    ///
    /// As [`Desc::iotlb`].
    pub(crate) const fn pasid_iotlb(
        did: DomainId,
        pasid: Pasid,
        pages: Option<(u64, u8, bool)>,
    ) -> Result<Self, Error> {
        let mut w = Self::of(DescType::PasidIotlb);
        DID.set_u16(&mut w, did.raw());
        // CAST: Widening `u32` to `u64` is lossless; `From` is not usable in a `const fn`.
        PASID.set_truncated(&mut w, pasid.raw() as u64);
        match pages {
            None => GRAN.set_truncated(&mut w, 2),
            Some((addr, am, ih)) => {
                // CAST: Widening `u8` to `u64` is lossless; `From` is not usable in a `const fn`.
                if let Err(e) = AM.set(&mut w, am as u64) {
                    return Err(e);
                }
                // CAST: As above.
                if let Err(e) = check_aligned(addr, am as u32) {
                    return Err(e);
                }
                if let Err(e) = ADDR.set_addr(&mut w, addr) {
                    return Err(e);
                }
                GRAN.set_truncated(&mut w, 3);
                IH.set_bool(&mut w, ih);
            }
        }
        Ok(Self(w))
    }

    /// Device-TLB (ATS) invalidation of `2^order` pages at `addr` for the device `sid`, whose
    /// physical function is `pfsid` (the device itself unless it is a VF), with ATS
    /// invalidate queue depth `qdep`.
    ///
    /// # Errors
    ///
    /// As [`dev_tlb_range`].
    pub(crate) const fn dev_tlb(
        sid: SourceId,
        pfsid: SourceId,
        qdep: u8,
        addr: u64,
        order: u32,
    ) -> Result<Self, Error> {
        let (a, s) = match dev_tlb_range(addr, order) {
            Ok(r) => r,
            Err(e) => return Err(e),
        };
        let mut w = Self::of(DescType::DevTlb);
        DTLB_SID.set_u16(&mut w, sid.raw());
        DTLB_MIP.set_truncated(&mut w, mip(qdep));
        set_pfsid(&mut w, pfsid);
        ADDR.set_truncated(&mut w, a >> PAGE_SHIFT);
        DTLB_S.set_bool(&mut w, s);
        Ok(Self(w))
    }

    /// PASID-based device-TLB invalidation; as [`Desc::dev_tlb`] for requests with `pasid`,
    /// `global` also invalidating global mappings.
    ///
    /// # Errors
    ///
    /// As [`dev_tlb_range`].
    pub(crate) const fn pasid_dev_tlb(
        sid: SourceId,
        pfsid: SourceId,
        pasid: Pasid,
        qdep: u8,
        addr: u64,
        order: u32,
        global: bool,
    ) -> Result<Self, Error> {
        let (a, s) = match dev_tlb_range(addr, order) {
            Ok(r) => r,
            Err(e) => return Err(e),
        };
        let mut w = Self::of(DescType::PasidDevTlb);
        PDTLB_SID.set_u16(&mut w, sid.raw());
        PDTLB_MIP.set_truncated(&mut w, mip(qdep));
        set_pfsid(&mut w, pfsid);
        // CAST: Widening `u32` to `u64` is lossless; `From` is not usable in a `const fn`.
        PASID.set_truncated(&mut w, pasid.raw() as u64);
        ADDR.set_truncated(&mut w, a >> PAGE_SHIFT);
        PDTLB_S.set_bool(&mut w, s);
        PDTLB_G.set_bool(&mut w, global);
        Ok(Self(w))
    }

    /// PASID-cache invalidation.
    pub(crate) const fn pasid_cache(scope: PasidCacheScope) -> Self {
        let mut w = Self::of(DescType::PasidCache);
        match scope {
            PasidCacheScope::Domain(did) => DID.set_u16(&mut w, did.raw()),
            PasidCacheScope::Pasid(did, pasid) => {
                GRAN.set_truncated(&mut w, 1);
                DID.set_u16(&mut w, did.raw());
                // CAST: Widening `u32` to `u64` is lossless; `From` is not usable in a `const fn`.
                PASID.set_truncated(&mut w, pasid.raw() as u64);
            }
            PasidCacheScope::Global => GRAN.set_truncated(&mut w, 3),
        }
        Self(w)
    }

    /// Interrupt entry cache invalidation: global, or of `2^im` entries from `index`.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Overflow`] if `im` does not fit its 5 bits and [`Error::BadAddress`]
    /// if `index` is not aligned to `2^im`.
    pub(crate) const fn iec(entries: Option<(u16, u8)>) -> Result<Self, Error> {
        let mut w = Self::of(DescType::InterruptEntryCache);
        if let Some((index, im)) = entries {
            // CAST: Widening `u8` to `u64` is lossless; `From` is not usable in a `const fn`.
            if let Err(e) = IEC_IM.set(&mut w, im as u64) {
                return Err(e);
            }
            // CAST: As above; `im` is below 32 here.
            if index as u32 & ((1u32 << im) - 1) != 0 {
                return Err(Error::BadAddress);
            }
            IEC_G.set_bool(&mut w, true);
            IEC_IIDX.set_u16(&mut w, index);
        }
        Ok(Self(w))
    }

    /// Invalidation wait. With `status`, the unit writes the 32-bit `data` to the 4-byte
    /// aligned address once every earlier descriptor completed (`SW`); `irq` raises the
    /// completion interrupt (`IF`), `fence` holds later descriptors back (`FN`), and
    /// `page_drain` drains page requests (`PD`).
    ///
    /// # Errors
    ///
    /// Returns [`Error::BadAddress`] if the status address is not 4-byte aligned.
    pub(crate) const fn wait(
        status: Option<(u64, u32)>,
        irq: bool,
        fence: bool,
        page_drain: bool,
    ) -> Result<Self, Error> {
        let mut w = Self::of(DescType::Wait);
        if let Some((addr, data)) = status {
            if let Err(e) = WAIT_SADDR.set_addr(&mut w, addr) {
                return Err(e);
            }
            WAIT_SW.set_bool(&mut w, true);
            WAIT_SDATA.set_u32(&mut w, data);
        }
        WAIT_IF.set_bool(&mut w, irq);
        WAIT_FN.set_bool(&mut w, fence);
        WAIT_PD.set_bool(&mut w, page_drain);
        Ok(Self(w))
    }
}

/// Whether IOTLB invalidations drain reads and writes (`DR`, `DW`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Drain {
    /// Drain reads.
    pub(crate) read: bool,
    /// Drain writes.
    pub(crate) write: bool,
}

impl Drain {
    /// What the C driver asks for: draining wherever the unit supports it.
    pub(crate) const fn from_cap(cap: Cap) -> Self {
        Self {
            read: cap.read_drain(),
            write: cap.write_drain(),
        }
    }
}

/// The naturally aligned range of `2^order` pages that covers the bytes `start..=last`, as
/// `(address, order)`; [`ORDER_ALL`] (with address 0) when only the whole address space
/// covers it. This is the C driver's `calculate_psi_aligned_address()`.
pub(crate) const fn psi_range(start: u64, last: u64) -> (u64, u32) {
    let start = start & !((1u64 << PAGE_SHIFT) - 1);
    let diff = start ^ last;
    // The bit length of `diff`: the lowest power of two whose aligned block holds both ends.
    let len = 64 - diff.leading_zeros();
    if len <= PAGE_SHIFT {
        (start, 0)
    } else if len >= 64 {
        (0, ORDER_ALL)
    } else {
        (start & !((1u64 << len) - 1), len - PAGE_SHIFT)
    }
}

/// The IOTLB invalidation the C driver issues for `start..=last` of domain `did`: page
/// selective when `CAP.PSI` is set and the range's address mask is within `CAP.MAMV`, else
/// domain selective.
pub(crate) const fn iotlb_scope(
    cap: Cap,
    did: DomainId,
    start: u64,
    last: u64,
    ih: bool,
) -> IotlbScope {
    let (addr, order) = psi_range(start, last);
    // CAST: Widening `u8` to `u32` is lossless.
    if !cap.psi() || order > cap.mamv() as u32 {
        IotlbScope::Domain(did)
    } else {
        IotlbScope::Pages {
            did,
            addr,
            // CAST: `order` is at most `MAMV`, a 6-bit value.
            am: order as u8,
            ih,
        }
    }
}

/// The pages of a PASID-based IOTLB invalidation ([`Desc::pasid_iotlb`]) the C driver issues
/// for `start..=last` (for first-stage and pass-through translation): page selective, as
/// `(address, AM, IH)`, whatever `CAP.PSI` and `CAP.MAMV` say, or `None` (every entry of the
/// PASID in the domain) when only the whole address space covers the range.
pub(crate) const fn pasid_iotlb_pages(start: u64, last: u64, ih: bool) -> Option<(u64, u8, bool)> {
    let (addr, order) = psi_range(start, last);
    if order >= ORDER_ALL {
        None
    } else {
        // CAST: `order` is below `ORDER_ALL`, 52.
        Some((addr, order as u8, ih))
    }
}
