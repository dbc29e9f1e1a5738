// SPDX-License-Identifier: GPL-2.0

//! PASID directory and table entries ([`crate::hw::pasid`]) against the specification's
//! layouts.

use super::{
    expect,
    expect_eq,
    expect_words,
    Check, //
};
use crate::hw::{
    ids::{
        DomainId,
        Pasid, //
    },
    pasid::{
        self,
        FirstStage,
        PasidEntry,
        SecondStage,
        Translation, //
    },
    regs::Agaw,
    Error, //
};

/// PASID directory entries and PASID indexing.
pub(crate) fn dir_entries() -> Check {
    // P [0], FPD [1], SMPTBLPTR [63:12].
    expect_eq(
        "PASID dir",
        pasid::dir_entry(0x7_8000_0000, false)?,
        0x7_8000_0001,
    )?;
    expect_eq("PASID dir FPD", pasid::dir_entry(0x1000, true)?, 0x1003)?;
    expect(
        "PASID dir misaligned",
        pasid::dir_entry(0x1040, false) == Err(Error::BadAddress),
    )?;
    expect(
        "PASID dir table",
        pasid::dir_entry_table(0x7_8000_0003) == Some(0x7_8000_0000),
    )?;
    expect(
        "PASID dir absent",
        pasid::dir_entry_table(0x7_8000_0002).is_none(),
    )?;
    // The directory is indexed by PASID[19:6], the table by PASID[5:0].
    expect(
        "PASID split",
        Pasid::new(0xf_ffff)?.split() == (0x3fff, 0x3f),
    )?;
    expect("PASID split 64", Pasid::new(64)?.split() == (1, 0))?;
    expect(
        "PASID 21 bits",
        Pasid::new(0x10_0000) == Err(Error::Overflow),
    )?;
    Ok(())
}

/// PASID table entries of each translation type.
pub(crate) fn pasid_entries() -> Check {
    // Qword 0: P [0], FPD [1], AW [4:2], PGTT [8:6], SSADE [9], SSPTPTR [63:12].
    // Qword 1: DID [79:64], PWSNP [87], PGSNP [88].
    // Qword 2: SRE [128], FSPM [131:130], WPE [132], EAFE [135], FSPTPTR [191:140].
    let did = DomainId::new(0x1234);
    let ss = PasidEntry {
        did,
        aw: Agaw::Bits48,
        translation: Translation::SecondStage(SecondStage {
            table: 0xab_cdef_0000,
            ssade: false,
        }),
        pwsnp: true,
        pgsnp: false,
        fpd: false,
    };
    expect_words(
        "PASID SS",
        &ss.encode()?,
        &[
            0xab_cdef_0000 | 2 << 6 | 2 << 2 | 1,
            0x1234 | 1 << 23,
            0,
            0,
            0,
            0,
            0,
            0,
        ],
    )?;
    expect(
        "PASID SS decode",
        PasidEntry::decode(&ss.encode()?) == Ok(Some(ss)),
    )?;
    let dirty = PasidEntry {
        translation: Translation::SecondStage(SecondStage {
            table: 0x1000,
            ssade: true,
        }),
        pwsnp: false,
        pgsnp: true,
        fpd: true,
        ..ss
    };
    expect_words(
        "PASID SS dirty",
        &dirty.encode()?,
        &[
            0x1000 | 1 << 9 | 2 << 6 | 2 << 2 | 1 << 1 | 1,
            0x1234 | 1 << 24,
            0,
            0,
            0,
            0,
            0,
            0,
        ],
    )?;

    let fs = PasidEntry {
        did,
        aw: Agaw::Bits48,
        translation: Translation::FirstStage(FirstStage::new(0x5_0000_0000, true)),
        pwsnp: false,
        pgsnp: true,
        fpd: false,
    };
    expect_words(
        "PASID FS",
        &fs.encode()?,
        &[
            1 << 6 | 2 << 2 | 1,
            0x1234 | 1 << 24,
            0x5_0000_0000 | 1 << 2,
            0,
            0,
            0,
            0,
            0,
        ],
    )?;
    expect(
        "PASID FS decode",
        PasidEntry::decode(&fs.encode()?) == Ok(Some(fs)),
    )?;

    let s1 = FirstStage {
        table: 0x6000,
        five_level: false,
        sre: true,
        wpe: true,
        eafe: true,
    };
    let nested = PasidEntry {
        translation: Translation::Nested(
            s1,
            SecondStage {
                table: 0x7000,
                ssade: false,
            },
        ),
        pgsnp: false,
        ..fs
    };
    expect_words(
        "PASID nested",
        &nested.encode()?,
        &[
            0x7000 | 3 << 6 | 2 << 2 | 1,
            0x1234,
            0x6000 | 1 << 7 | 1 << 4 | 1,
            0,
            0,
            0,
            0,
            0,
        ],
    )?;
    expect(
        "PASID nested decode",
        PasidEntry::decode(&nested.encode()?) == Ok(Some(nested)),
    )?;

    let pt = PasidEntry {
        did: DomainId::new(2),
        aw: Agaw::Bits39,
        translation: Translation::PassThrough,
        pwsnp: false,
        pgsnp: false,
        fpd: false,
    };
    expect_words(
        "PASID PT",
        &pt.encode()?,
        &[4 << 6 | 1 << 2 | 1, 2, 0, 0, 0, 0, 0, 0],
    )?;
    expect(
        "PASID PT decode",
        PasidEntry::decode(&pt.encode()?) == Ok(Some(pt)),
    )?;

    // Errors and reserved encodings.
    let wpe_only = FirstStage { sre: false, ..s1 };
    expect(
        "PASID WPE without SRE",
        PasidEntry {
            translation: Translation::FirstStage(wpe_only),
            ..fs
        }
        .encode()
            == Err(Error::UnusedBitsSet),
    )?;
    expect(
        "PASID misaligned FS",
        PasidEntry {
            translation: Translation::FirstStage(FirstStage::new(0x6100, false)),
            ..fs
        }
        .encode()
            == Err(Error::BadAddress),
    )?;
    expect(
        "PASID absent",
        PasidEntry::decode(&PasidEntry::cleared(true)) == Ok(None),
    )?;
    expect_words(
        "PASID cleared FPD",
        &PasidEntry::cleared(true),
        &[2, 0, 0, 0, 0, 0, 0, 0],
    )?;
    // PGTT 0 and 5 are reserved, and FSPM 2.
    let mut w = [0u64; 8];
    w[0] = 1 | 2 << 2;
    expect(
        "PASID PGTT 0",
        PasidEntry::decode(&w) == Err(Error::Invalid),
    )?;
    w[0] = 1 | 2 << 2 | 5 << 6;
    expect(
        "PASID PGTT 5",
        PasidEntry::decode(&w) == Err(Error::Invalid),
    )?;
    w[0] = 1 | 2 << 2 | 1 << 6;
    w[2] = 2 << 2;
    expect(
        "PASID FSPM 2",
        PasidEntry::decode(&w) == Err(Error::Invalid),
    )?;
    Ok(())
}
