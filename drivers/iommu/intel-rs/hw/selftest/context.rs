// SPDX-License-Identifier: GPL-2.0

//! Root and context entries ([`crate::hw::context`]) against the specification's layouts.

use super::{
    expect,
    expect_words,
    Check, //
};
use crate::hw::{
    context::{
        ContextEntry,
        RootEntry,
        SmContextEntry,
        TranslationType, //
    },
    ids::{
        DomainId,
        Pasid, //
    },
    regs::Agaw,
    Error, //
};

/// Root entries, legacy and scalable mode.
pub(crate) fn root_entries() -> Check {
    // Legacy: P [0], CTP [63:12]; bits 127:64 reserved.
    let legacy = RootEntry {
        lower: Some(0x1_2345_6000),
        upper: None,
    };
    expect_words("root legacy", &legacy.encode()?, &[0x1_2345_6000 | 1, 0])?;
    // Scalable mode: LP [0], LCTP [63:12], UP [64], UCTP [127:76].
    let both = RootEntry {
        lower: Some(0xa000),
        upper: Some(0xfff_ffff_f000),
    };
    expect_words(
        "root SM",
        &both.encode()?,
        &[0xa000 | 1, 0xfff_ffff_f000 | 1],
    )?;
    let upper = RootEntry {
        lower: None,
        upper: Some(0xb000),
    };
    expect_words("root SM upper only", &upper.encode()?, &[0, 0xb000 | 1])?;
    expect_words("root empty", &RootEntry::default().encode()?, &[0, 0])?;
    expect(
        "root misaligned",
        RootEntry {
            lower: Some(0xa800),
            upper: None,
        }
        .encode()
            == Err(Error::BadAddress),
    )?;
    expect(
        "root decode SM",
        RootEntry::decode(&[0xa001, 0xb001], true) == both_of(0xa000, 0xb000),
    )?;
    // In legacy mode the upper qword is reserved, whatever it holds.
    expect(
        "root decode legacy",
        RootEntry::decode(&[0xa001, 0xb001], false)
            == RootEntry {
                lower: Some(0xa000),
                upper: None,
            },
    )?;
    expect(
        "root decode absent",
        RootEntry::decode(&[0xa000, 0xb000], true) == RootEntry::default(),
    )?;
    // Scalable mode: devfn 0-127 in the lower table, 128-255 at `devfn - 128` in the upper.
    let r = both_of(0xa000, 0xb000);
    expect(
        "locate SM 0x7f",
        r.locate(0x7f, true) == (Some(0xa000), 0x7f),
    )?;
    expect("locate SM 0x80", r.locate(0x80, true) == (Some(0xb000), 0))?;
    expect(
        "locate legacy 0xff",
        r.locate(0xff, false) == (Some(0xa000), 0xff),
    )?;
    Ok(())
}

/// A scalable-mode root entry with both tables.
fn both_of(lower: u64, upper: u64) -> RootEntry {
    RootEntry {
        lower: Some(lower),
        upper: Some(upper),
    }
}

/// Legacy context entries.
pub(crate) fn context_entries() -> Check {
    // P [0], FPD [1], TT [3:2], SSPTPTR [63:12]; AW [66:64], DID [87:72].
    let e = ContextEntry {
        did: DomainId::new(0xabcd),
        tt: TranslationType::Untranslated,
        table: Some(0x12_3456_7000),
        aw: Agaw::Bits48,
        fpd: false,
    };
    expect_words(
        "context SS",
        &e.encode()?,
        &[0x12_3456_7000 | 1, 2 | 0xabcd << 8],
    )?;
    expect(
        "context SS decode",
        ContextEntry::decode(&e.encode()?) == Ok(Some(e)),
    )?;
    let dt = ContextEntry {
        tt: TranslationType::DevTlb,
        fpd: true,
        aw: Agaw::Bits39,
        ..e
    };
    expect_words(
        "context dev-TLB",
        &dt.encode()?,
        &[0x12_3456_7000 | 1 << 2 | 1 << 1 | 1, 1 | 0xabcd << 8],
    )?;
    let pt = ContextEntry {
        did: DomainId::new(1),
        tt: TranslationType::PassThrough,
        table: None,
        aw: Agaw::Bits57,
        fpd: false,
    };
    expect_words("context PT", &pt.encode()?, &[2 << 2 | 1, 3 | 1 << 8])?;
    expect(
        "context PT decode",
        ContextEntry::decode(&pt.encode()?) == Ok(Some(pt)),
    )?;
    expect(
        "context PT with table",
        ContextEntry {
            table: Some(0x1000),
            ..pt
        }
        .encode()
            == Err(Error::UnusedBitsSet),
    )?;
    expect(
        "context SS without table",
        ContextEntry { table: None, ..e }.encode() == Err(Error::Invalid),
    )?;
    expect(
        "context misaligned",
        ContextEntry {
            table: Some(0x1_0010),
            ..e
        }
        .encode()
            == Err(Error::BadAddress),
    )?;
    expect(
        "context absent",
        ContextEntry::decode(&[0x1000, 0x100]) == Ok(None),
    )?;
    // TT = 3 and AW = 4 are reserved.
    expect(
        "context TT 3",
        ContextEntry::decode(&[3 << 2 | 1, 2]) == Err(Error::Invalid),
    )?;
    expect(
        "context AW 4",
        ContextEntry::decode(&[1, 4]) == Err(Error::Invalid),
    )?;
    Ok(())
}

/// Scalable-mode context entries.
pub(crate) fn sm_context_entries() -> Check {
    // P [0], FPD [1], DTE [2], PASIDE [3], PRE [4], PDTS [11:9], PASIDDIRPTR [63:12];
    // RID_PASID [83:64], RID_PRIV [84]; bits 255:85 reserved.
    let e = SmContextEntry {
        pasid_dir: 0x3_0000_0000,
        pdts: 0,
        rid_pasid: Pasid::NONE,
        rid_priv: false,
        dte: false,
        paside: false,
        pre: false,
        fpd: false,
    };
    expect_words("SM context", &e.encode()?, &[0x3_0000_0000 | 1, 0, 0, 0])?;
    let all = SmContextEntry {
        pasid_dir: 0xffff_ffff_f000,
        pdts: 7,
        rid_pasid: Pasid::new(0xf_ffff)?,
        rid_priv: true,
        dte: true,
        paside: true,
        pre: true,
        fpd: true,
    };
    expect_words(
        "SM context all",
        &all.encode()?,
        &[0xffff_ffff_f000 | 7 << 9 | 0x1f, 0x1f_ffff, 0, 0],
    )?;
    expect(
        "SM context decode",
        SmContextEntry::decode(&all.encode()?) == Some(all),
    )?;
    expect(
        "SM context absent",
        SmContextEntry::decode(&[0xe, 0, 0, 0]).is_none(),
    )?;
    expect(
        "SM context PDTS 8",
        SmContextEntry { pdts: 8, ..e }.encode() == Err(Error::Overflow),
    )?;
    expect(
        "SM context misaligned",
        SmContextEntry {
            pasid_dir: 0x800,
            ..e
        }
        .encode()
            == Err(Error::BadAddress),
    )?;
    // PDTS: 2^(PDTS + 7) directory entries.
    expect("PDTS 128", SmContextEntry::pdts_for(128) == Some(0))?;
    expect("PDTS 2^14", SmContextEntry::pdts_for(1 << 14) == Some(7))?;
    expect("PDTS 2^15", SmContextEntry::pdts_for(1 << 15).is_none())?;
    expect("PDTS 64", SmContextEntry::pdts_for(64).is_none())?;
    expect("PDTS 129", SmContextEntry::pdts_for(129).is_none())?;
    expect("PDTS entries", all.dir_entries() == Some(1 << 14))?;
    expect(
        "PDTS 8 entries",
        SmContextEntry { pdts: 8, ..e }.dir_entries().is_none(),
    )?;
    Ok(())
}
