// SPDX-License-Identifier: GPL-2.0

//! The stage of a paging domain ([`crate::hw::pt::Format::for_request`]) against the rules of
//! the C driver's `intel_iommu_domain_alloc_paging_flags()` and
//! `paging_domain_compatible_second_stage()`.

use super::{
    expect,
    Check, //
};
use crate::hw::{
    pt::{
        Format,
        Request, //
    },
    regs::Ecap,
};

/// `ECAP.NEST` [26].
const NEST: u64 = 1 << 26;
/// `ECAP.SSADS` [45].
const SSADS: u64 = 1 << 45;
/// `ECAP.SSTS` [46].
const SSTS: u64 = 1 << 46;
/// `ECAP.FSTS` [47].
const FSTS: u64 = 1 << 47;
/// `ECAP.SMPWCS` [48].
const SMPWC: u64 = 1 << 48;

/// No flag.
const PLAIN: Request = Request {
    nest_parent: false,
    dirty_tracking: false,
};
/// `NEST_PARENT`.
const PARENT: Request = Request {
    nest_parent: true,
    dirty_tracking: false,
};
/// `DIRTY_TRACKING`.
const DIRTY: Request = Request {
    nest_parent: false,
    dirty_tracking: true,
};
/// Both.
const PARENT_DIRTY: Request = Request {
    nest_parent: true,
    dirty_tracking: true,
};

/// First stage where the unit has it and nothing else is asked; a nest parent or dirty
/// tracking only on a second-stage unit that nests or has `SSADS` with `SMPWC`; nothing on a
/// unit without either stage.
pub(crate) fn paging_formats() -> Check {
    let cases: [(&str, u64, Request, Option<Format>); 14] = [
        ("FS+SS plain", FSTS | SSTS, PLAIN, Some(Format::First)),
        ("FS plain", FSTS, PLAIN, Some(Format::First)),
        ("SS plain", SSTS, PLAIN, Some(Format::Second)),
        ("none plain", SMPWC | NEST, PLAIN, None),
        (
            "FS+SS+NEST parent",
            FSTS | SSTS | NEST,
            PARENT,
            Some(Format::Second),
        ),
        ("FS+SS parent, no NEST", FSTS | SSTS, PARENT, None),
        ("FS+NEST parent, no SS", FSTS | NEST, PARENT, None),
        ("SS+NEST parent", SSTS | NEST, PARENT, Some(Format::Second)),
        (
            "FS+SS+SSADS+SMPWC dirty",
            FSTS | SSTS | SSADS | SMPWC,
            DIRTY,
            Some(Format::Second),
        ),
        ("SS+SSADS dirty, no SMPWC", SSTS | SSADS, DIRTY, None),
        ("SS+SMPWC dirty, no SSADS", SSTS | SMPWC, DIRTY, None),
        (
            "SS+NEST+SSADS+SMPWC parent+dirty",
            SSTS | NEST | SSADS | SMPWC,
            PARENT_DIRTY,
            Some(Format::Second),
        ),
        (
            "SS+SSADS+SMPWC parent+dirty, no NEST",
            SSTS | SSADS | SMPWC,
            PARENT_DIRTY,
            None,
        ),
        (
            "SS+NEST parent+dirty, no SSADS",
            SSTS | NEST | SMPWC,
            PARENT_DIRTY,
            None,
        ),
    ];
    for (what, ecap, req, want) in cases {
        expect(what, Format::for_request(Ecap(ecap), req) == want)?;
    }
    // A second-stage domain moves only to units that can take what it was made for.
    expect("plain anywhere", PLAIN.unit_takes(Ecap(0)))?;
    expect("parent needs NEST", !PARENT.unit_takes(Ecap(SSTS)))?;
    expect("parent with NEST", PARENT.unit_takes(Ecap(SSTS | NEST)))?;
    expect("dirty needs SMPWC", !DIRTY.unit_takes(Ecap(SSTS | SSADS)))?;
    expect("dirty", DIRTY.unit_takes(Ecap(SSADS | SMPWC)))?;
    // A nest parent's leaves are always writable (C's PT_FEAT_VTDSS_FORCE_WRITEABLE).
    expect("parent read-only leaf", PARENT.leaf_write(false))?;
    expect("plain read-only leaf", !PLAIN.leaf_write(false))?;
    expect("plain writable leaf", PLAIN.leaf_write(true))
}
