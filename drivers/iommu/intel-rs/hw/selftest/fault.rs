// SPDX-License-Identifier: GPL-2.0

//! Fault record decoding ([`crate::hw::fault`]) against the specification's `FRCD_REG` layout.

use super::{
    at,
    expect,
    expect_eq,
    Check, //
};
use crate::hw::fault::{
    self,
    Access,
    FaultRecord,
    ReasonKind, //
};

/// Fault recording register decoding.
pub(crate) fn records() -> Check {
    // FI [63:12]; SID [79:64], T2 [92], PRIV [93], EXE [94], PP [95], FR [103:96],
    // PV [123:104], AT [125:124], T1 [126], F [127].
    let hi = |bit: u32| 1u64 << (bit - 64);
    let read = [
        0xdead_b000 | 0xabc,
        0x0018 | 6 << (96 - 64) | hi(126) | hi(127),
    ];
    let Some(r) = FaultRecord::decode(&read) else {
        return expect("FRCD F set", false);
    };
    expect_eq("FRCD FI", r.addr, 0xdead_b000)?;
    expect_eq("FRCD SID", r.sid.raw().into(), 0x0018)?;
    expect(
        "FRCD BDF",
        r.sid.bus() == 0 && r.sid.dev() == 3 && r.sid.func() == 0,
    )?;
    expect_eq("FRCD FR", r.reason.into(), 6)?;
    expect("FRCD T1 read", r.access == Access::Read)?;
    expect("FRCD no PASID", r.pasid.is_none())?;
    expect(
        "FRCD clear bits",
        !r.t2 && !r.exe && !r.privileged && r.at == 0,
    )?;

    let write = [
        0x1000,
        0xff_07
            | hi(92)
            | hi(93)
            | hi(94)
            | hi(95)
            | 0x71 << 32
            | 0xf_ffff << 40
            | 2 << 60
            | hi(127),
    ];
    let Some(w) = FaultRecord::decode(&write) else {
        return expect("FRCD F set", false);
    };
    expect("FRCD T1 write", w.access == Access::Write)?;
    expect_eq("FRCD PV", w.pasid.map_or(0, |p| p.raw()).into(), 0xf_ffff)?;
    expect("FRCD flags", w.t2 && w.exe && w.privileged)?;
    expect_eq("FRCD AT", w.at.into(), 2)?;
    expect_eq("FRCD FR SM", w.reason.into(), 0x71)?;
    expect_eq("FRCD SID 2", w.sid.raw().into(), 0xff07)?;
    expect(
        "FRCD BDF 2",
        w.sid.bus() == 0xff && w.sid.dev() == 0 && w.sid.func() == 7,
    )?;
    // PP alone gives a PASID; EXE alone does not.
    let pp = FaultRecord::decode(&[0, 5 << 40 | hi(95) | hi(127)]);
    expect_eq(
        "FRCD PP",
        pp.and_then(|r| r.pasid).map_or(0, |p| p.raw()).into(),
        5,
    )?;
    let exe = FaultRecord::decode(&[0, 5 << 40 | hi(94) | hi(127)]);
    expect("FRCD EXE", exe.is_some_and(|r| r.exe && r.pasid.is_none()))?;
    // Interrupt remapping faults carry the index in FI[63:48].
    let ir = [0x1234 << 48, 0x22 << 32 | hi(127)];
    expect_eq(
        "FRCD interrupt index",
        FaultRecord::decode(&ir)
            .map_or(0, |r| r.interrupt_index())
            .into(),
        0x1234,
    )?;
    expect(
        "FRCD F clear",
        FaultRecord::decode(&[0x1000, !hi(127)]).is_none(),
    )?;
    expect_eq("FRCD F in high dword", fault::FRCD_HI_F.into(), 1 << 31)?;
    Ok(())
}

/// The fault reasons this layer names: exactly the codes the C driver's tables name (every
/// other code is "Unknown" in both), but for 0, reserved in the specification, which the C
/// driver calls "Software"; and of the right kind.
pub(crate) fn reasons() -> Check {
    let named = |fr: u8| {
        matches!(
            fr,
            0x01..=0x0d
                | 0x20..=0x26
                | 0x30..=0x32
                | 0x38..=0x3a
                | 0x40..=0x48
                | 0x50..=0x52
                | 0x58..=0x5d
                | 0x70..=0x7c
                | 0x80..=0x87
                | 0x90
        )
    };
    for fr in 0..=u8::MAX {
        let (kind, text) = fault::reason(fr);
        let idx = usize::from(fr);
        at(
            idx,
            expect("reason named", (kind != ReasonKind::Unknown) == named(fr)),
        )?;
        at(idx, expect("reason text", (text == "Unknown") != named(fr)))?;
        let interrupt = (0x20..=0x26).contains(&fr);
        at(
            idx,
            expect("reason kind", (kind == ReasonKind::Interrupt) == interrupt),
        )?;
    }
    Ok(())
}
