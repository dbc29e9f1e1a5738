// SPDX-License-Identifier: GPL-2.0

//! Command queue entries.
//!
//! A command is 2 qwords. Qword 0 holds the opcode in bits 7:0 and, for most commands, the
//! StreamID in bits 63:32 and the SubstreamID in bits 31:12; qword 1 holds addresses and sizes.

use crate::hw::{
    attr::Shareability,
    field::{
        encoding,
        Bit,
        Field, //
    },
    ids::Ssid,
    Error,
};

/// The number of qwords of a command.
pub(crate) const CMD_QWORDS: usize = 2;

/// `OP`: the opcode, see [`Opcode`].
pub(crate) const OP: Field<0, 7, 0> = Field;
/// `ATC_INV.Global`: also invalidate global ATC entries.
pub(crate) const GLOBAL: Bit<0, 9> = Field;
/// `SSV`: the SubstreamID field is valid.
pub(crate) const SSV: Bit<0, 11> = Field;
/// `SubstreamID`.
pub(crate) const SSID: Field<0, 31, 12> = Field;
/// `StreamID`.
pub(crate) const SID: Field<0, 63, 32> = Field;
/// `NUM`: the range holds `NUM + 1` blocks of `2^SCALE` pages.
pub(crate) const NUM: Field<0, 16, 12> = Field;
/// `SCALE`: log2 of the block size of a range, in pages.
pub(crate) const SCALE: Field<0, 24, 20> = Field;
/// `VMID`.
pub(crate) const VMID: Field<0, 47, 32> = Field;
/// `ASID`.
pub(crate) const ASID: Field<0, 63, 48> = Field;
/// `CMD_SYNC.CS`: completion signal, see [`SyncCompletion`].
pub(crate) const SYNC_CS: Field<0, 13, 12> = Field;
/// `CMD_SYNC.MSH`: shareability of the completion MSI write.
pub(crate) const SYNC_MSH: Field<0, 23, 22> = Field;
/// `CMD_SYNC.MSIAttr`: memory attributes of the completion MSI write.
pub(crate) const SYNC_MSIATTR: Field<0, 27, 24> = Field;
/// `CMD_SYNC.MSIData`: the data of the completion MSI write.
pub(crate) const SYNC_MSIDATA: Field<0, 63, 32> = Field;
/// `CMD_RESUME.Action`: how a stalled transaction resumes, see [`ResumeAction`].
pub(crate) const RESUME_ACTION: Field<0, 13, 12> = Field;

/// `Leaf`: only leaf entries are affected.
pub(crate) const LEAF: Bit<1, 0> = Field;
/// `CMD_CFGI_STE_RANGE.Range`: `2^(Range + 1)` StreamIDs are invalidated.
pub(crate) const CFGI_RANGE: Field<1, 4, 0> = Field;
/// `TTL`: level of the leaf entries being invalidated, 0 when unknown.
pub(crate) const TTL: Field<1, 9, 8> = Field;
/// `TG`: translation granule of a range invalidation, 0 for a single address.
pub(crate) const TG: Field<1, 11, 10> = Field;
/// `Address` of a TLB invalidation by VA, bits 63:12.
pub(crate) const VA: Field<1, 63, 12> = Field;
/// `Address` of a TLB invalidation by IPA, bits 51:12.
pub(crate) const IPA: Field<1, 51, 12> = Field;
/// `ATC_INV.Size`: `2^Size` 4KB pages are invalidated.
pub(crate) const ATC_SIZE: Field<1, 5, 0> = Field;
/// `ATC_INV.Address`, bits 63:12.
pub(crate) const ATC_ADDR: Field<1, 63, 12> = Field;
/// `PRI_RESP.PRGI`: the page request group index.
pub(crate) const PRI_GRPID: Field<1, 8, 0> = Field;
/// `PRI_RESP.Resp`: the response code, see [`PriResp`].
pub(crate) const PRI_RESP: Field<1, 13, 12> = Field;
/// `CMD_RESUME.STAG`: the stall tag from the fault event.
pub(crate) const RESUME_STAG: Field<1, 15, 0> = Field;
/// `CMD_SYNC.MSIAddress`, bits 51:2.
pub(crate) const SYNC_MSIADDR: Field<1, 51, 2> = Field;

/// `ATC_INV.Size` value that invalidates the whole address space.
pub(crate) const ATC_INV_SIZE_ALL: u8 = 52;

/// `CMD_CFGI_STE_RANGE.Range` value that invalidates every StreamID (`CMD_CFGI_ALL`).
pub(crate) const CFGI_RANGE_ALL: u8 = 31;

/// `CMD_SYNC.MSIAttr` value for Normal memory, inner and outer write-back cacheable.
pub(crate) const MEMATTR_OIWB: u64 = 0xf;

encoding! {
    /// The `CMD_SYNC.CS` field.
    pub(crate) enum SyncCs {
        /// No completion signal.
        None = 0,
        /// Completion is signalled with an interrupt (an MSI when an address is given).
        Irq = 1,
        /// Completion is signalled with a send-event.
        Sev = 2,
    }
}

encoding! {
    /// Command opcodes.
    pub(crate) enum Opcode {
        /// `CMD_PREFETCH_CONFIG`.
        PrefetchConfig = 0x01,
        /// `CMD_PREFETCH_ADDR`.
        PrefetchAddr = 0x02,
        /// `CMD_CFGI_STE`.
        CfgiSte = 0x03,
        /// `CMD_CFGI_STE_RANGE`, and `CMD_CFGI_ALL` with the largest range.
        CfgiSteRange = 0x04,
        /// `CMD_CFGI_CD`.
        CfgiCd = 0x05,
        /// `CMD_CFGI_CD_ALL`.
        CfgiCdAll = 0x06,
        /// `CMD_CFGI_VMS_PIDM`.
        CfgiVmsPidm = 0x07,
        /// `CMD_TLBI_NH_ALL`.
        TlbiNhAll = 0x10,
        /// `CMD_TLBI_NH_ASID`.
        TlbiNhAsid = 0x11,
        /// `CMD_TLBI_NH_VA`.
        TlbiNhVa = 0x12,
        /// `CMD_TLBI_NH_VAA`.
        TlbiNhVaa = 0x13,
        /// `CMD_TLBI_EL3_ALL`.
        TlbiEl3All = 0x18,
        /// `CMD_TLBI_EL3_VA`.
        TlbiEl3Va = 0x1a,
        /// `CMD_TLBI_EL2_ALL`.
        TlbiEl2All = 0x20,
        /// `CMD_TLBI_EL2_ASID`.
        TlbiEl2Asid = 0x21,
        /// `CMD_TLBI_EL2_VA`.
        TlbiEl2Va = 0x22,
        /// `CMD_TLBI_EL2_VAA`.
        TlbiEl2Vaa = 0x23,
        /// `CMD_TLBI_S12_VMALL`.
        TlbiS12Vmall = 0x28,
        /// `CMD_TLBI_S2_IPA`.
        TlbiS2Ipa = 0x2a,
        /// `CMD_TLBI_NSNH_ALL`.
        TlbiNsnhAll = 0x30,
        /// `CMD_ATC_INV`.
        AtcInv = 0x40,
        /// `CMD_PRI_RESP`.
        PriResp = 0x41,
        /// `CMD_RESUME`.
        Resume = 0x44,
        /// `CMD_STALL_TERM`.
        StallTerm = 0x45,
        /// `CMD_SYNC`.
        Sync = 0x46,
    }
}

encoding! {
    /// The response of `CMD_PRI_RESP`.
    pub(crate) enum PriResp {
        /// Invalid Request: the page request is refused.
        Deny = 0,
        /// Response Failure: the endpoint disables PRI.
        Fail = 1,
        /// Success: the pages are now available.
        Success = 2,
    }
}

encoding! {
    /// How `CMD_RESUME` resumes a stalled transaction.
    pub(crate) enum ResumeAction {
        /// The transaction is terminated, with the stream's abort behaviour.
        Terminate = 0,
        /// The transaction is retried.
        Retry = 1,
        /// The transaction is aborted.
        Abort = 2,
    }
}

/// The answer to a page fault (a page request group, or a stalled transaction), as the IOMMU
/// core gives it (`enum iommu_page_response_code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultResponse {
    /// The fault was handled: the access may be retried.
    Success,
    /// The fault cannot be handled: do not retry.
    Invalid,
    /// Handling failed for good: the device should stop asking.
    Failure,
}

impl FaultResponse {
    /// The `CMD_PRI_RESP` response for `code` (`None`: a code the core does not define, which
    /// is refused).
    pub(crate) const fn pri_resp(code: Option<Self>) -> PriResp {
        match code {
            Some(Self::Success) => PriResp::Success,
            Some(Self::Failure) => PriResp::Fail,
            Some(Self::Invalid) | None => PriResp::Deny,
        }
    }

    /// The `CMD_RESUME` action for `code`, as the C driver's `arm_smmu_page_response()`: a
    /// handled fault is retried, one that cannot be handled is aborted (the device sees the
    /// abort), and a code the core does not define terminates the transaction as the stream's
    /// configuration says (`CD.A`).
    pub(crate) const fn resume_action(code: Option<Self>) -> ResumeAction {
        match code {
            Some(Self::Success) => ResumeAction::Retry,
            Some(Self::Invalid | Self::Failure) => ResumeAction::Abort,
            None => ResumeAction::Terminate,
        }
    }
}

/// How a `CMD_SYNC` signals its completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SyncCompletion {
    /// No signal; software polls the queue's consumer index.
    None,
    /// An MSI write of `data` to `addr` (4-byte aligned, below 2^52), inner shareable write-back.
    Msi {
        /// The MSI target address.
        addr: u64,
        /// The data written.
        data: u32,
    },
    /// A send-event (SEV) to wake CPUs waiting in WFE.
    Sev,
}

/// The TLB invalidations that take an address, and the identifiers they match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddrTlbi {
    /// `CMD_TLBI_NH_VA`: a stage 1 address of one ASID in one VMID.
    NhVa {
        /// The ASID.
        asid: u16,
        /// The VMID.
        vmid: u16,
    },
    /// `CMD_TLBI_NH_VAA`: a stage 1 address of any ASID in one VMID.
    NhVaa {
        /// The VMID.
        vmid: u16,
    },
    /// `CMD_TLBI_EL2_VA`: an EL2 stage 1 address of one ASID.
    El2Va {
        /// The ASID.
        asid: u16,
    },
    /// `CMD_TLBI_S2_IPA`: a stage 2 address of one VMID.
    S2Ipa {
        /// The VMID.
        vmid: u16,
    },
}

impl AddrTlbi {
    /// Returns the command that invalidates everything this kind of invalidation can reach.
    ///
    /// It replaces a range invalidation that would need too many commands.
    pub(crate) const fn whole(self) -> Cmd {
        match self {
            Self::NhVa { asid, vmid } => Cmd::tlbi_nh_asid(asid, vmid),
            Self::NhVaa { vmid } => Cmd::tlbi_nh_all(vmid),
            Self::El2Va { asid } => Cmd::tlbi_el2_asid(asid),
            Self::S2Ipa { vmid } => Cmd::tlbi_s12_vmall(vmid),
        }
    }
}

/// The address part of a TLB invalidation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TlbiAddr {
    /// The address; bits 11:0 are ignored.
    pub(crate) addr: u64,
    /// Only leaf entries are invalidated.
    pub(crate) leaf: bool,
    /// `NUM` of a range (`NUM + 1` blocks), at most 31; 0 without a range.
    pub(crate) num: u8,
    /// `SCALE` of a range (blocks of `2^SCALE` pages), at most 31; 0 without a range.
    pub(crate) scale: u8,
    /// `TG`: 0 for a single address, 1, 2 or 3 for 4KB, 16KB or 64KB range pages.
    pub(crate) tg: u8,
    /// `TTL`: the level of the leaf entries, 0 when unknown.
    pub(crate) ttl: u8,
}

/// A command, in CPU byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cmd([u64; CMD_QWORDS]);

impl Cmd {
    /// Wraps raw qwords.
    pub(crate) const fn from_words(words: [u64; CMD_QWORDS]) -> Self {
        Self(words)
    }

    /// Returns the raw qwords.
    pub(crate) const fn words(&self) -> &[u64; CMD_QWORDS] {
        &self.0
    }

    /// Returns the decoded opcode, or `None` for an unknown one.
    pub(crate) const fn opcode(&self) -> Option<Opcode> {
        Opcode::from_raw(OP.get(&self.0))
    }

    /// Returns the StreamID field.
    pub(crate) const fn sid(&self) -> u32 {
        // CAST: The field is 32 bits wide.
        SID.get(&self.0) as u32
    }

    /// A command with only the opcode set.
    pub(crate) const fn op(op: Opcode) -> Self {
        let mut w = [0; CMD_QWORDS];
        // Every opcode fits the 8-bit field.
        OP.set_truncated(&mut w, op.raw());
        Self(w)
    }

    /// A command with the opcode and StreamID set.
    const fn op_sid(op: Opcode, sid: u32) -> Self {
        let mut cmd = Self::op(op);
        SID.set_u32(&mut cmd.0, sid);
        cmd
    }

    /// A command with the opcode, StreamID and an optional SubstreamID set.
    const fn op_sid_ssid(op: Opcode, sid: u32, ssid: Option<Ssid>) -> Self {
        let mut cmd = Self::op_sid(op, sid);
        if let Some(ssid) = ssid {
            SSV.set_bool(&mut cmd.0, true);
            // An `Ssid` always fits the 20-bit field.
            SSID.set_truncated(&mut cmd.0, ssid.raw());
        }
        cmd
    }

    /// `CMD_PREFETCH_CONFIG`: prefetch the configuration of a stream.
    pub(crate) const fn prefetch_config(sid: u32) -> Self {
        Self::op_sid(Opcode::PrefetchConfig, sid)
    }

    /// `CMD_CFGI_STE`: invalidate the cached STE of a stream.
    ///
    /// With `leaf`, only the STE is invalidated, not the level-1 descriptor that points to it.
    pub(crate) const fn cfgi_ste(sid: u32, leaf: bool) -> Self {
        let mut cmd = Self::op_sid(Opcode::CfgiSte, sid);
        LEAF.set_bool(&mut cmd.0, leaf);
        cmd
    }

    /// `CMD_CFGI_STE_RANGE`: invalidate the STEs of `2^(range + 1)` streams aligned around `sid`.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Overflow`] if `range` is above [`CFGI_RANGE_ALL`].
    pub(crate) fn cfgi_ste_range(sid: u32, range: u8) -> Result<Self, Error> {
        let mut cmd = Self::op_sid(Opcode::CfgiSteRange, sid);
        CFGI_RANGE.set(&mut cmd.0, u64::from(range))?;
        Ok(cmd)
    }

    /// `CMD_CFGI_ALL`: invalidate every cached STE and CD.
    pub(crate) const fn cfgi_all() -> Self {
        let mut cmd = Self::op(Opcode::CfgiSteRange);
        // CAST: Widening `u8` to `u64` is lossless; `From` is not usable in a `const fn`.
        CFGI_RANGE.set_truncated(&mut cmd.0, CFGI_RANGE_ALL as u64);
        cmd
    }

    /// `CMD_CFGI_CD`: invalidate one cached CD of a stream.
    pub(crate) const fn cfgi_cd(sid: u32, ssid: Ssid, leaf: bool) -> Self {
        let mut cmd = Self::op_sid(Opcode::CfgiCd, sid);
        // An `Ssid` always fits the 20-bit field.
        SSID.set_truncated(&mut cmd.0, ssid.raw());
        LEAF.set_bool(&mut cmd.0, leaf);
        cmd
    }

    /// `CMD_CFGI_CD_ALL`: invalidate all cached CDs of a stream.
    pub(crate) const fn cfgi_cd_all(sid: u32) -> Self {
        Self::op_sid(Opcode::CfgiCdAll, sid)
    }

    /// `CMD_TLBI_NH_ALL`: invalidate all stage 1 entries of a VMID.
    pub(crate) const fn tlbi_nh_all(vmid: u16) -> Self {
        let mut cmd = Self::op(Opcode::TlbiNhAll);
        VMID.set_u16(&mut cmd.0, vmid);
        cmd
    }

    /// `CMD_TLBI_NH_ASID`: invalidate all stage 1 entries of an ASID in a VMID.
    pub(crate) const fn tlbi_nh_asid(asid: u16, vmid: u16) -> Self {
        let mut cmd = Self::op(Opcode::TlbiNhAsid);
        ASID.set_u16(&mut cmd.0, asid);
        VMID.set_u16(&mut cmd.0, vmid);
        cmd
    }

    /// `CMD_TLBI_EL2_ALL`: invalidate all EL2 entries.
    pub(crate) const fn tlbi_el2_all() -> Self {
        Self::op(Opcode::TlbiEl2All)
    }

    /// `CMD_TLBI_EL2_ASID`: invalidate all EL2 entries of an ASID.
    pub(crate) const fn tlbi_el2_asid(asid: u16) -> Self {
        let mut cmd = Self::op(Opcode::TlbiEl2Asid);
        ASID.set_u16(&mut cmd.0, asid);
        cmd
    }

    /// `CMD_TLBI_S12_VMALL`: invalidate all stage 1 and stage 2 entries of a VMID.
    pub(crate) const fn tlbi_s12_vmall(vmid: u16) -> Self {
        let mut cmd = Self::op(Opcode::TlbiS12Vmall);
        VMID.set_u16(&mut cmd.0, vmid);
        cmd
    }

    /// `CMD_TLBI_NSNH_ALL`: invalidate all non-secure, non-hypervisor entries.
    pub(crate) const fn tlbi_nsnh_all() -> Self {
        Self::op(Opcode::TlbiNsnhAll)
    }

    /// A TLB invalidation by address (`NH_VA`, `NH_VAA`, `EL2_VA` or `S2_IPA`).
    ///
    /// # Errors
    ///
    /// Returns [`Error::Overflow`] if `NUM`, `SCALE`, `TG` or `TTL` do not fit, and
    /// [`Error::BadAddress`] if a stage 2 address has bits above bit 51.
    pub(crate) fn tlbi_addr(kind: AddrTlbi, a: &TlbiAddr) -> Result<Self, Error> {
        let mut cmd = match kind {
            AddrTlbi::NhVa { asid, vmid } => {
                let mut cmd = Self::op(Opcode::TlbiNhVa);
                ASID.set_u16(&mut cmd.0, asid);
                VMID.set_u16(&mut cmd.0, vmid);
                cmd
            }
            AddrTlbi::NhVaa { vmid } => {
                let mut cmd = Self::op(Opcode::TlbiNhVaa);
                VMID.set_u16(&mut cmd.0, vmid);
                cmd
            }
            AddrTlbi::El2Va { asid } => {
                let mut cmd = Self::op(Opcode::TlbiEl2Va);
                ASID.set_u16(&mut cmd.0, asid);
                cmd
            }
            AddrTlbi::S2Ipa { vmid } => {
                let mut cmd = Self::op(Opcode::TlbiS2Ipa);
                VMID.set_u16(&mut cmd.0, vmid);
                cmd
            }
        };
        let w = &mut cmd.0;
        NUM.set(w, u64::from(a.num))?;
        SCALE.set(w, u64::from(a.scale))?;
        LEAF.set_bool(w, a.leaf);
        TTL.set(w, u64::from(a.ttl))?;
        TG.set(w, u64::from(a.tg))?;
        // Bits 11:0 are not part of the address fields.
        let page = a.addr & !0xfff;
        match kind {
            AddrTlbi::S2Ipa { .. } => IPA.set_addr(w, page)?,
            _ => VA.set_addr(w, page)?,
        }
        Ok(cmd)
    }

    /// Decodes a TLB invalidation by address, the inverse of [`Cmd::tlbi_addr`]; `None` for any
    /// other command.
    pub(crate) const fn decode_tlbi_addr(&self) -> Option<(AddrTlbi, TlbiAddr)> {
        let w = &self.0;
        // CAST: The fields are as wide as the types they are cast to.
        let (asid, vmid) = (ASID.get(w) as u16, VMID.get(w) as u16);
        let (kind, addr) = match self.opcode() {
            Some(Opcode::TlbiNhVa) => (AddrTlbi::NhVa { asid, vmid }, VA.get_addr(w)),
            Some(Opcode::TlbiNhVaa) => (AddrTlbi::NhVaa { vmid }, VA.get_addr(w)),
            Some(Opcode::TlbiEl2Va) => (AddrTlbi::El2Va { asid }, VA.get_addr(w)),
            Some(Opcode::TlbiS2Ipa) => (AddrTlbi::S2Ipa { vmid }, IPA.get_addr(w)),
            _ => return None,
        };
        // CAST: The fields are at most 5 bits wide.
        let a = TlbiAddr {
            addr,
            leaf: LEAF.is_set(w),
            num: NUM.get(w) as u8,
            scale: SCALE.get(w) as u8,
            tg: TG.get(w) as u8,
            ttl: TTL.get(w) as u8,
        };
        Some((kind, a))
    }

    /// `CMD_ATC_INV`: invalidate `2^size` 4KB pages at `addr` in the ATC of an endpoint.
    ///
    /// Without `ssid`, entries of every SubstreamID in the range are invalidated.
    ///
    /// # Errors
    ///
    /// Returns an error if `size` is above [`ATC_INV_SIZE_ALL`] or `addr` is not aligned to the
    /// size of the range.
    pub(crate) fn atc_inv(
        sid: u32,
        ssid: Option<Ssid>,
        addr: u64,
        size: u8,
    ) -> Result<Self, Error> {
        if size >= ATC_INV_SIZE_ALL {
            return if size == ATC_INV_SIZE_ALL {
                Ok(Self::atc_inv_all(sid, ssid))
            } else {
                Err(Error::Overflow)
            };
        }
        // `size` is below 52, so the shift stays below 64.
        let span_mask = (1u64 << (12 + u32::from(size))) - 1;
        if addr & span_mask != 0 {
            return Err(Error::BadAddress);
        }
        let mut cmd = Self::op_sid_ssid(Opcode::AtcInv, sid, ssid);
        ATC_SIZE.set(&mut cmd.0, u64::from(size))?;
        ATC_ADDR.set_addr(&mut cmd.0, addr)?;
        Ok(cmd)
    }

    /// `CMD_ATC_INV` of the whole address space of an endpoint.
    pub(crate) const fn atc_inv_all(sid: u32, ssid: Option<Ssid>) -> Self {
        let mut cmd = Self::op_sid_ssid(Opcode::AtcInv, sid, ssid);
        // CAST: Widening `u8` to `u64` is lossless; `From` is not usable in a `const fn`.
        ATC_SIZE.set_truncated(&mut cmd.0, ATC_INV_SIZE_ALL as u64);
        cmd
    }

    /// `CMD_ATC_INV` covering `[iova, iova + size)` with the smallest aligned power of two.
    ///
    /// ATS invalidation requests need a naturally aligned power-of-two range, so the range is
    /// widened rather than split. A `size` of 0 invalidates everything.
    pub(crate) fn atc_inv_range(sid: u32, ssid: Option<Ssid>, iova: u64, size: u64) -> Self {
        if size == 0 {
            return Self::atc_inv_all(sid, ssid);
        }
        let Some(last) = iova.checked_add(size - 1) else {
            return Self::atc_inv_all(sid, ssid);
        };
        let first_page = iova >> 12;
        let last_page = last >> 12;
        // The highest page bit that differs between the two ends tells how large the aligned
        // span must be: pages 8 to 11 fit in a span of 4, pages 7 to 10 need a span of 16.
        let log2_span = u64::BITS - (first_page ^ last_page).leading_zeros();
        if log2_span >= u32::from(ATC_INV_SIZE_ALL) {
            return Self::atc_inv_all(sid, ssid);
        }
        let start_page = (first_page >> log2_span) << log2_span;
        let mut cmd = Self::op_sid_ssid(Opcode::AtcInv, sid, ssid);
        // `log2_span` is below `ATC_INV_SIZE_ALL`, so it fits the 6-bit field, and `start_page`
        // is a page number below 2^52, so it fits the 52-bit address field.
        ATC_SIZE.set_truncated(&mut cmd.0, u64::from(log2_span));
        ATC_ADDR.set_truncated(&mut cmd.0, start_page);
        cmd
    }

    /// `CMD_PRI_RESP`: answer a PRI page request group.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Overflow`] if `grpid` is wider than 9 bits.
    pub(crate) fn pri_resp(
        sid: u32,
        ssid: Option<Ssid>,
        grpid: u16,
        resp: PriResp,
    ) -> Result<Self, Error> {
        let mut cmd = Self::op_sid_ssid(Opcode::PriResp, sid, ssid);
        PRI_GRPID.set(&mut cmd.0, u64::from(grpid))?;
        PRI_RESP.set(&mut cmd.0, resp.raw())?;
        Ok(cmd)
    }

    /// `CMD_RESUME`: resume a stalled transaction identified by its stall tag.
    pub(crate) const fn resume(sid: u32, stag: u16, action: ResumeAction) -> Self {
        let mut cmd = Self::op_sid(Opcode::Resume, sid);
        // Every action fits the 2-bit field.
        RESUME_ACTION.set_truncated(&mut cmd.0, action.raw());
        RESUME_STAG.set_u16(&mut cmd.0, stag);
        cmd
    }

    /// `CMD_STALL_TERM`: terminate every stalled transaction of a stream.
    pub(crate) const fn stall_term(sid: u32) -> Self {
        Self::op_sid(Opcode::StallTerm, sid)
    }

    /// `CMD_SYNC`: complete after every earlier command.
    ///
    /// # Errors
    ///
    /// Returns [`Error::BadAddress`] if an MSI address is not 4-byte aligned or above 2^52.
    pub(crate) fn sync(completion: SyncCompletion) -> Result<Self, Error> {
        let mut cmd = Self::op(Opcode::Sync);
        let w = &mut cmd.0;
        match completion {
            SyncCompletion::None => {}
            SyncCompletion::Sev => SYNC_CS.set_truncated(w, SyncCs::Sev.raw()),
            SyncCompletion::Msi { addr, data } => {
                SYNC_CS.set_truncated(w, SyncCs::Irq.raw());
                SYNC_MSH.set_truncated(w, Shareability::Inner.raw());
                SYNC_MSIATTR.set_truncated(w, MEMATTR_OIWB);
                SYNC_MSIDATA.set_u32(w, data);
                SYNC_MSIADDR.set_addr(w, addr)?;
            }
        }
        Ok(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlbi_addr_decodes_as_encoded() {
        let a = TlbiAddr {
            addr: 0x1234_5678_9000,
            leaf: true,
            num: 17,
            scale: 9,
            tg: 1,
            ttl: 2,
        };
        let kinds = [
            AddrTlbi::NhVa {
                asid: 0xbeef,
                vmid: 7,
            },
            AddrTlbi::NhVaa { vmid: 0x1ff },
            AddrTlbi::El2Va { asid: 3 },
            AddrTlbi::S2Ipa { vmid: 0xfffe },
        ];
        for kind in kinds {
            let cmd = Cmd::tlbi_addr(kind, &a).unwrap();
            assert_eq!(cmd.decode_tlbi_addr(), Some((kind, a)));
        }
        assert_eq!(Cmd::tlbi_nh_asid(1, 0).decode_tlbi_addr(), None);
        assert_eq!(Cmd::cfgi_all().decode_tlbi_addr(), None);
    }
}
