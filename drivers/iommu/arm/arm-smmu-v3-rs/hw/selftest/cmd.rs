// SPDX-License-Identifier: GPL-2.0

//! Command encodings ([`crate::hw::cmd`]) against the specification's field tables.

use super::{
    expect,
    expect_eq,
    expect_words,
    Check, //
};
use crate::hw::{
    cmd::{
        AddrTlbi,
        Cmd,
        FaultResponse,
        Opcode,
        PriResp,
        ResumeAction,
        SyncCompletion,
        TlbiAddr, //
    },
    ids::Ssid,
    Error, //
};

/// Command encodings.
pub(crate) fn cmd_encodings() -> Check {
    let ssid = |raw| Ssid::new(raw);
    // Opcode [7:0]; SID [63:32]; Leaf: qword 1 [0].
    expect_words(
        "CFGI_STE",
        Cmd::cfgi_ste(0x42, true).words(),
        &[0x03 | 0x42 << 32, 1],
    )?;
    // Range: qword 1 [4:0].
    expect_words("CFGI_ALL", Cmd::cfgi_all().words(), &[0x04, 31])?;
    expect_words(
        "CFGI_STE_RANGE",
        Cmd::cfgi_ste_range(0x100, 7)?.words(),
        &[0x04 | 0x100 << 32, 7],
    )?;
    // SSID [31:12].
    expect_words(
        "CFGI_CD",
        Cmd::cfgi_cd(5, ssid(7)?, true).words(),
        &[0x05 | 7 << 12 | 5 << 32, 1],
    )?;
    expect_words(
        "CFGI_CD_ALL",
        Cmd::cfgi_cd_all(9).words(),
        &[0x06 | 9 << 32, 0],
    )?;
    expect_words(
        "PREFETCH_CONFIG",
        Cmd::prefetch_config(7).words(),
        &[0x01 | 7 << 32, 0],
    )?;
    // VMID [47:32], ASID [63:48].
    expect_words(
        "TLBI_NH_ALL",
        Cmd::tlbi_nh_all(4).words(),
        &[0x10 | 4 << 32, 0],
    )?;
    expect_words(
        "TLBI_NH_ASID",
        Cmd::tlbi_nh_asid(3, 4).words(),
        &[0x11 | 4 << 32 | 3 << 48, 0],
    )?;
    expect_words("TLBI_EL2_ALL", Cmd::tlbi_el2_all().words(), &[0x20, 0])?;
    expect_words(
        "TLBI_EL2_ASID",
        Cmd::tlbi_el2_asid(6).words(),
        &[0x21 | 6 << 48, 0],
    )?;
    expect_words(
        "TLBI_S12_VMALL",
        Cmd::tlbi_s12_vmall(9).words(),
        &[0x28 | 9 << 32, 0],
    )?;
    expect_words("TLBI_NSNH_ALL", Cmd::tlbi_nsnh_all().words(), &[0x30, 0])?;
    // NUM [16:12], SCALE [24:20]; qword 1: Leaf [0], TTL [9:8], TG [11:10], Address [63:12].
    let a = TlbiAddr {
        addr: 0xffff_8000_1234_5678,
        leaf: true,
        num: 3,
        scale: 5,
        tg: 1,
        ttl: 3,
    };
    expect_words(
        "TLBI_NH_VA",
        Cmd::tlbi_addr(AddrTlbi::NhVa { asid: 2, vmid: 1 }, &a)?.words(),
        &[
            0x12 | 3 << 12 | 5 << 20 | 1 << 32 | 2 << 48,
            1 | 3 << 8 | 1 << 10 | 0xffff_8000_1234_5000,
        ],
    )?;
    expect_words(
        "TLBI_NH_VAA",
        Cmd::tlbi_addr(AddrTlbi::NhVaa { vmid: 1 }, &a)?.words(),
        &[
            0x13 | 3 << 12 | 5 << 20 | 1 << 32,
            1 | 3 << 8 | 1 << 10 | 0xffff_8000_1234_5000,
        ],
    )?;
    expect_words(
        "TLBI_EL2_VA",
        Cmd::tlbi_addr(AddrTlbi::El2Va { asid: 2 }, &a)?.words(),
        &[
            0x22 | 3 << 12 | 5 << 20 | 2 << 48,
            1 | 3 << 8 | 1 << 10 | 0xffff_8000_1234_5000,
        ],
    )?;
    // TLBI_S2_IPA: Address [51:12]; a VA above bit 51 is refused.
    expect(
        "TLBI_S2_IPA beyond 52 bits",
        Cmd::tlbi_addr(AddrTlbi::S2Ipa { vmid: 1 }, &a) == Err(Error::BadAddress),
    )?;
    let ipa = TlbiAddr {
        addr: 0x8_1234_5000,
        ..a
    };
    expect_words(
        "TLBI_S2_IPA",
        Cmd::tlbi_addr(AddrTlbi::S2Ipa { vmid: 1 }, &ipa)?.words(),
        &[
            0x2a | 3 << 12 | 5 << 20 | 1 << 32,
            1 | 3 << 8 | 1 << 10 | 0x8_1234_5000,
        ],
    )?;
    let bad = TlbiAddr { num: 32, ..a };
    expect(
        "NUM overflow",
        Cmd::tlbi_addr(AddrTlbi::NhVaa { vmid: 0 }, &bad) == Err(Error::Overflow),
    )?;
    // ATC_INV: SSV [11], Global [9], SSID [31:12], SID [63:32]; Size: qword 1 [5:0],
    // Address [63:12].
    expect_words(
        "ATC_INV",
        Cmd::atc_inv(1, Some(ssid(2)?), 0x10_0000, 8)?.words(),
        &[0x40 | 1 << 11 | 2 << 12 | 1 << 32, 8 | 0x10_0000],
    )?;
    expect(
        "ATC_INV misaligned",
        Cmd::atc_inv(1, None, 0x1000, 1) == Err(Error::BadAddress),
    )?;
    expect_words(
        "ATC_INV all",
        Cmd::atc_inv_all(1, None).words(),
        &[0x40 | 1 << 32, 52],
    )?;
    // Pages 8 to 11 need a span of 4 pages at page 8.
    expect_words(
        "ATC_INV range, aligned",
        Cmd::atc_inv_range(1, None, 0x8000, 0x4000).words(),
        &[0x40 | 1 << 32, 2 | 0x8000],
    )?;
    // Pages 7 to 10 need a span of 16 pages at page 0.
    expect_words(
        "ATC_INV range, unaligned",
        Cmd::atc_inv_range(1, None, 0x7000, 0x4000).words(),
        &[0x40 | 1 << 32, 4],
    )?;
    expect_words(
        "ATC_INV range 0 is everything",
        Cmd::atc_inv_range(1, None, 0x7000, 0).words(),
        &[0x40 | 1 << 32, 52],
    )?;
    // PRI_RESP: PRGI qword 1 [8:0], Resp qword 1 [13:12].
    expect_words(
        "PRI_RESP",
        Cmd::pri_resp(2, Some(ssid(3)?), 0x1ff, PriResp::Success)?.words(),
        &[0x41 | 1 << 11 | 3 << 12 | 2 << 32, 0x1ff | 2 << 12],
    )?;
    expect(
        "PRI_RESP group overflow",
        Cmd::pri_resp(2, None, 0x200, PriResp::Deny) == Err(Error::Overflow),
    )?;
    // RESUME: Action [13:12]; STAG qword 1 [15:0].
    expect_words(
        "RESUME",
        Cmd::resume(0x10, 0x1234, ResumeAction::Retry).words(),
        &[0x44 | 1 << 12 | 0x10 << 32, 0x1234],
    )?;
    // The answers of the IOMMU core, as `CMD_RESUME` actions and `CMD_PRI_RESP` responses.
    for (code, action, pri) in [
        (
            Some(FaultResponse::Success),
            ResumeAction::Retry,
            PriResp::Success,
        ),
        (
            Some(FaultResponse::Invalid),
            ResumeAction::Abort,
            PriResp::Deny,
        ),
        (
            Some(FaultResponse::Failure),
            ResumeAction::Abort,
            PriResp::Fail,
        ),
        (None, ResumeAction::Terminate, PriResp::Deny),
    ] {
        expect(
            "response as RESUME action",
            FaultResponse::resume_action(code) == action,
        )?;
        expect("response as PRI_RESP", FaultResponse::pri_resp(code) == pri)?;
    }
    expect_words(
        "RESUME abort",
        Cmd::resume(0x10, 0xffff, ResumeAction::Abort).words(),
        &[0x44 | 2 << 12 | 0x10 << 32, 0xffff],
    )?;
    expect_words(
        "STALL_TERM",
        Cmd::stall_term(5).words(),
        &[0x45 | 5 << 32, 0],
    )?;
    // CMD_SYNC: CS [13:12], MSH [23:22], MSIAttr [27:24], MSIData [63:32]; MSIAddress qword 1
    // [51:2].
    expect_words(
        "CMD_SYNC",
        Cmd::sync(SyncCompletion::None)?.words(),
        &[0x46, 0],
    )?;
    expect_words(
        "CMD_SYNC SEV",
        Cmd::sync(SyncCompletion::Sev)?.words(),
        &[0x46 | 2 << 12, 0],
    )?;
    expect_words(
        "CMD_SYNC MSI",
        Cmd::sync(SyncCompletion::Msi {
            addr: 0x4000_1004,
            data: 0xcafe,
        })?
        .words(),
        &[
            0x46 | 1 << 12 | 3 << 22 | 0xf << 24 | 0xcafe << 32,
            0x4000_1004,
        ],
    )?;
    expect(
        "CMD_SYNC misaligned MSI",
        Cmd::sync(SyncCompletion::Msi { addr: 2, data: 0 }) == Err(Error::BadAddress),
    )?;
    expect(
        "opcode decodes",
        Cmd::stall_term(5).opcode() == Some(Opcode::StallTerm),
    )?;
    expect_eq("SID decodes", u64::from(Cmd::stall_term(5).sid()), 5)?;
    expect(
        "unknown opcode",
        Cmd::from_words([0xff, 0]).opcode().is_none(),
    )?;
    expect("SSID overflow", Ssid::new(1 << 20) == Err(Error::Overflow))
}
