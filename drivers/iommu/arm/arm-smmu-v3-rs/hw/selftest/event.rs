// SPDX-License-Identifier: GPL-2.0

//! Event and PRI record decoding ([`crate::hw::event`]).

use core::fmt;

use super::{
    at,
    expect,
    expect_eq,
    Check, //
};
use crate::hw::{
    event::{
        Event,
        EventId,
        FaultClass,
        PageRequest, //
    },
    ids::Ssid, //
};

/// A fixed-size buffer to format into without allocating.
pub(crate) struct FixedBuf<const N: usize> {
    /// The bytes written.
    buf: [u8; N],
    /// The number of bytes written.
    len: usize,
}

impl<const N: usize> FixedBuf<N> {
    /// An empty buffer.
    pub(crate) const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    /// Returns the text written so far.
    pub(crate) fn as_str(&self) -> &str {
        self.buf
            .get(..self.len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

impl<const N: usize> fmt::Write for FixedBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Checks that `value` formats as `want`.
fn expect_display(check: &'static str, value: &dyn fmt::Display, want: &str) -> Check {
    let mut buf = FixedBuf::<256>::new();
    let ok = fmt::write(&mut buf, format_args!("{}", value)).is_ok();
    expect(check, ok && buf.as_str() == want)
}

/// Event and PRI record decoding.
pub(crate) fn event_decoding() -> Check {
    // Type [7:0] = 0x10, SSV [11], SubstreamID [31:12] = 5, StreamID [63:32] = 0x20. Qword 1:
    // STAG [15:0] = 0x77, Stall [31], PnU [33], RnW [35], S2 [39], CLASS [41:40] = 2 (IN).
    // Qword 2: InputAddr. Qword 3: IPA [51:12].
    let raw = [
        0x10 | 1 << 11 | 5 << 12 | 0x20 << 32,
        0x77 | 1 << 31 | 1 << 33 | 1 << 35 | 1 << 39 | 2 << 40,
        0xdead_b000,
        0x1234_5000 | 0xfff,
    ];
    let evt = Event::decode(&raw);
    expect("F_TRANSLATION type", evt.kind == Some(EventId::Translation))?;
    expect_eq("StreamID", u64::from(evt.sid), 0x20)?;
    expect("SubstreamID", evt.ssid == Some(Ssid::new(5)?))?;
    expect("input address", evt.input_addr == Some(0xdead_b000))?;
    expect("IPA", evt.ipa == Some(0x1234_5000))?;
    expect("stall tag", evt.stag == Some(0x77))?;
    expect("class", evt.class == Some(FaultClass::Input))?;
    let access = evt.access.unwrap_or_default();
    expect(
        "access",
        access.read && !access.write && access.privileged && !access.instruction,
    )?;
    expect_display(
        "F_TRANSLATION line",
        &evt,
        "F_TRANSLATION sid 0x20 ssid 0x5 iova 0xdeadb000 ipa 0x12345000 priv data read s2 \
         \"input address\" stall stag 0x77",
    )?;

    // The stalled transaction: what the fault handler needs, and the tag to answer it with.
    let stall = evt.stall();
    expect(
        "stall",
        stall.is_some_and(|s| {
            s.sid == 0x20
                && s.ssid == Ssid::new(5).ok()
                && s.stag == 0x77
                && s.addr == 0xdead_b000
                && s.access == access
                && s.page_fault
        }),
    )?;
    // Without the Stall bit, no stall whatever the STAG field holds.
    let mut unstalled = raw;
    unstalled[1] &= !(1 << 31);
    expect(
        "no stall without Stall",
        Event::decode(&unstalled).stall().is_none(),
    )?;
    // A stalled write, instruction fetch, unprivileged, with no SubstreamID.
    let stalled_write = [0x13 | 4 << 32, 0xbeef | 1 << 31 | 1 << 34, 0x7000, 0];
    expect(
        "stalled write",
        Event::decode(&stalled_write).stall().is_some_and(|s| {
            s.ssid.is_none()
                && s.stag == 0xbeef
                && s.access.write
                && !s.access.read
                && s.access.instruction
                && !s.access.privileged
                && s.page_fault
        }),
    )?;
    // A stalled external abort on a walk is a stall, but no page fault to report.
    let stalled_eabt = [
        0x0b | 1 << 32,
        5 | 1 << 31 | 1 << 35 | 1 << 40,
        0x1000,
        0x9000,
    ];
    expect(
        "stalled F_WALK_EABT",
        Event::decode(&stalled_eabt)
            .stall()
            .is_some_and(|s| s.stag == 5 && !s.page_fault),
    )?;
    // Records without stall information never stall (C_BAD_STE, bit 31 set).
    expect(
        "C_BAD_STE never stalls",
        Event::decode(&[0x04 | 1 << 32, 1 << 31 | 3, 0, 0])
            .stall()
            .is_none(),
    )?;

    // F_PERMISSION on a stage 1 table walk (CLASS = 1) reports TTRnW [44]; a write (RnW = 0)
    // without a stall and without S2 has no IPA.
    let raw = [0x13 | 3 << 32, 1 << 34 | 1 << 40 | 1 << 44, 0x4000, 0];
    let evt = Event::decode(&raw);
    expect_display(
        "F_PERMISSION line",
        &evt,
        "F_PERMISSION sid 0x3 iova 0x4000 unpriv inst write s1 \"stage 1 table walk\" ttd_read",
    )?;

    // F_STE_FETCH: FetchAddr [51:3] of qword 3.
    let raw = [0x03 | 7 << 32, 0, 0, 0x8_0000_0048 | 0x7];
    let evt = Event::decode(&raw);
    expect("fetch address", evt.fetch_addr == Some(0x8_0000_0048))?;
    expect_display(
        "F_STE_FETCH line",
        &evt,
        "F_STE_FETCH sid 0x7 fetch 0x800000048",
    )?;

    // F_WALK_EABT has both a fault and a fetch address.
    let raw = [0x0b | 1 << 32, 1 << 35 | 1 << 40, 0x1000, 0x9000];
    let evt = Event::decode(&raw);
    expect(
        "F_WALK_EABT",
        evt.fetch_addr == Some(0x9000) && evt.input_addr == Some(0x1000),
    )?;

    // Every architected type decodes to itself and has a name; others stay unknown.
    for id in 0..=0xffu64 {
        let evt = Event::decode(&[id | 9 << 32, 0, 0, 0]);
        let known = EventId::from_raw(id);
        at(
            // CAST: `id` is at most 0xff.
            id as usize,
            expect(
                "event type round trip",
                evt.kind == known && u64::from(evt.id) == id,
            ),
        )?;
        if let Some(k) = known {
            // CAST: `id` is at most 0xff.
            at(id as usize, expect("named", k.name().len() > 3))?;
        }
    }
    expect(
        "C_BAD_STE has only stream identifiers",
        Event::decode(&[0x04 | 1 << 32, u64::MAX, u64::MAX, u64::MAX])
            .input_addr
            .is_none(),
    )?;
    expect_display(
        "unknown event",
        &Event::decode(&[0xe5 | 2 << 32, 0, 0, 0]),
        "event 0xe5 sid 0x2",
    )?;

    // PRI: StreamID [31:0], SubstreamID [51:32], Priv [58], X [59], R [60], W [61], L [62],
    // SSV [63]; qword 1: PRGI [8:0], page address [63:12].
    let raw = [
        0x33 | 9 << 32 | 1 << 58 | 1 << 60 | 1 << 61 | 1 << 62 | 1 << 63,
        0x1f | 0x4000_0000,
    ];
    let req = PageRequest::decode(&raw);
    expect("PRI not a stop marker", !req.is_stop_marker())?;
    // A Stop Marker has a PASID and L, W, R = 0b100; without a PASID it is a request.
    let stop = [0x33 | 9 << 32 | 1 << 62 | 1 << 63, 0x1f];
    expect(
        "PRI stop marker",
        PageRequest::decode(&stop).is_stop_marker(),
    )?;
    expect(
        "PRI LWR 0b100 without a PASID",
        !PageRequest::decode(&[0x33 | 1 << 62, 0x1f]).is_stop_marker(),
    )?;
    expect_eq("PRI StreamID", u64::from(req.sid), 0x33)?;
    expect("PRI SubstreamID", req.ssid == Some(Ssid::new(9)?))?;
    expect(
        "PRI access",
        req.access.read && req.access.write && !req.access.exec && req.access.privileged,
    )?;
    expect(
        "PRI last",
        req.last && req.grpid == 0x1f && req.addr == 0x4000_0000,
    )?;
    expect_display(
        "PRI line",
        &req,
        "page request sid 0x33 ssid 0x9 grpid 0x1f addr 0x40000000 RW-P last",
    )
}
