// SPDX-License-Identifier: GPL-2.0

//! What user space hands the driver for nested translation through iommufd, validated: the
//! virtual STE (vSTE) of a nested domain, the invalidation commands of a vIOMMU, and the event
//! records a vIOMMU's event queue receives.
//!
//! A VMM passes its guest's STE qwords 0 and 1 (`struct iommu_hwpt_arm_smmuv3`) and its guest's
//! commands (`struct iommu_viommu_arm_smmuv3_invalidate`) through unchanged, so everything here
//! is guest-controlled input that reaches the SMMU shared with the host and other guests. The
//! rules are those of the C driver's `arm-smmu-v3-iommufd.c`: only the fields a guest may
//! control pass, the VMID is always the vIOMMU's own, and StreamIDs are only ever the physical
//! ones of the vIOMMU's vDEVICEs. Every refusal is a [`Reject`], which the kernel side reports
//! as `EIO`, the errno C reserves for invalid vSTEs and commands.

use core::fmt;

use crate::hw::{
    cmd::{
        self,
        Cmd,
        Opcode,
        CMD_QWORDS, //
    },
    event::{
        self,
        EventId,
        EVT_QWORDS, //
    },
    field::{
        Bit,
        Field, //
    },
    idr::Idr,
    ste::{
        self,
        Config,
        Eats,
        Ste, //
    },
    Error,
};

/// The number of qwords of a vSTE: the first two of an STE.
pub(crate) const VSTE_QWORDS: usize = 2;

/// Why user space input is refused. The kernel side reports every reason as `EIO`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reject {
    /// A valid vSTE sets a bit outside the fields a guest controls.
    VsteBits,
    /// A valid vSTE's `Config` is not abort, bypass or stage 1 translate.
    VsteConfig,
    /// A valid vSTE's `EATS` is neither abort nor full ATS.
    VsteEats,
    /// The command's opcode is not one a guest may issue.
    Opcode,
    /// A TLB invalidation without a range granule (`TG == 0`) sets `NUM`, `SCALE` or `TTL`.
    RangeWithoutGranule,
    /// A TLB invalidation asks for level 1 leaves of a 16KB granule without `IDR5.DS`.
    TtlNeedsDs,
    /// A TLB invalidation has `TG != 0` with `NUM`, `SCALE` and `TTL` all 0 (reserved).
    RangeReserved,
    /// `CMD_ATC_INV` on an SMMU without ATS.
    AtcWithoutAts,
    /// `CMD_ATC_INV` with a `Size` above the invalidate-all value.
    AtcSize,
    /// The command sets a bit outside the fields a guest may set for its opcode.
    CmdBits,
    /// The command names a virtual StreamID that is not one of the vIOMMU's vDEVICEs.
    UnknownVsid,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = match self {
            Self::VsteBits => "vSTE sets a field the guest does not control",
            Self::VsteConfig => "vSTE Config is not abort, bypass or stage 1",
            Self::VsteEats => "vSTE EATS is not abort or full ATS",
            Self::Opcode => "command opcode not allowed",
            Self::RangeWithoutGranule => "NUM, SCALE or TTL set with TG == 0",
            Self::TtlNeedsDs => "TTL == 1 with a 16KB TG needs IDR5.DS",
            Self::RangeReserved => "TG set with NUM, SCALE and TTL all 0",
            Self::AtcWithoutAts => "ATC_INV without ATS",
            Self::AtcSize => "ATC_INV Size above 52",
            Self::CmdBits => "command sets a field the guest may not set",
            Self::UnknownVsid => "unknown virtual StreamID",
        };
        f.write_str(msg)
    }
}

/// The bits of vSTE qwords 0 and 1 a guest controls: `V`, `Config`, `S1Fmt`, `S1ContextPtr`,
/// `S1CDMax`; `S1DSS`, `S1CIR`, `S1COR`, `S1CSH`, `S1STALLD` and `EATS`.
pub(crate) const VSTE_ALLOWED: [u64; VSTE_QWORDS] = {
    let mut m = [0; VSTE_QWORDS];
    ste::V.mark(&mut m);
    ste::CONFIG.mark(&mut m);
    ste::S1FMT.mark(&mut m);
    ste::S1CTXPTR.mark(&mut m);
    ste::S1CDMAX.mark(&mut m);
    ste::S1DSS.mark(&mut m);
    ste::S1CIR.mark(&mut m);
    ste::S1COR.mark(&mut m);
    ste::S1CSH.mark(&mut m);
    ste::S1STALLD.mark(&mut m);
    ste::EATS.mark(&mut m);
    m
};

/// The stage 1 part of a validated vSTE whose `Config` is stage 1 translate.
///
/// # Invariants
///
/// `words` has `V` set, `Config` stage 1 translate, `EATS` clear, and no bit outside
/// [`VSTE_ALLOWED`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GuestS1 {
    /// The guest's qwords 0 and 1, `EATS` cleared.
    words: [u64; VSTE_QWORDS],
    /// The guest asked for full ATS (`EATS == 0b01`).
    ats: bool,
}

impl GuestS1 {
    /// Returns the guest's qwords 0 and 1, `EATS` cleared.
    pub(crate) const fn words(&self) -> &[u64; VSTE_QWORDS] {
        &self.words
    }

    /// Returns whether the guest enables ATS: it then issues `CMD_ATC_INV` itself.
    pub(crate) const fn ats(&self) -> bool {
        self.ats
    }
}

/// A validated vSTE: what a nested domain installs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Vste {
    /// Transactions abort: a vSTE with `Config` abort, or a non-valid vSTE (`V == 0`, whatever
    /// its other bits), which C relays as an abort so that the guest can be told `C_BAD_STE`.
    Abort,
    /// Transactions use the nesting parent's stage 2 only.
    Bypass,
    /// Transactions go through the guest's CD table and the nesting parent's stage 2.
    S1(GuestS1),
}

impl Vste {
    /// Returns whether attaching the domain needs a vDEVICE for the stream: stage 1 does
    /// (invalidations and events name the stream by its vSID); abort and bypass do not, so that
    /// a guest with its SMMU disabled can run.
    pub(crate) const fn needs_vdevice(&self) -> bool {
        matches!(self, Self::S1(_))
    }

    /// Returns whether the attach enables ATS on a device that has it. With stage 1 only if the
    /// guest asked for ATS, since only then does it invalidate the ATC itself; with bypass
    /// always, as C: the ATC then holds stage 2 translations, which the host invalidates; with
    /// abort never, since its STE answers no translation requests (C enables ATS there too).
    pub(crate) const fn ats(&self) -> bool {
        match self {
            Self::S1(s1) => s1.ats,
            Self::Bypass => true,
            Self::Abort => false,
        }
    }

    /// Returns whether an ATC of the domain's device holds what both stages give the guest's
    /// addresses: a change of the nesting parent's stage 2 then drops everything it holds.
    pub(crate) const fn atc_holds_guest_addresses(&self) -> bool {
        matches!(self, Self::S1(_))
    }
}

/// Validates a vSTE, the two qwords of `struct iommu_hwpt_arm_smmuv3` in CPU order.
///
/// # Errors
///
/// Returns a [`Reject`] if the vSTE is valid and sets a field a guest does not control, has a
/// `Config` other than abort, bypass and stage 1, or an `EATS` other than abort and full ATS.
pub(crate) fn validate_vste(vste: [u64; VSTE_QWORDS]) -> Result<Vste, Reject> {
    if !ste::V.is_set(&vste) {
        return Ok(Vste::Abort);
    }
    if vste[0] & !VSTE_ALLOWED[0] != 0 || vste[1] & !VSTE_ALLOWED[1] != 0 {
        return Err(Reject::VsteBits);
    }
    let config = match Config::from_raw(ste::CONFIG.get(&vste)) {
        Some(c @ (Config::Abort | Config::Bypass | Config::S1Trans)) => c,
        _ => return Err(Reject::VsteConfig),
    };
    let ats = match Eats::from_raw(ste::EATS.get(&vste)) {
        Some(Eats::Abort) => false,
        Some(Eats::Trans) => true,
        _ => return Err(Reject::VsteEats),
    };
    Ok(match config {
        Config::Abort => Vste::Abort,
        Config::Bypass => Vste::Bypass,
        _ => {
            let mut words = vste;
            ste::EATS.unmark(&mut words);
            // INVARIANT: `V` is set, `Config` is stage 1, `EATS` was just cleared, and every
            // bit outside `VSTE_ALLOWED` was refused above.
            Vste::S1(GuestS1 { words, ats })
        }
    })
}

/// Composes the physical STE of a stream attached to a nested domain, from the STE `parent`
/// the driver composes for the nesting parent's stage 2 alone, and the domain's vSTE.
///
/// As C, an abort vSTE gives an abort STE, a bypass vSTE the parent's STE as is, and a stage 1
/// vSTE the parent's STE turned nested with the guest's stage 1 fields and `MEV` set (merged
/// fault events, against a guest flooding the event queue). `EATS` is the parent's: the attach
/// decides ATS from [`Vste::ats`] and sets it on the result.
///
/// # Errors
///
/// Returns [`Error::Invalid`] if `parent` is not a valid stage 2 STE.
pub(crate) fn nested_ste(parent: &Ste, vste: &Vste) -> Result<Ste, Error> {
    if !parent.is_valid() || parent.config() != Some(Config::S2Trans) {
        return Err(Error::Invalid);
    }
    Ok(match vste {
        Vste::Abort => Ste::abort(),
        Vste::Bypass => *parent,
        Vste::S1(s1) => {
            let mut w = *parent.words();
            let g = &s1.words;
            // The guest's `Config` is replaced; every other bit it sets is one the parent
            // leaves clear.
            w[0] = g[0];
            ste::CONFIG.set_truncated(&mut w, Config::Nested.raw());
            w[1] |= g[1];
            ste::MEV.set_bool(&mut w, true);
            Ste::from_words(w)
        }
    })
}

/// `SCALE` of a TLB invalidation in the guest's command, bits 25:20: bit 25 only exists with
/// `IDR5.DS`.
const TLBI_SCALE: Field<0, 25, 20> = Field;
/// The bit of [`TLBI_SCALE`] that needs `IDR5.DS`.
const TLBI_SCALE_DS: Bit<0, 25> = Field;

/// What a vIOMMU lets its guest invalidate, from the SMMU's ID registers and the vIOMMU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UserCmdPolicy {
    /// The vIOMMU's VMID: every TLB invalidation is forced to it.
    pub(crate) vmid: u16,
    /// The number of ASID bits, 8 or 16.
    pub(crate) asid_bits: u32,
    /// Range invalidation (`IDR3.RIL`).
    pub(crate) range_inv: bool,
    /// 52-bit addresses with 4KB and 16KB granules (`IDR5.DS`).
    pub(crate) ds: bool,
    /// ATS (`IDR0.ATS`, and the kernel supports PCIe ATS).
    pub(crate) ats: bool,
    /// The number of SubstreamID bits, 0 without SubstreamIDs.
    pub(crate) ssid_bits: u32,
}

impl UserCmdPolicy {
    /// The policy of a vIOMMU with VMID `vmid` on the SMMU that `idr` describes. The kernel side
    /// clears [`UserCmdPolicy::ats`] if it does not support PCIe ATS, as C does.
    pub(crate) const fn new(idr: &Idr, vmid: u16) -> Self {
        Self {
            vmid,
            asid_bits: idr.asid_bits(),
            range_inv: idr.ril(),
            ds: idr.ds(),
            ats: idr.ats(),
            ssid_bits: idr.ssid_bits(),
        }
    }

    /// The ASID bits the SMMU implements, in place in qword 0.
    const fn asid_mask(&self) -> u64 {
        let mut w = [0; CMD_QWORDS];
        let ids = if self.asid_bits >= 16 {
            u16::MAX
        } else {
            // CAST: `asid_bits` is below 16 here, so the mask fits 16 bits.
            ((1u32 << self.asid_bits) - 1) as u16
        };
        cmd::ASID.set_u16(&mut w, ids);
        w[0]
    }
}

/// Checks the range fields of a TLB invalidation by address on an SMMU with range invalidation.
fn validate_range(p: &UserCmdPolicy, w: &[u64; CMD_QWORDS]) -> Result<(), Reject> {
    let range = cmd::NUM.is_set(w) || TLBI_SCALE.is_set(w);
    let ttl = cmd::TTL.get(w);
    let tg = cmd::TG.get(w);
    // NUM, SCALE and TTL are RES0 without a granule.
    if tg == 0 {
        return if range || ttl != 0 {
            Err(Reject::RangeWithoutGranule)
        } else {
            Ok(())
        };
    }
    // TG == 0b10 is 16KB; level 1 leaves of it need IDR5.DS.
    if tg == 2 && ttl == 1 && !p.ds {
        return Err(Reject::TtlNeedsDs);
    }
    if !range && ttl == 0 {
        return Err(Reject::RangeReserved);
    }
    Ok(())
}

/// Returns the bits a guest may set in a command with the opcode of `w`, once the checks that
/// do not depend on single bits pass.
fn allowed_bits(p: &UserCmdPolicy, w: &[u64; CMD_QWORDS]) -> Result<[u64; CMD_QWORDS], Reject> {
    let mut a = [0; CMD_QWORDS];
    cmd::OP.mark(&mut a);
    match Opcode::from_raw(cmd::OP.get(w)) {
        Some(Opcode::TlbiNsnhAll) => {}
        Some(op @ (Opcode::TlbiNhVa | Opcode::TlbiNhVaa)) => {
            if op == Opcode::TlbiNhVa {
                a[0] |= p.asid_mask();
            }
            if p.range_inv {
                validate_range(p, w)?;
                cmd::NUM.mark(&mut a);
                TLBI_SCALE.mark(&mut a);
                cmd::TG.mark(&mut a);
                cmd::TTL.mark(&mut a);
                if !p.ds {
                    TLBI_SCALE_DS.unmark(&mut a);
                }
            }
            cmd::VMID.mark(&mut a);
            cmd::LEAF.mark(&mut a);
            cmd::VA.mark(&mut a);
        }
        Some(op @ (Opcode::TlbiNhAsid | Opcode::TlbiNhAll)) => {
            if op == Opcode::TlbiNhAsid {
                a[0] |= p.asid_mask();
            }
            cmd::VMID.mark(&mut a);
        }
        Some(Opcode::AtcInv) => {
            if !p.ats {
                return Err(Reject::AtcWithoutAts);
            }
            if cmd::ATC_SIZE.get(w) > u64::from(cmd::ATC_INV_SIZE_ALL) {
                return Err(Reject::AtcSize);
            }
            // SSID and Global are ignored with SSV == 0, so only substream support matters.
            if p.ssid_bits != 0 {
                cmd::SSV.mark(&mut a);
                cmd::SSID.mark(&mut a);
                cmd::GLOBAL.mark(&mut a);
            }
            cmd::SID.mark(&mut a);
            cmd::ATC_SIZE.mark(&mut a);
            cmd::ATC_ADDR.mark(&mut a);
        }
        Some(op @ (Opcode::CfgiCd | Opcode::CfgiCdAll)) => {
            if op == Opcode::CfgiCd {
                // CMD_CFGI_CD has no SSV.
                if p.ssid_bits != 0 {
                    cmd::SSID.mark(&mut a);
                }
                cmd::LEAF.mark(&mut a);
            }
            cmd::SID.mark(&mut a);
        }
        _ => return Err(Reject::Opcode),
    }
    Ok(a)
}

/// Validates a guest's invalidation command, in CPU order, without converting it.
///
/// Only `CMD_TLBI_NSNH_ALL`, `CMD_TLBI_NH_{ALL,ASID,VA,VAA}`, `CMD_ATC_INV` (with ATS),
/// `CMD_CFGI_CD` and `CMD_CFGI_CD_ALL` pass, with only the fields the SMMU implements for them.
/// Any other bit is refused: a RES0 or Secure bit could make the shared command queue stop with
/// `CERROR_ILL` for every device. Out-of-range addresses and IDs are not checked: the
/// architecture makes them CONSTRAINED UNPREDICTABLE within the guest's own context.
///
/// # Errors
///
/// Returns the [`Reject`] of the first of C's checks the command fails.
pub(crate) fn validate_user_cmd(p: &UserCmdPolicy, w: &[u64; CMD_QWORDS]) -> Result<(), Reject> {
    let a = allowed_bits(p, w)?;
    if w[0] & !a[0] != 0 || w[1] & !a[1] != 0 {
        return Err(Reject::CmdBits);
    }
    Ok(())
}

/// Validates a guest's invalidation command, in CPU order, and converts it into the command
/// the driver queues.
///
/// `CMD_TLBI_NSNH_ALL` becomes `CMD_TLBI_NH_ALL` of the vIOMMU's VMID; the other TLB
/// invalidations get the vIOMMU's VMID in place of the guest's; `CMD_ATC_INV`, `CMD_CFGI_CD`
/// and `CMD_CFGI_CD_ALL` get the physical StreamID `vsid_to_sid` returns for the guest's
/// virtual one.
///
/// # Errors
///
/// Returns a [`Reject`] if [`validate_user_cmd`] does, or if `vsid_to_sid` knows no stream
/// for the command's virtual StreamID.
pub(crate) fn convert_user_cmd(
    p: &UserCmdPolicy,
    cmd: [u64; CMD_QWORDS],
    vsid_to_sid: impl Fn(u32) -> Option<u32>,
) -> Result<Cmd, Reject> {
    validate_user_cmd(p, &cmd)?;
    let mut w = cmd;
    match Opcode::from_raw(cmd::OP.get(&w)) {
        Some(Opcode::TlbiNsnhAll) => Ok(Cmd::tlbi_nh_all(p.vmid)),
        Some(Opcode::TlbiNhVa | Opcode::TlbiNhVaa | Opcode::TlbiNhAll | Opcode::TlbiNhAsid) => {
            cmd::VMID.set_u16(&mut w, p.vmid);
            Ok(Cmd::from_words(w))
        }
        Some(Opcode::AtcInv | Opcode::CfgiCd | Opcode::CfgiCdAll) => {
            // CAST: The field is 32 bits wide.
            let vsid = cmd::SID.get(&w) as u32;
            let sid = vsid_to_sid(vsid).ok_or(Reject::UnknownVsid)?;
            cmd::SID.set_u32(&mut w, sid);
            Ok(Cmd::from_words(w))
        }
        // `validate_user_cmd` passes no other opcode.
        _ => Err(Reject::Opcode),
    }
}

/// Why [`issue_user_cmds`] stopped before the end of a guest's invalidation array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BatchError<E> {
    /// The next command was refused.
    Rejected(Reject),
    /// Reading the next command, or issuing a run of commands, failed.
    Failed(E),
}

/// Validates, converts and issues a guest's invalidation commands in order, for
/// `IOMMU_HWPT_INVALIDATE` on a vIOMMU: `issue` queues a run of at most `N` converted commands
/// and waits for their completion (a `CMD_SYNC`).
///
/// Returns how many leading commands took effect, the `entry_num` user space gets back, and why
/// the array was not handled to its end, if it was not. A refused command, or a failure to read
/// one, first issues the converted commands before it, so the count is exact. When `issue`
/// fails, the count stops before the run it was given, whose completion is unknown.
///
/// C's `arm_vsmmu_cache_invalidate()` reports the same count for a refused command, but does not
/// issue the converted commands of its pending run (up to 62) before returning; and when issuing
/// fails, it counts every command of the failed run but the last.
pub(crate) fn issue_user_cmds<E, const N: usize>(
    p: &UserCmdPolicy,
    cmds: impl IntoIterator<Item = Result<[u64; CMD_QWORDS], E>>,
    vsid_to_sid: impl Fn(u32) -> Option<u32>,
    mut issue: impl FnMut(&[Cmd]) -> Result<(), E>,
) -> (usize, Result<(), BatchError<E>>) {
    const { assert!(N > 0, "runs of at least one command") };
    let mut run = [Cmd::from_words([0; CMD_QWORDS]); N];
    let mut pending = 0;
    let mut done = 0;
    let mut stop = None;
    for raw in cmds {
        let cmd = match raw {
            Ok(raw) => convert_user_cmd(p, raw, &vsid_to_sid).map_err(BatchError::Rejected),
            Err(e) => Err(BatchError::Failed(e)),
        };
        match cmd {
            Ok(cmd) => {
                if let Some(slot) = run.get_mut(pending) {
                    *slot = cmd;
                    pending += 1;
                }
            }
            Err(e) => {
                stop = Some(e);
                break;
            }
        }
        if pending == N {
            if let Err(e) = issue(&run) {
                return (done, Err(BatchError::Failed(e)));
            }
            done += pending;
            pending = 0;
        }
    }
    if let Some(cmds) = run.get(..pending).filter(|c| !c.is_empty()) {
        if let Err(e) = issue(cmds) {
            return (done, Err(BatchError::Failed(e)));
        }
        done += pending;
    }
    (done, stop.map_or(Ok(()), Err))
}

/// Returns whether an event record goes to the event queue of the vIOMMU of its stream, when
/// the stream is attached to a nested domain through a vDEVICE.
///
/// These are the records C forwards: the configuration errors of the guest's own structures
/// (`C_BAD_STE`, `F_STREAM_DISABLED`, `C_BAD_SUBSTREAMID`, `C_BAD_CD`) and the translation
/// faults (`F_TRANSLATION`, `F_ADDR_SIZE`, `F_ACCESS`, `F_PERMISSION`), unless the fault was
/// raised by stage 2 (the host's) or the transaction is stalled (a page fault for the host's
/// IOPF path). Every other record stays with the host.
pub(crate) const fn is_user_event(evt: &[u64; EVT_QWORDS]) -> bool {
    let forwarded = matches!(
        EventId::from_raw(event::ID.get(evt)),
        Some(
            EventId::BadSte
                | EventId::StreamDisabled
                | EventId::BadSubstreamId
                | EventId::BadCd
                | EventId::Translation
                | EventId::AddrSize
                | EventId::Access
                | EventId::Permission
        )
    );
    forwarded && !event::STALL.is_set(evt) && !event::S2.is_set(evt)
}

/// Returns the record a vIOMMU's event queue receives for the event record `evt`: the same,
/// with the stream's virtual StreamID `vsid` in place of the physical one.
pub(crate) const fn vevent(evt: &[u64; EVT_QWORDS], vsid: u32) -> [u64; EVT_QWORDS] {
    let mut v = *evt;
    event::SID.set_u32(&mut v, vsid);
    v
}

#[cfg(test)]
mod tests {
    //! One case per rule of the C driver; the expected raw values are written from the C code
    //! and the specification's field tables, not from the code above.

    use super::*;

    /// `V | Config = S1 (0b101)`: 0x1 | 5 << 1.
    const S1: u64 = 0xb;
    /// `V | Config = bypass (0b100)`.
    const BYPASS: u64 = 0x9;
    /// `V | Config = abort`.
    const ABORT: u64 = 0x1;
    /// `EATS = 0b01`, qword 1 bits 29:28.
    const EATS_TRANS: u64 = 1 << 28;

    #[test]
    fn vste_allowed_masks_are_cs() {
        // STRTAB_STE_0_NESTING_ALLOWED: V [0], CFG [3:1], S1FMT [5:4], S1CTXPTR [51:6],
        // S1CDMAX [63:59].
        assert_eq!(VSTE_ALLOWED[0], 0xf80f_ffff_ffff_ffff);
        // STRTAB_STE_1_NESTING_ALLOWED: S1DSS [1:0], S1CIR [3:2], S1COR [5:4], S1CSH [7:6],
        // S1STALLD [27], EATS [29:28].
        assert_eq!(VSTE_ALLOWED[1], 0x3800_00ff);
    }

    #[test]
    fn vste_non_valid_is_abort_whatever_else_is_set() {
        assert_eq!(validate_vste([0, 0]), Ok(Vste::Abort));
        // V == 0 short-cuts every other check in C (the vSTE is zeroed).
        assert_eq!(validate_vste([!1, !0]), Ok(Vste::Abort));
        assert_eq!(validate_vste([0xe, 3 << 28]), Ok(Vste::Abort));
    }

    #[test]
    fn vste_stray_bits_are_refused() {
        // Qword 0 bits 58:52 are not allowed; one at a time.
        for b in 52..59 {
            assert_eq!(
                validate_vste([S1 | 1 << b, 0]),
                Err(Reject::VsteBits),
                "bit {b}"
            );
        }
        // Qword 1: MEV [19], S2FWB [25], STRW [31:30], SHCFG [45:44], and bit 63.
        for b in [8, 19, 25, 26, 30, 31, 44, 45, 63] {
            assert_eq!(
                validate_vste([S1, 1 << b]),
                Err(Reject::VsteBits),
                "bit {b}"
            );
        }
        // Even with an abort Config, the bits are checked.
        assert_eq!(validate_vste([ABORT, 1 << 19]), Err(Reject::VsteBits));
    }

    #[test]
    fn vste_config_must_be_abort_bypass_or_s1() {
        for cfg in [1u64, 2, 3, 6, 7] {
            assert_eq!(
                validate_vste([1 | cfg << 1, 0]),
                Err(Reject::VsteConfig),
                "Config {cfg}"
            );
        }
        // C checks Config before EATS.
        assert_eq!(validate_vste([0xf, 3 << 28]), Err(Reject::VsteConfig));
    }

    #[test]
    fn vste_eats_must_be_abort_or_trans() {
        for cfg in [ABORT, BYPASS, S1] {
            assert_eq!(validate_vste([cfg, 2 << 28]), Err(Reject::VsteEats));
            assert_eq!(validate_vste([cfg, 3 << 28]), Err(Reject::VsteEats));
        }
    }

    #[test]
    fn vste_abort_and_bypass() {
        assert_eq!(validate_vste([ABORT, 0]), Ok(Vste::Abort));
        // Allowed fields with an abort or bypass Config are accepted and unused.
        assert_eq!(
            validate_vste([ABORT | 0x1234_5000, 0xff | EATS_TRANS]),
            Ok(Vste::Abort)
        );
        assert_eq!(validate_vste([BYPASS, EATS_TRANS]), Ok(Vste::Bypass));
        // C decides ATS from EATS for stage 1 only: bypass has ATS, abort answers no requests;
        // neither needs a vDEVICE, and the ATC holds no guest addresses.
        assert!(Vste::Bypass.ats() && !Vste::Abort.ats());
        assert!(!Vste::Bypass.needs_vdevice() && !Vste::Abort.needs_vdevice());
        assert!(
            !Vste::Bypass.atc_holds_guest_addresses() && !Vste::Abort.atc_holds_guest_addresses()
        );
    }

    #[test]
    fn vste_s1_keeps_the_guest_fields_and_strips_eats() {
        // S1CDMax 31 [63:59], S1ContextPtr 0xf_ffff_ffff_ffc0, S1Fmt 2 [5:4].
        let q0 = 31 << 59 | 0x000f_ffff_ffff_ffc0 | 2 << 4 | S1;
        // S1DSS 2, S1CIR 1, S1COR 1, S1CSH 3, S1STALLD.
        let q1 = 2 | 1 << 2 | 1 << 4 | 3 << 6 | 1 << 27;
        let Ok(Vste::S1(s1)) = validate_vste([q0, q1 | EATS_TRANS]) else {
            panic!("refused");
        };
        assert_eq!(*s1.words(), [q0, q1]);
        assert!(s1.ats());
        assert!(Vste::S1(s1).ats() && Vste::S1(s1).needs_vdevice());
        assert!(Vste::S1(s1).atc_holds_guest_addresses());
        let Ok(Vste::S1(s1)) = validate_vste([q0, q1]) else {
            panic!("refused");
        };
        assert!(!s1.ats() && !Vste::S1(s1).ats());
    }

    /// A stage 2 STE: V | Config = S2 (0b110), SHCFG incoming, S2FWB, EATS trans, VMID 0x42,
    /// a VTCR, S2AA64, S2R, a table.
    const PARENT: [u64; 8] = [
        0xd,
        1 << 44 | 1 << 25 | EATS_TRANS,
        0x42 | 0x25_0010 << 32 | 1 << 51 | 1 << 58,
        0x0000_0012_3456_7000,
        0,
        0,
        0,
        0,
    ];

    #[test]
    fn nested_ste_as_c_composes_it() {
        let parent = Ste::from_words(PARENT);
        assert_eq!(nested_ste(&parent, &Vste::Abort), Ok(Ste::abort()));
        assert_eq!(Ste::abort().words()[0], 1);
        assert_eq!(nested_ste(&parent, &Vste::Bypass), Ok(parent));
        let q0 = 0x0000_0000_8000_0040 | 1 << 59 | S1;
        let q1 = 1 | 1 << 2 | 1 << 4 | 3 << 6;
        let Ok(vste) = validate_vste([q0, q1 | EATS_TRANS]) else {
            panic!("refused");
        };
        let mut want = PARENT;
        // Config nested (0b111) with the guest's qword 0; qword 1 ORed with MEV [19].
        want[0] = 0x0000_0000_8000_0040 | 1 << 59 | 0xf;
        want[1] |= q1 | 1 << 19;
        assert_eq!(nested_ste(&parent, &vste), Ok(Ste::from_words(want)));
    }

    #[test]
    fn nested_ste_needs_a_stage2_parent() {
        assert_eq!(
            nested_ste(&Ste::abort(), &Vste::Bypass),
            Err(Error::Invalid)
        );
        let mut w = PARENT;
        w[0] = 0xc;
        assert_eq!(
            nested_ste(&Ste::from_words(w), &Vste::Bypass),
            Err(Error::Invalid)
        );
    }

    /// A plain policy: 16-bit ASIDs, range invalidation, DS, ATS, 20-bit SSIDs, VMID 0x1234.
    const ALL: UserCmdPolicy = UserCmdPolicy {
        vmid: 0x1234,
        asid_bits: 16,
        range_inv: true,
        ds: true,
        ats: true,
        ssid_bits: 20,
    };

    /// The vSID 5 is the physical StreamID 0x500; nothing else is known.
    fn lookup(vsid: u32) -> Option<u32> {
        (vsid == 5).then_some(0x500)
    }

    fn conv(p: &UserCmdPolicy, w: [u64; 2]) -> Result<[u64; 2], Reject> {
        convert_user_cmd(p, w, lookup).map(|c| *c.words())
    }

    #[test]
    fn policy_from_idr() {
        // IDR0: ATS [10], ASID16 [12]; IDR1: SSIDSIZE [10:6] = 20; IDR3: RIL [10]; IDR5: DS [7].
        let idr = Idr::new(1 << 10 | 1 << 12, 20 << 6, 1 << 10, 1 << 7);
        assert_eq!(UserCmdPolicy::new(&idr, 0x1234), ALL);
        let none = UserCmdPolicy {
            vmid: 7,
            asid_bits: 8,
            range_inv: false,
            ds: false,
            ats: false,
            ssid_bits: 0,
        };
        assert_eq!(UserCmdPolicy::new(&Idr::new(0, 0, 0, 0), 7), none);
        // One feature at a time.
        let one = |i0, i1, i3, i5| UserCmdPolicy::new(&Idr::new(i0, i1, i3, i5), 7);
        assert_eq!(one(1 << 10, 0, 0, 0), UserCmdPolicy { ats: true, ..none });
        assert_eq!(
            one(1 << 12, 0, 0, 0),
            UserCmdPolicy {
                asid_bits: 16,
                ..none
            }
        );
        assert_eq!(
            one(0, 5 << 6, 0, 0),
            UserCmdPolicy {
                ssid_bits: 5,
                ..none
            }
        );
        assert_eq!(
            one(0, 0, 1 << 10, 0),
            UserCmdPolicy {
                range_inv: true,
                ..none
            }
        );
        assert_eq!(one(0, 0, 0, 1 << 7), UserCmdPolicy { ds: true, ..none });
    }

    #[test]
    fn opcodes_outside_the_list_are_refused() {
        // CFGI_STE, CFGI_ALL, TLBI_EL2_*, TLBI_S12_VMALL, TLBI_S2_IPA, PRI_RESP, RESUME, SYNC,
        // PREFETCH_CFG, and unknown ones.
        for op in [
            0x01, 0x03, 0x04, 0x07, 0x18, 0x1a, 0x20, 0x21, 0x22, 0x28, 0x2a, 0x41, 0x44, 0x45,
            0x46, 0x00, 0xff,
        ] {
            assert_eq!(conv(&ALL, [op, 0]), Err(Reject::Opcode), "opcode {op:#x}");
            assert_eq!(
                validate_user_cmd(&ALL, &[op | 5 << 32, 0]),
                Err(Reject::Opcode),
                "opcode {op:#x}"
            );
        }
    }

    #[test]
    fn nsnh_all_becomes_nh_all_of_the_vmid() {
        // TLBI_NH_ALL (0x10) | VMID [47:32].
        assert_eq!(conv(&ALL, [0x30, 0]), Ok([0x10 | 0x1234 << 32, 0]));
        // NSNH_ALL allows nothing but the opcode.
        assert_eq!(conv(&ALL, [0x30 | 1 << 32, 0]), Err(Reject::CmdBits));
        assert_eq!(conv(&ALL, [0x30, 1]), Err(Reject::CmdBits));
    }

    #[test]
    fn tlbi_vmid_is_forced() {
        // NH_ALL with the guest's VMID 0xffff.
        assert_eq!(
            conv(&ALL, [0x10 | 0xffff << 32, 0]),
            Ok([0x10 | 0x1234 << 32, 0])
        );
        // NH_ASID with ASID 0xbeef [63:48].
        assert_eq!(
            conv(&ALL, [0x11 | 0xbeef << 48 | 7 << 32, 0]),
            Ok([0x11 | 0xbeef << 48 | 0x1234 << 32, 0])
        );
        // NH_VA, a single address, leaf.
        assert_eq!(
            conv(&ALL, [0x12 | 3 << 48, 0x1234_5678_9000 | 1]),
            Ok([0x12 | 3 << 48 | 0x1234 << 32, 0x1234_5678_9000 | 1])
        );
        // NH_VAA.
        assert_eq!(
            conv(&ALL, [0x13 | 9 << 32, 0xffff_ffff_ffff_f000]),
            Ok([0x13 | 0x1234 << 32, 0xffff_ffff_ffff_f000])
        );
    }

    #[test]
    fn tlbi_asid_width() {
        let narrow = UserCmdPolicy {
            asid_bits: 8,
            ..ALL
        };
        // ASID bits 15:8 are RES0 with 8-bit ASIDs.
        assert_eq!(conv(&narrow, [0x11 | 0x100 << 48, 0]), Err(Reject::CmdBits));
        assert_eq!(conv(&narrow, [0x12 | 0x100 << 48, 0]), Err(Reject::CmdBits));
        assert!(conv(&narrow, [0x11 | 0xff << 48, 0]).is_ok());
        assert!(conv(&narrow, [0x12 | 0xff << 48, 0]).is_ok());
        // NH_ALL and NH_VAA have no ASID.
        assert_eq!(conv(&ALL, [0x10 | 1 << 48, 0]), Err(Reject::CmdBits));
        assert_eq!(conv(&ALL, [0x13 | 1 << 48, 0]), Err(Reject::CmdBits));
    }

    #[test]
    fn tlbi_leaf_and_address_only_by_address() {
        // NH_ALL and NH_ASID have no qword 1.
        assert_eq!(conv(&ALL, [0x10, 1]), Err(Reject::CmdBits));
        assert_eq!(conv(&ALL, [0x11, 1 << 12]), Err(Reject::CmdBits));
        // Bits 7:1 of qword 1 of NH_VA are RES0, as are qword 0 bits 11:8, 19:17 and 31:26.
        for b in [1, 7] {
            assert_eq!(conv(&ALL, [0x12, 1 << b]), Err(Reject::CmdBits), "q1 {b}");
        }
        for b in [8, 11, 17, 19, 26, 31] {
            assert_eq!(
                conv(&ALL, [0x12 | 1 << b, 0]),
                Err(Reject::CmdBits),
                "q0 {b}"
            );
        }
    }

    #[test]
    fn range_fields_need_ril() {
        let no_ril = UserCmdPolicy {
            range_inv: false,
            ..ALL
        };
        // TG = 1 [11:10], TTL = 3 [9:8], NUM 1 [16:12]: fine with RIL, refused without.
        let w = [0x12 | 1 << 12, 1 << 10 | 3 << 8];
        assert!(conv(&ALL, w).is_ok());
        assert_eq!(conv(&no_ril, w), Err(Reject::CmdBits));
        // Without RIL, the range fields are not looked at beyond the bit check: TG == 0 with
        // TTL set is refused as a stray bit, not as a range error.
        assert_eq!(conv(&no_ril, [0x13, 1 << 8]), Err(Reject::CmdBits));
    }

    #[test]
    fn range_without_granule() {
        // TG == 0: NUM, SCALE or TTL set is refused.
        assert_eq!(
            conv(&ALL, [0x12 | 1 << 12, 0]),
            Err(Reject::RangeWithoutGranule)
        );
        assert_eq!(
            conv(&ALL, [0x13 | 1 << 20, 0]),
            Err(Reject::RangeWithoutGranule)
        );
        assert_eq!(
            conv(&ALL, [0x13 | 1 << 25, 0]),
            Err(Reject::RangeWithoutGranule)
        );
        assert_eq!(conv(&ALL, [0x12, 2 << 8]), Err(Reject::RangeWithoutGranule));
        // TG == 0 and nothing else: a single address.
        assert!(conv(&ALL, [0x12, 0x1000]).is_ok());
    }

    #[test]
    fn range_ttl1_with_16k_needs_ds() {
        let no_ds = UserCmdPolicy { ds: false, ..ALL };
        // TG = 2 (16KB), TTL = 1.
        let w = [0x12, 2 << 10 | 1 << 8];
        assert_eq!(conv(&no_ds, w), Err(Reject::TtlNeedsDs));
        assert!(conv(&ALL, w).is_ok());
        // TTL = 1 with 4KB or 64KB is fine without DS.
        assert!(conv(&no_ds, [0x12, 1 << 10 | 1 << 8]).is_ok());
        assert!(conv(&no_ds, [0x12, 3 << 10 | 1 << 8]).is_ok());
    }

    #[test]
    fn range_reserved_combination() {
        // TG != 0 with NUM == SCALE == TTL == 0.
        for tg in 1..4u64 {
            assert_eq!(conv(&ALL, [0x13, tg << 10]), Err(Reject::RangeReserved));
        }
        // Any one of them makes it a range.
        assert!(conv(&ALL, [0x13 | 1 << 20, 1 << 10]).is_ok());
        assert!(conv(&ALL, [0x13, 1 << 10 | 2 << 8]).is_ok());
    }

    #[test]
    fn scale_bit_25_needs_ds() {
        let no_ds = UserCmdPolicy { ds: false, ..ALL };
        // SCALE = 32: bit 25.
        let w = [0x12 | 1 << 25, 1 << 10];
        assert!(conv(&ALL, w).is_ok());
        assert_eq!(conv(&no_ds, w), Err(Reject::CmdBits));
        // SCALE = 31 is fine without DS.
        assert!(conv(&no_ds, [0x12 | 31 << 20, 1 << 10]).is_ok());
    }

    #[test]
    fn atc_inv() {
        // SID [63:32] = vSID 5, SSV [11], SSID 7 [31:12], Global [9]; Size 52, address.
        let w = [0x40 | 5 << 32 | 1 << 11 | 7 << 12 | 1 << 9, 52 | 0xabc_d000];
        assert_eq!(
            conv(&ALL, w),
            Ok([
                0x40 | 0x500 << 32 | 1 << 11 | 7 << 12 | 1 << 9,
                52 | 0xabc_d000
            ])
        );
        // Without ATS.
        let no_ats = UserCmdPolicy { ats: false, ..ALL };
        assert_eq!(conv(&no_ats, w), Err(Reject::AtcWithoutAts));
        // Size 53 to 63.
        assert_eq!(conv(&ALL, [0x40 | 5 << 32, 53]), Err(Reject::AtcSize));
        assert_eq!(conv(&ALL, [0x40 | 5 << 32, 63]), Err(Reject::AtcSize));
        // Without SubstreamIDs: SSV, SSID and Global are refused.
        let no_ssid = UserCmdPolicy {
            ssid_bits: 0,
            ..ALL
        };
        for b in [9, 11, 12, 31] {
            assert_eq!(
                conv(&no_ssid, [0x40 | 5 << 32 | 1 << b, 0]),
                Err(Reject::CmdBits),
                "bit {b}"
            );
        }
        assert_eq!(
            conv(&no_ssid, [0x40 | 5 << 32, 3]),
            Ok([0x40 | 0x500 << 32, 3])
        );
        // Qword 1 bits 11:6 and qword 0 bits 10, 8 are RES0.
        assert_eq!(conv(&ALL, [0x40 | 5 << 32, 1 << 6]), Err(Reject::CmdBits));
        assert_eq!(conv(&ALL, [0x40 | 5 << 32, 1 << 11]), Err(Reject::CmdBits));
        assert_eq!(
            conv(&ALL, [0x40 | 5 << 32 | 1 << 10, 0]),
            Err(Reject::CmdBits)
        );
        assert_eq!(
            conv(&ALL, [0x40 | 5 << 32 | 1 << 8, 0]),
            Err(Reject::CmdBits)
        );
        // An unknown vSID.
        assert_eq!(conv(&ALL, [0x40 | 6 << 32, 0]), Err(Reject::UnknownVsid));
    }

    #[test]
    fn cfgi_cd() {
        // SID [63:32], SSID [31:12], Leaf: qword 1 [0].
        assert_eq!(
            conv(&ALL, [0x05 | 5 << 32 | 0xfffff << 12, 1]),
            Ok([0x05 | 0x500 << 32 | 0xfffff << 12, 1])
        );
        // No SSV for CFGI_CD.
        assert_eq!(
            conv(&ALL, [0x05 | 5 << 32 | 1 << 11, 0]),
            Err(Reject::CmdBits)
        );
        // No SSID without SubstreamIDs.
        let no_ssid = UserCmdPolicy {
            ssid_bits: 0,
            ..ALL
        };
        assert_eq!(
            conv(&no_ssid, [0x05 | 5 << 32 | 1 << 12, 0]),
            Err(Reject::CmdBits)
        );
        assert_eq!(
            conv(&no_ssid, [0x05 | 5 << 32, 1]),
            Ok([0x05 | 0x500 << 32, 1])
        );
        // Qword 1 bit 1 is RES0.
        assert_eq!(conv(&ALL, [0x05 | 5 << 32, 2]), Err(Reject::CmdBits));
        assert_eq!(conv(&ALL, [0x05 | 4 << 32, 0]), Err(Reject::UnknownVsid));
    }

    #[test]
    fn cfgi_cd_all() {
        assert_eq!(conv(&ALL, [0x06 | 5 << 32, 0]), Ok([0x06 | 0x500 << 32, 0]));
        // No SSID and no Leaf.
        assert_eq!(
            conv(&ALL, [0x06 | 5 << 32 | 1 << 12, 0]),
            Err(Reject::CmdBits)
        );
        assert_eq!(conv(&ALL, [0x06 | 5 << 32, 1]), Err(Reject::CmdBits));
        assert_eq!(conv(&ALL, [0x06, 0]), Err(Reject::UnknownVsid));
    }

    #[test]
    fn validation_comes_before_the_vsid_lookup() {
        // An unknown vSID with a stray bit is refused for the bit, as C validates first.
        assert_eq!(conv(&ALL, [0x06 | 6 << 32, 1]), Err(Reject::CmdBits));
        assert_eq!(validate_user_cmd(&ALL, &[0x06 | 6 << 32, 0]), Ok(()));
    }

    /// `TLBI_NH_ASID` of ASID `k`, and what it becomes.
    fn asid(k: u64) -> ([u64; 2], [u64; 2]) {
        ([0x11 | k << 48, 0], [0x11 | k << 48 | 0x1234 << 32, 0])
    }

    /// The count, the stop, and the runs issued (the failed one included) of a batch.
    type Outcome = (
        usize,
        Result<(), BatchError<u8>>,
        std::vec::Vec<std::vec::Vec<[u64; 2]>>,
    );

    /// Runs [`issue_user_cmds`] in runs of 4 over `cmds`, failing the issue of run `fail`.
    fn batch(cmds: &[Result<[u64; 2], u8>], fail: Option<usize>) -> Outcome {
        let mut runs = std::vec::Vec::new();
        let (n, r) = issue_user_cmds::<u8, 4>(&ALL, cmds.iter().copied(), lookup, |run| {
            runs.push(run.iter().map(|c| *c.words()).collect());
            if fail == Some(runs.len() - 1) {
                Err(9)
            } else {
                Ok(())
            }
        });
        (n, r, runs)
    }

    #[test]
    fn batches_in_runs() {
        let cmds: std::vec::Vec<_> = (0..10).map(|k| Ok(asid(k).0)).collect();
        let (n, r, runs) = batch(&cmds, None);
        assert_eq!((n, r), (10, Ok(())));
        let want: std::vec::Vec<_> = (0..10).map(|k| asid(k).1).collect();
        assert_eq!(runs, [&want[0..4], &want[4..8], &want[8..10]]);
        // Nothing to do: no run.
        assert_eq!(batch(&[], None), (0, Ok(()), std::vec![]));
    }

    #[test]
    fn batch_stops_at_a_refused_command_after_issuing_the_ones_before() {
        let mut cmds: std::vec::Vec<_> = (0..9).map(|k| Ok(asid(k).0)).collect();
        cmds[5] = Ok([0x28, 0]);
        let (n, r, runs) = batch(&cmds, None);
        assert_eq!((n, r), (5, Err(BatchError::Rejected(Reject::Opcode))));
        assert_eq!(
            runs.concat(),
            (0..5).map(|k| asid(k).1).collect::<std::vec::Vec<_>>()
        );
        // At a run boundary: no empty run.
        cmds[4] = Ok([0x28, 0]);
        let (n, _, runs) = batch(&cmds, None);
        assert_eq!((n, runs.len()), (4, 1));
        // First: nothing issued.
        cmds[0] = Ok([0x30, 1]);
        assert_eq!(
            batch(&cmds, None),
            (0, Err(BatchError::Rejected(Reject::CmdBits)), std::vec![])
        );
    }

    #[test]
    fn batch_stops_at_a_read_failure_after_issuing_the_ones_before() {
        let mut cmds: std::vec::Vec<_> = (0..9).map(|k| Ok(asid(k).0)).collect();
        cmds[6] = Err(7);
        let (n, r, runs) = batch(&cmds, None);
        assert_eq!((n, r), (6, Err(BatchError::Failed(7))));
        assert_eq!(runs.iter().map(|r| r.len()).sum::<usize>(), 6);
    }

    #[test]
    fn batch_counts_only_completed_runs_when_issuing_fails() {
        let cmds: std::vec::Vec<_> = (0..10).map(|k| Ok(asid(k).0)).collect();
        let (n, r, runs) = batch(&cmds, Some(1));
        assert_eq!((n, r, runs.len()), (4, Err(BatchError::Failed(9)), 2));
        // The last, short run after a refused command.
        let mut cmds = cmds;
        cmds[5] = Ok([0x28, 0]);
        let (n, r, runs) = batch(&cmds, Some(1));
        assert_eq!((n, r, runs.len()), (4, Err(BatchError::Failed(9)), 2));
    }

    /// An `F_TRANSLATION` record of StreamID 0x500, SSV, SSID 3, a read, an address, an IPA.
    const FAULT: [u64; 4] = [
        0x10 | 0x500 << 32 | 1 << 11 | 3 << 12,
        1 << 35,
        0xdead_b000,
        0x4000,
    ];

    #[test]
    fn forwarded_events() {
        // The IDs C forwards.
        for id in [0x04, 0x06, 0x08, 0x0a, 0x10, 0x11, 0x12, 0x13] {
            let mut e = FAULT;
            e[0] = e[0] & !0xff | id;
            assert!(is_user_event(&e), "{id:#x}");
            // Stalled (qword 1 bit 31) or stage 2 (qword 1 bit 39): not forwarded.
            e[1] |= 1 << 31;
            assert!(!is_user_event(&e), "{id:#x} stalled");
            e[1] = FAULT[1] | 1 << 39;
            assert!(!is_user_event(&e), "{id:#x} stage 2");
        }
        // Every other ID stays with the host.
        for id in
            (0..256u64).filter(|id| ![0x04, 0x06, 0x08, 0x0a, 0x10, 0x11, 0x12, 0x13].contains(id))
        {
            let mut e = FAULT;
            e[0] = e[0] & !0xff | id;
            assert!(!is_user_event(&e), "{id:#x}");
        }
    }

    #[test]
    fn vevent_replaces_the_sid_only() {
        assert_eq!(
            vevent(&FAULT, 0xffff_fffe),
            [
                0x10 | 0xffff_fffe << 32 | 1 << 11 | 3 << 12,
                1 << 35,
                0xdead_b000,
                0x4000
            ]
        );
    }
}
