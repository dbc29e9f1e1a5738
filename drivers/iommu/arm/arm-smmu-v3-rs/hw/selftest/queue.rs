// SPDX-License-Identifier: GPL-2.0

//! Queue index arithmetic ([`crate::hw::prodcons`]).

use super::{
    expect,
    expect_eq,
    Check, //
};
use crate::hw::{
    prodcons::{
        CmdqError,
        Queue, //
    },
    Error, //
};

/// Queue index arithmetic.
pub(crate) fn queue_arithmetic() -> Check {
    let q = Queue::new(3)?;
    expect("too large queue", Queue::new(20) == Err(Error::Invalid))?;
    expect("empty", q.is_empty(0, 0) && !q.is_full(0, 0))?;
    expect_eq("space when empty", u64::from(q.space(0, 0)), 8)?;
    // Index 0 with the wrap bit (bit 3) set against index 0 without it: full.
    expect("full", q.is_full(0b1000, 0) && !q.is_empty(0b1000, 0))?;
    expect_eq("space when full", u64::from(q.space(0b1000, 0)), 0)?;
    // Advancing flips the wrap bit every 8 entries and keeps the overflow flag.
    expect_eq("advance", u64::from(q.advance(7, 1)), 0b1000)?;
    expect_eq("advance wrap", u64::from(q.advance(0b1111, 1)), 0)?;
    expect_eq(
        "advance keeps OVF",
        u64::from(q.advance(1 << 31 | 6, 3)),
        1 << 31 | 0b1001,
    )?;
    expect_eq("used across the wrap", u64::from(q.used(0b1001, 6)), 3)?;
    expect(
        "has space",
        q.has_space(0b1001, 6, 5) && !q.has_space(0b1001, 6, 6),
    )?;
    expect(
        "consumed",
        q.consumed(5, 4) && !q.consumed(4, 4) && q.consumed(0b1000, 7),
    )?;
    expect(
        "overflow",
        Queue::overflowed(1 << 31, 0) && !Queue::overflowed(0, 0),
    )?;
    expect_eq(
        "overflow ack",
        u64::from(Queue::ack_overflow(1 << 31 | 3, 5)),
        1 << 31 | 5,
    )?;
    // CONS.ERR [30:24].
    expect(
        "CERROR_ILL",
        CmdqError::from_cons(1 << 24 | 5) == Some(CmdqError::Ill),
    )?;
    expect(
        "CERROR_ATC_INV_SYNC",
        CmdqError::from_cons(3 << 24) == Some(CmdqError::AtcInvSync),
    )?;
    expect(
        "no error",
        CmdqError::from_cons(0x00ff_ffff) == Some(CmdqError::None),
    )?;
    // Q_BASE: RA [62], ADDR [51:5], LOG2SIZE [4:0]; 8 entries of 16 bytes need 128-byte
    // alignment.
    expect_eq(
        "queue base",
        q.base(0x1_0000, 4, true)?,
        1 << 62 | 0x1_0000 | 3,
    )?;
    expect(
        "queue base alignment",
        q.base(0x1_0040, 4, false) == Err(Error::BadAddress),
    )
}
