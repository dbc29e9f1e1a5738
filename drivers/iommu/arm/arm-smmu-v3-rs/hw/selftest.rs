// SPDX-License-Identifier: GPL-2.0

//! Checks of the hardware formats shared by the host tests and KUnit.
//!
//! Every check returns a [`Failure`] instead of panicking: in the kernel, a `core` panic is a
//! BUG, and `#[kunit_tests]` only redefines `assert!` inside its own module. The expected raw
//! words are written out from the field tables of the SMMUv3 specification; the comments name
//! the fields and their bit positions inside the qword.
//!
//! The STE and CD transition cases reproduce the C driver's KUnit suite
//! (`drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-test.c`) with entries of the same shape.

use core::fmt;

pub(crate) mod illegal;
pub(crate) mod probe;

use crate::hw::{
    attr::{
        Cacheability,
        Granule,
        Shareability, //
    },
    cd::{
        Cd,
        CdCfg,
        Ttb0, //
    },
    cmd::{
        AddrTlbi,
        Cmd,
        Opcode,
        PriResp,
        ResumeAction,
        SyncCompletion,
        TlbiAddr,
        NUM,
        SCALE,
        TG,
        TTL, //
    },
    event::{
        Event,
        EventId,
        FaultClass,
        PageRequest, //
    },
    hitless::{
        EntryFormat,
        EntryWords,
        EntryWriter,
        Plan,
        Step,
        UpdateKind,
        ENTRY_QWORDS, //
    },
    ids::Ssid,
    queue::{
        CmdqError,
        Queue, //
    },
    regs::{
        Idr,
        StallModel,
        StrtabFmt,
        TtEndian,
        Ttf, //
    },
    ste::{
        CdTable,
        Eats,
        S1Dss,
        S1Fmt,
        S2Table,
        Shcfg,
        Ste,
        StreamAttrs,
        Strw,
        Vtcr, //
    },
    tlbi::{
        RangeRequest,
        TlbiRange, //
    },
    Error,
};

/// A failed check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    /// What was checked.
    pub(crate) check: &'static str,
    /// The qword or case index the mismatch is in, when there is one.
    pub(crate) index: Option<usize>,
    /// The value found.
    pub(crate) got: u64,
    /// The value expected.
    pub(crate) want: u64,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.check)?;
        if let Some(i) = self.index {
            write!(f, " [{}]", i)?;
        }
        write!(f, ": got {:#x}, want {:#x}", self.got, self.want)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self {
            check: "unexpected hw::Error",
            index: None,
            // CAST: The discriminant is only reported, to tell the variants apart.
            got: e as u64,
            want: 0,
        }
    }
}

/// The result of a check.
pub(crate) type Check = Result<(), Failure>;

/// Fails `check` unless `got == want`.
pub(crate) fn expect_eq(check: &'static str, got: u64, want: u64) -> Check {
    if got == want {
        Ok(())
    } else {
        Err(Failure {
            check,
            index: None,
            got,
            want,
        })
    }
}

/// Fails `check` unless `cond` holds.
pub(crate) fn expect(check: &'static str, cond: bool) -> Check {
    expect_eq(check, u64::from(cond), 1)
}

/// Fails `check` at the first index where the word slices differ.
pub(crate) fn expect_words(check: &'static str, got: &[u64], want: &[u64]) -> Check {
    if got.len() != want.len() {
        return Err(Failure {
            check,
            index: None,
            // CAST: Slice lengths fit in `u64` on every supported architecture.
            got: got.len() as u64,
            // CAST: As above.
            want: want.len() as u64,
        });
    }
    for (index, (&g, &w)) in got.iter().zip(want.iter()).enumerate() {
        if g != w {
            return Err(Failure {
                check,
                index: Some(index),
                got: g,
                want: w,
            });
        }
    }
    Ok(())
}

/// Attaches a case index to a failure.
fn at<T>(index: usize, r: Result<T, Failure>) -> Result<T, Failure> {
    r.map_err(|f| Failure {
        index: Some(index),
        ..f
    })
}

// --- Entries shaped like those of the C KUnit suite. ---

/// The CD table address used by most cases (`0xF0F0F0F0F0F0` with bits 5:0 cleared).
pub(crate) const CDTAB_A: u64 = 0xf0f0_f0f0_f0c0;
/// A second CD table address (`0x4B4B4b4B4B` with bits 5:0 cleared).
pub(crate) const CDTAB_B: u64 = 0x4b_4b4b_4b40;
/// The stage 2 table address (`0xdaedbeefdeadbeef` masked to bits 51:4).
pub(crate) const S2TTB_A: u64 = 0xdaed_beef_dead_beef & 0x000f_ffff_ffff_fff0;
/// A second stage 2 table address.
pub(crate) const S2TTB_B: u64 = 0x0000_0001_2345_6000;
/// The CD TTB0 address (`0xdaedbeefdeadbeef` masked to bits 51:4).
pub(crate) const TTB0_A: u64 = 0xdaed_beef_dead_beef & 0x000f_ffff_ffff_fff0;
/// A second TTB0 address.
pub(crate) const TTB0_B: u64 = 0x0000_0000_8765_4000;
/// The CD `MAIR` of the C suite.
pub(crate) const MAIR: u64 = 0x0abc_def0_1234_5678;

/// Features of the fake master of the C suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Feat {
    /// ATS is enabled (`EATS == Trans`).
    pub(crate) ats: bool,
    /// Stalls are enabled (no `S1STALLD`, `S2S` set).
    pub(crate) stall: bool,
}

/// No master features.
pub(crate) const PLAIN: Feat = Feat {
    ats: false,
    stall: false,
};
/// ATS only.
pub(crate) const ATS: Feat = Feat {
    ats: true,
    stall: false,
};
/// Stalls only.
pub(crate) const STALL: Feat = Feat {
    ats: false,
    stall: true,
};

/// Stream attributes for a master; the SMMU honours `SHCFG` (`IDR1.ATTR_TYPES_OVR`).
fn attrs(feat: Feat, mev: bool) -> StreamAttrs {
    StreamAttrs {
        eats: if feat.ats { Eats::Trans } else { Eats::Abort },
        mev,
        shcfg: Shcfg::Incoming,
    }
}

/// The CD table part of a CD-table STE.
fn cd_table(dss: S1Dss, ptr: u64, feat: Feat) -> CdTable {
    CdTable {
        ptr,
        fmt: S1Fmt::TwoLevel64K,
        cd_max: 31,
        dss,
        inner_cache: Cacheability::WriteBackWriteAllocate,
        outer_cache: Cacheability::WriteBackWriteAllocate,
        shareability: Shareability::Inner,
        // The SMMU supports stalls, so they are disabled unless the master uses them.
        stall_disable: !feat.stall,
        strw: Strw::NsEl1,
    }
}

/// The stage 2 part of an S2 STE.
fn s2_table(vmid: u16, ttb: u64, feat: Feat) -> S2Table {
    S2Table {
        vmid,
        vtcr: Vtcr {
            t0sz: 4,
            sl0: 3,
            inner_cache: Cacheability::WriteThrough,
            outer_cache: Cacheability::WriteBackWriteAllocate,
            shareability: Shareability::Inner,
            granule: Granule::Size16K,
            ps: 1,
        },
        ttb,
        big_endian: false,
        ptw: true,
        stall: feat.stall,
        record: true,
        fwb: false,
    }
}

/// The abort STE.
pub(crate) fn abort_ste() -> Ste {
    Ste::abort()
}

/// The bypass STE.
pub(crate) fn bypass_ste() -> Ste {
    Ste::bypass(Shcfg::Incoming)
}

/// A CD-table STE.
pub(crate) fn cdtable_ste(dss: S1Dss, ptr: u64, feat: Feat) -> Result<Ste, Error> {
    Ste::cd_table(&cd_table(dss, ptr, feat), &attrs(feat, false))
}

/// A stage 2 STE.
pub(crate) fn s2_ste(vmid: u16, ttb: u64, feat: Feat) -> Result<Ste, Error> {
    Ste::s2(&s2_table(vmid, ttb, feat), &attrs(feat, false))
}

/// A nested STE with `MEV` set, as the C suite builds it.
pub(crate) fn nested_ste(dss: S1Dss, ptr: u64, vmid: u16, feat: Feat) -> Result<Ste, Error> {
    Ste::nested(
        &cd_table(dss, ptr, feat),
        &s2_table(vmid, S2TTB_A, feat),
        &attrs(feat, true),
    )
}

/// A stage 1 CD like the C suite's `arm_smmu_test_make_s1_cd()`.
pub(crate) fn s1_cd(asid: u16, ttb: u64) -> Result<Cd, Error> {
    Cd::new(&CdCfg {
        asid,
        ttb0: Some(Ttb0 {
            addr: ttb,
            t0sz: 4,
            granule: Granule::Size16K,
            inner_cache: Cacheability::WriteThrough,
            outer_cache: Cacheability::WriteBackWriteAllocate,
            shareability: Shareability::Inner,
        }),
        ips: 1,
        big_endian: false,
        affd: false,
        tbi0: false,
        hw_access: false,
        hw_dirty: false,
        haft: false,
        stall: false,
        record: true,
        abort: true,
        aset: true,
        mair: MAIR,
    })
}

/// An SVA CD; `None` for `pgd` gives the "released" CD that faults everything.
pub(crate) fn sva_cd(asid: u16, pgd: Option<u64>) -> Result<Cd, Error> {
    Cd::new(&CdCfg {
        asid,
        ttb0: pgd.map(|addr| Ttb0 {
            addr,
            t0sz: 16,
            granule: Granule::Size4K,
            inner_cache: Cacheability::WriteBackWriteAllocate,
            outer_cache: Cacheability::WriteBackWriteAllocate,
            shareability: Shareability::Inner,
        }),
        ips: 5,
        big_endian: false,
        affd: false,
        tbi0: false,
        hw_access: false,
        hw_dirty: false,
        haft: false,
        stall: false,
        // A released CD stops recording faults.
        record: pgd.is_some(),
        abort: true,
        aset: true,
        mair: 0x0000_00ff_440c_0400,
    })
}

// --- Simulation of a live entry. ---

/// An [`EntryWriter`] over a simulated live entry that checks the hitless invariant.
///
/// After every store and at every sync, a valid entry must equal either the initial or the
/// target entry in every bit its own configuration uses, update-safe bits excepted. This is the
/// C suite's check, applied after each store as well because the SMMU may fetch the entry at
/// any moment, not only after a sync.
pub(crate) struct SimWriter<F: EntryFormat> {
    /// The live entry.
    pub(crate) live: EntryWords,
    /// The entry before the update.
    init: EntryWords,
    /// The entry the update aims at.
    target: EntryWords,
    /// The number of syncs.
    pub(crate) syncs: u32,
    /// The number of barriers.
    pub(crate) barriers: u32,
    /// Whether a sync saw an invalid entry (qword 0 all zero, as in the C suite).
    pub(crate) invalid_seen: bool,
    /// The first violation of the invariant.
    pub(crate) violation: Option<Failure>,
    /// The format.
    _format: core::marker::PhantomData<F>,
}

impl<F: EntryFormat> SimWriter<F> {
    /// Starts a simulation of the update from `init` to `target`.
    pub(crate) fn new(init: &EntryWords, target: &EntryWords) -> Self {
        Self {
            live: *init,
            init: *init,
            target: *target,
            syncs: 0,
            barriers: 0,
            invalid_seen: false,
            violation: None,
            _format: core::marker::PhantomData,
        }
    }

    /// Checks the invariant on the live entry.
    fn check(&mut self, check: &'static str) {
        if self.live[0] == 0 || self.violation.is_some() {
            return;
        }
        let used = F::used_bits(&self.live);
        let matches = |other: &EntryWords| {
            let safe = F::update_safe_bits(&self.live, other);
            (0..ENTRY_QWORDS).all(|i| {
                let mask = used[i] & !safe[i];
                self.live[i] & mask == other[i] & mask
            })
        };
        if !matches(&self.init) && !matches(&self.target) {
            self.violation = Some(Failure {
                check,
                index: None,
                got: self.live[0],
                want: self.target[0],
            });
        }
    }
}

impl<F: EntryFormat> EntryWriter for SimWriter<F> {
    type Error = Failure;

    fn barrier(&mut self) {
        self.barriers += 1;
    }

    fn write_qword(&mut self, index: usize, value: u64) {
        if self.barriers == 0 && self.violation.is_none() {
            // The SMMU could fetch the new entry before what it points at.
            self.violation = Some(Failure {
                check: "a store before the publishing barrier",
                index: Some(index),
                got: value,
                want: 0,
            });
        }
        match self.live.get_mut(index) {
            Some(q) => *q = value,
            None => {
                self.violation = Some(Failure {
                    check: "write outside of the entry",
                    index: Some(index),
                    got: value,
                    want: 0,
                })
            }
        }
        self.check("torn entry visible after a store");
    }

    fn sync(&mut self) -> Result<(), Failure> {
        self.syncs += 1;
        if self.live[0] == 0 {
            self.invalid_seen = true;
        }
        self.check("torn entry visible at a sync");
        Ok(())
    }
}

/// The outcome of a simulated update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// How the planner carried out the update.
    pub(crate) kind: UpdateKind,
    /// The number of syncs.
    pub(crate) syncs: u32,
    /// Whether an invalid entry was observed.
    pub(crate) invalid_seen: bool,
}

/// Simulates the update of an entry of format `F` and checks the invariants every update keeps.
pub(crate) fn simulate<F: EntryFormat>(
    from: &EntryWords,
    to: &EntryWords,
) -> Result<Outcome, Failure> {
    let plan = Plan::new::<F>(from, to)?;
    let mut sim = SimWriter::<F>::new(from, to);
    plan.apply(&mut sim)?;
    if let Some(v) = sim.violation {
        return Err(v);
    }
    expect_words("final entry equals the target", &sim.live, to)?;

    // One barrier, before the first store and only if there is one; then the steps alternate
    // stores and syncs, with no empty sync and a sync at the end.
    let (mut stores_since_sync, mut stores, mut barriers) = (0, 0u32, 0u32);
    for step in plan.steps() {
        match step {
            Step::Barrier => {
                expect("the barrier comes before any store", stores == 0)?;
                barriers += 1;
            }
            Step::Write { .. } => {
                stores_since_sync += 1;
                stores += 1;
            }
            Step::Sync => {
                expect("a sync follows at least one store", stores_since_sync > 0)?;
                stores_since_sync = 0;
            }
        }
    }
    expect("the last store is synced", stores_since_sync == 0)?;
    expect_eq(
        "one barrier per update that stores",
        u64::from(barriers),
        u64::from(stores > 0),
    )?;
    expect_eq(
        "barriers carried out",
        u64::from(sim.barriers),
        u64::from(barriers),
    )?;

    let kind = plan.kind();
    // As in the C suite, an entry whose qword 0 is zero counts as invalid.
    let both_valid = from[0] != 0 && to[0] != 0;
    match kind {
        UpdateKind::Breaking => {
            expect("a breaking update shows V = 0", sim.invalid_seen)?;
            expect("a breaking update needs at most 3 syncs", sim.syncs <= 3)?;
        }
        UpdateKind::Hitless { .. } => {
            expect(
                "a hitless update between valid entries stays valid",
                !both_valid || !sim.invalid_seen,
            )?;
            expect("a hitless update needs at most 3 syncs", sim.syncs <= 3)?;
        }
        UpdateKind::NoUsedChange => {
            expect(
                "an update without used changes needs at most 1 sync",
                sim.syncs <= 1,
            )?;
        }
    }
    Ok(Outcome {
        kind,
        syncs: sim.syncs,
        invalid_seen: sim.invalid_seen,
    })
}

/// Checks each `(from, to, syncs, hitless)` transition with [`expect_transition`], a failure
/// naming its index; `words` gives an entry's qwords.
fn expect_transitions<F: EntryFormat>(
    cases: &[(&F, &F, u32, bool)],
    words: fn(&F) -> &EntryWords,
) -> Check {
    for (i, (from, to, syncs, hitless)) in cases.iter().enumerate() {
        at(
            i,
            expect_transition::<F>(words(from), words(to), *syncs, *hitless),
        )?;
    }
    Ok(())
}

/// Checks one transition against the C suite's expectation.
fn expect_transition<F: EntryFormat>(
    from: &EntryWords,
    to: &EntryWords,
    syncs: u32,
    hitless: bool,
) -> Check {
    let out = simulate::<F>(from, to)?;
    expect_eq("number of syncs", u64::from(out.syncs), u64::from(syncs))?;
    expect_eq(
        "hitless (no invalid entry written)",
        u64::from(!out.invalid_seen),
        u64::from(hitless),
    )
}

/// The STE transitions of the C KUnit suite, with their expected syncs and hitlessness.
pub(crate) fn c_suite_ste_cases() -> Check {
    let abort = abort_ste();
    let bypass = bypass_ste();
    let cd_ssid0 = cdtable_ste(S1Dss::Ssid0, CDTAB_A, ATS)?;
    let cd_bypass = cdtable_ste(S1Dss::Bypass, CDTAB_A, ATS)?;
    let cd_other = cdtable_ste(S1Dss::Bypass, CDTAB_B, ATS)?;
    let s2 = s2_ste(0, S2TTB_A, ATS)?;
    let cd_stall = cdtable_ste(S1Dss::Ssid0, CDTAB_A, STALL)?;
    let s2_stall = s2_ste(0, S2TTB_A, STALL)?;
    let nested = nested_ste(S1Dss::Bypass, CDTAB_A, 0, ATS)?;
    let s2_plain = s2_ste(0, S2TTB_A, PLAIN)?;

    let cases: [(&Ste, &Ste, u32, bool); 21] = [
        // bypass_to_abort, abort_to_bypass.
        (&bypass, &abort, 2, true),
        (&abort, &bypass, 2, true),
        // cdtable_to_abort, abort_to_cdtable.
        (&cd_ssid0, &abort, 2, true),
        (&abort, &cd_ssid0, 2, true),
        // cdtable_to_bypass, bypass_to_cdtable.
        (&cd_ssid0, &bypass, 3, true),
        (&bypass, &cd_ssid0, 3, true),
        // cdtable_s1dss_change, both ways.
        (&cd_ssid0, &cd_bypass, 1, true),
        (&cd_bypass, &cd_ssid0, 1, true),
        // s1dssbypass_to_stebypass, stebypass_to_s1dssbypass.
        (&cd_bypass, &bypass, 2, true),
        (&bypass, &cd_bypass, 2, true),
        // s2_to_abort, abort_to_s2, s2_to_bypass, bypass_to_s2.
        (&s2, &abort, 2, true),
        (&abort, &s2, 2, true),
        (&s2, &bypass, 2, true),
        (&bypass, &s2, 2, true),
        // s1_to_s2, s2_to_s1.
        (&cd_ssid0, &s2, 3, true),
        (&s2, &cd_ssid0, 3, true),
        // non_hitless: CD table pointer and S1DSS change together.
        (&cd_ssid0, &cd_other, 3, false),
        // s1_to_s2_stall.
        (&cd_stall, &s2_stall, 3, true),
        // s2_to_s1_stall.
        (&s2_stall, &cd_stall, 3, true),
        // nested_s1dssbypass_to_s1bypass: one more sync clears EATS and MEV.
        (&nested, &s2_plain, 3, true),
        // nested_s1bypass_to_s1dssbypass.
        (&s2_plain, &nested, 2, true),
    ];
    expect_transitions(&cases, Ste::words)
}

/// The CD transitions of the C KUnit suite.
pub(crate) fn c_suite_cd_cases() -> Check {
    let empty = Cd::INVALID;
    let s1_1997 = s1_cd(1997, TTB0_A)?;
    let s1_778 = s1_cd(778, TTB0_A)?;
    let sva = sva_cd(1997, Some(0x0000_0000_4321_0000))?;
    let sva_released = sva_cd(1997, None)?;

    let cases: [(&Cd, &Cd, u32, bool); 8] = [
        // s1_clear, both ways.
        (&empty, &s1_1997, 2, false),
        (&s1_1997, &empty, 2, false),
        // s1_change_asid, both ways.
        (&s1_778, &s1_1997, 1, true),
        (&s1_1997, &s1_778, 1, true),
        // sva_clear, both ways.
        (&empty, &sva, 2, false),
        (&sva, &empty, 2, false),
        // sva_release, both ways.
        (&sva, &sva_released, 2, true),
        (&sva_released, &sva, 2, true),
    ];
    expect_transitions(&cases, Cd::words)
}

/// The number of STEs in [`ste_corpus`].
pub(crate) const STE_CORPUS_LEN: usize = 38;

/// A corpus of STEs covering every configuration the driver builds.
///
/// Abort, two bypasses, CD-table STEs with every `S1DSS`, two table pointers and plain, ATS and
/// stall masters, stage 2 STEs with two VMIDs, two tables and the same masters, and nested STEs.
pub(crate) fn ste_corpus() -> Result<[Ste; STE_CORPUS_LEN], Error> {
    let mut out = [Ste::INVALID; STE_CORPUS_LEN];
    let mut n = 0;
    let mut push = |ste: Ste| {
        if let Some(slot) = out.get_mut(n) {
            *slot = ste;
        }
        n += 1;
    };
    push(abort_ste());
    push(bypass_ste());
    push(Ste::bypass(Shcfg::NonShareable));
    for dss in [S1Dss::Ssid0, S1Dss::Bypass, S1Dss::Terminate] {
        for ptr in [CDTAB_A, CDTAB_B] {
            for feat in [PLAIN, ATS, STALL] {
                push(cdtable_ste(dss, ptr, feat)?);
            }
        }
    }
    for vmid in [1, 2] {
        for ttb in [S2TTB_A, S2TTB_B] {
            for feat in [PLAIN, ATS, STALL] {
                push(s2_ste(vmid, ttb, feat)?);
            }
        }
    }
    for dss in [S1Dss::Bypass, S1Dss::Ssid0] {
        for feat in [PLAIN, ATS] {
            push(nested_ste(dss, CDTAB_A, 1, feat)?);
        }
    }
    // Split-stage ATS is only valid with nesting.
    push(Ste::nested(
        &cd_table(S1Dss::Ssid0, CDTAB_B, PLAIN),
        &s2_table(1, S2TTB_A, PLAIN),
        &StreamAttrs {
            eats: Eats::S1Chk,
            mev: false,
            shcfg: Shcfg::Incoming,
        },
    )?);
    if n != STE_CORPUS_LEN {
        return Err(Error::Invalid);
    }
    Ok(out)
}

/// The number of CDs in [`cd_corpus`].
pub(crate) const CD_CORPUS_LEN: usize = 8;

/// A corpus of CDs: empty, stage 1 with different ASIDs and tables, and SVA.
pub(crate) fn cd_corpus() -> Result<[Cd; CD_CORPUS_LEN], Error> {
    Ok([
        Cd::INVALID,
        s1_cd(1, TTB0_A)?,
        s1_cd(2, TTB0_A)?,
        s1_cd(1, TTB0_B)?,
        s1_cd(778, TTB0_B)?,
        sva_cd(1997, Some(0x0000_0000_4321_0000))?,
        sva_cd(1997, None)?,
        sva_cd(42, None)?,
    ])
}

/// Checks that an entry sets no bit its own configuration does not use.
fn expect_within_used<F: EntryFormat>(words: &EntryWords) -> Check {
    let used = F::used_bits(words);
    for (i, (w, u)) in words.iter().zip(used.iter()).enumerate() {
        at(i, expect_eq("bits outside of the used bits", w & !u, 0))?;
    }
    Ok(())
}

/// Simulates every ordered pair of a corpus; returns how many updates were breaking.
pub(crate) fn sweep<F: EntryFormat>(corpus: &[EntryWords]) -> Result<usize, Failure> {
    let mut breaking = 0;
    for (i, from) in corpus.iter().enumerate() {
        at(i, expect_within_used::<F>(from))?;
        for (j, to) in corpus.iter().enumerate() {
            let out = at(i * corpus.len() + j, simulate::<F>(from, to))?;
            if from == to {
                at(
                    j,
                    expect_eq("no step for an unchanged entry", u64::from(out.syncs), 0),
                )?;
            }
            if out.kind == UpdateKind::Breaking {
                breaking += 1;
            }
        }
    }
    Ok(breaking)
}

/// Every ordered pair of the STE corpus updates correctly.
pub(crate) fn ste_sweep() -> Check {
    let corpus = ste_corpus()?;
    let words = corpus.map(|s| *s.words());
    sweep::<Ste>(&words).map(|_| ())
}

/// Every ordered pair of the CD corpus updates correctly.
pub(crate) fn cd_sweep() -> Check {
    let corpus = cd_corpus()?;
    let words = corpus.map(|c| *c.words());
    sweep::<Cd>(&words).map(|_| ())
}

// --- Encodings against the specification's field tables. ---

/// STE encodings.
pub(crate) fn ste_encodings() -> Check {
    // V [0] = 1, Config [3:1] = 0b000 (abort).
    expect_words(
        "abort STE",
        abort_ste().words(),
        &[0x1, 0, 0, 0, 0, 0, 0, 0],
    )?;
    // Config = 0b100 (bypass); SHCFG [109:108] = qword 1 [45:44] = 0b01 (incoming).
    expect_words(
        "bypass STE",
        bypass_ste().words(),
        &[0x9, 1 << 44, 0, 0, 0, 0, 0, 0],
    )?;

    // Qword 0: V, Config = 0b101, S1Fmt [5:4] = 2, S1ContextPtr [51:6], S1CDMax [63:59] = 31.
    // Qword 1: S1DSS [1:0] = 2 (SSID0), S1CIR [3:2] = S1COR [5:4] = 1 (WBRA), S1CSH [7:6] = 3,
    // S1STALLD [27] = 1, EATS [29:28] = 1, STRW [31:30] = 0.
    let ste = cdtable_ste(S1Dss::Ssid0, CDTAB_A, ATS)?;
    expect_words(
        "CD-table STE",
        ste.words(),
        &[
            0x1 | 5 << 1 | 2 << 4 | CDTAB_A | 31 << 59,
            2 | 1 << 2 | 1 << 4 | 3 << 6 | 1 << 27 | 1 << 28,
            0,
            0,
            0,
            0,
            0,
            0,
        ],
    )?;
    // With S1DSS = bypass, SHCFG is read and set to incoming.
    let ste = cdtable_ste(S1Dss::Bypass, CDTAB_A, STALL)?;
    expect_eq(
        "CD-table STE, S1DSS bypass, stall",
        ste.words()[1],
        1 | 1 << 2 | 1 << 4 | 3 << 6 | 1 << 44,
    )?;

    // Qword 2: S2VMID [15:0], VTCR [50:32] = S2T0SZ [5:0] = 4, S2SL0 [7:6] = 3, S2IR0 [9:8] = 2,
    // S2OR0 [11:10] = 1, S2SH0 [13:12] = 3, S2TG [15:14] = 2, S2PS [18:16] = 1; S2AA64 [51],
    // S2PTW [54], S2S [57], S2R [58]. Qword 3: S2TTB [51:4].
    let vtcr: u64 = 4 | 3 << 6 | 2 << 8 | 1 << 10 | 3 << 12 | 2 << 14 | 1 << 16;
    let ste = s2_ste(0x1234, S2TTB_A, STALL)?;
    expect_words(
        "S2 STE",
        ste.words(),
        &[
            0x1 | 6 << 1,
            1 << 44,
            0x1234 | vtcr << 32 | 1 << 51 | 1 << 54 | 1 << 57 | 1 << 58,
            S2TTB_A,
            0,
            0,
            0,
            0,
        ],
    )?;

    // Nested: Config = 0b111, MEV [19] of qword 1.
    let ste = nested_ste(S1Dss::Bypass, CDTAB_A, 7, ATS)?;
    expect_words(
        "nested STE",
        &ste.words()[..4],
        &[
            0x1 | 7 << 1 | 2 << 4 | CDTAB_A | 31 << 59,
            1 | 1 << 2 | 1 << 4 | 3 << 6 | 1 << 19 | 1 << 27 | 1 << 28 | 1 << 44,
            7 | vtcr << 32 | 1 << 51 | 1 << 54 | 1 << 58,
            S2TTB_A,
        ],
    )?;

    // Decoders.
    expect(
        "config decodes",
        ste.config() == Some(crate::hw::ste::Config::Nested),
    )?;
    expect_eq("VMID decodes", u64::from(ste.vmid()), 7)?;
    expect_eq("CD table pointer decodes", ste.cd_table_ptr(), CDTAB_A)?;
    expect_eq("S2TTB decodes", ste.s2_ttb(), S2TTB_A)?;
    expect("S1DSS decodes", ste.s1dss() == Some(S1Dss::Bypass))?;
    expect("EATS decodes", ste.eats() == Some(Eats::Trans))?;
    expect("valid", ste.is_valid() && !Ste::INVALID.is_valid())?;

    // Builders refuse what does not fit or is illegal.
    expect(
        "misaligned CD table",
        cdtable_ste(S1Dss::Ssid0, CDTAB_A + 8, PLAIN) == Err(Error::BadAddress),
    )?;
    expect(
        "EATS with S2S",
        Ste::s2(&s2_table(1, S2TTB_A, STALL), &attrs(ATS, false)) == Err(Error::Invalid),
    )?;
    expect(
        "S1Chk without nesting",
        Ste::cd_table(
            &cd_table(S1Dss::Ssid0, CDTAB_A, PLAIN),
            &StreamAttrs {
                eats: Eats::S1Chk,
                mev: false,
                shcfg: Shcfg::Incoming,
            },
        ) == Err(Error::Invalid),
    )?;
    let mut t = cd_table(S1Dss::Ssid0, CDTAB_A, PLAIN);
    t.cd_max = 32;
    expect(
        "S1CDMax overflow",
        Ste::cd_table(&t, &attrs(PLAIN, false)) == Err(Error::Overflow),
    )?;

    // L1STD: Span [4:0], L2Ptr [51:6].
    expect_eq(
        "L1 stream table descriptor",
        crate::hw::ste::l1_descriptor(0x8_0000_0040, 9)?,
        0x8_0000_0040 | 9,
    )?;
    expect(
        "L1 span too large",
        crate::hw::ste::l1_descriptor(0x1000, 13) == Err(Error::Invalid),
    )
}

/// CD encodings.
pub(crate) fn cd_encodings() -> Check {
    // T0SZ [5:0] = 4, TG0 [7:6] = 2, IR0 [9:8] = 2, OR0 [11:10] = 1, SH0 [13:12] = 3,
    // EPD1 [30], V [31], IPS [34:32] = 1, AA64 [41], R [45], A [46], ASET [47], ASID [63:48].
    // Qword 1: TTB0 [51:4]. Qword 3: MAIR.
    let cd = s1_cd(1997, TTB0_A)?;
    expect_words(
        "S1 CD",
        cd.words(),
        &[
            4 | 2 << 6
                | 2 << 8
                | 1 << 10
                | 3 << 12
                | 1 << 30
                | 1 << 31
                | 1 << 32
                | 1 << 41
                | 1 << 45
                | 1 << 46
                | 1 << 47
                | 1997 << 48,
            TTB0_A,
            0,
            MAIR,
            0,
            0,
            0,
            0,
        ],
    )?;
    // EPD0 [14] replaces the TTB0 walk fields; S and R cleared.
    let cd = sva_cd(3, None)?;
    expect_words(
        "released SVA CD",
        &cd.words()[..2],
        &[
            1 << 14 | 1 << 30 | 1 << 31 | 5 << 32 | 1 << 41 | 1 << 46 | 1 << 47 | 3 << 48,
            0,
        ],
    )?;
    expect("no TTB0 with EPD0", cd.ttb0().is_none())?;
    expect_eq("ASID decodes", u64::from(cd.asid()), 3)?;
    expect("CD valid", cd.is_valid() && !Cd::INVALID.is_valid())?;
    // HA [43] and HD [42].
    let mut cfg = CdCfg {
        asid: 0,
        ttb0: None,
        ips: 0,
        big_endian: false,
        affd: false,
        tbi0: false,
        hw_access: true,
        hw_dirty: true,
        haft: true,
        stall: true,
        record: false,
        abort: false,
        aset: false,
        mair: 0,
    };
    let cd = Cd::new(&cfg)?;
    expect_eq(
        "HA, HD, S",
        cd.words()[0],
        1 << 14 | 1 << 30 | 1 << 31 | 1 << 41 | 1 << 42 | 1 << 43 | 1 << 44,
    )?;
    // HAFT is bit 3 of qword 1.
    expect_eq("HAFT", cd.words()[1], 1 << 3)?;
    cfg.hw_access = false;
    expect("HD needs HA", Cd::new(&cfg) == Err(Error::Invalid))?;
    // L1CD: V [0], L2Ptr [51:12].
    expect_eq(
        "L1 CD descriptor",
        crate::hw::cd::l1_descriptor(Some(0x1234_5000))?,
        0x1234_5001,
    )?;
    expect(
        "misaligned L1 CD",
        crate::hw::cd::l1_descriptor(Some(0x1234_5800)) == Err(Error::BadAddress),
    )
}

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

/// ID registers and control register values, with the values QEMU's SMMUv3 reports.
pub(crate) fn register_values() -> Check {
    let idr = Idr::new(0x0d44_101b, 0x0273_0010, 0x1414, 0x74);
    expect("S1P, S2P, nesting", idr.s1() && idr.s2() && idr.nesting())?;
    expect("TTF", idr.ttf() == Some(Ttf::AArch64))?;
    expect("COHACC, no BTM", idr.coherent() && !idr.btm())?;
    expect(
        "no ATS, PRI, MSI, SEV",
        !idr.ats() && !idr.pri() && !idr.msi() && !idr.sev(),
    )?;
    expect_eq("ASID bits", u64::from(idr.asid_bits()), 16)?;
    expect_eq("VMID bits", u64::from(idr.vmid_bits()), 16)?;
    expect("TTENDIAN", idr.tt_endian() == Some(TtEndian::Little))?;
    expect(
        "stall model",
        idr.stall_model() == Some(StallModel::NoStall),
    )?;
    expect(
        "ST_LEVEL",
        idr.st_level() == Some(StrtabFmt::TwoLevel) && !idr.cd_2lvl(),
    )?;
    expect_eq("SIDSIZE", u64::from(idr.sid_bits()), 16)?;
    expect_eq("SSIDSIZE", u64::from(idr.ssid_bits()), 0)?;
    expect_eq("CMDQS", u64::from(idr.cmdq_log2size()), 19)?;
    expect_eq("EVENTQS", u64::from(idr.evtq_log2size()), 19)?;
    expect_eq("PRIQS", u64::from(idr.priq_log2size()), 0)?;
    expect("not embedded", !idr.embedded() && !idr.attr_types_ovr())?;
    expect("RIL, BBML2", idr.ril() && idr.bbml() == 2 && !idr.fwb())?;
    expect("OAS", idr.oas_bits() == Some(44))?;
    let g = idr.granules();
    expect(
        "granules",
        g.size_4k && g.size_16k && g.size_64k && !idr.vax_52(),
    )?;
    expect_eq(
        "page sizes",
        g.page_sizes(),
        (1 << 12) | (1 << 21) | (1 << 30) | (1 << 14) | (1 << 25) | (1 << 16) | (1 << 29),
    )?;
    // STRTAB_BASE_CFG: FMT [17:16], SPLIT [10:6], LOG2SIZE [5:0].
    expect_eq(
        "STRTAB_BASE_CFG",
        u64::from(crate::hw::regs::strtab_base_cfg(
            StrtabFmt::TwoLevel,
            8,
            16,
        )?),
        1 << 16 | 8 << 6 | 16,
    )?;
    expect_eq(
        "STRTAB_BASE",
        crate::hw::regs::strtab_base(0x4_0000, true)?,
        1 << 62 | 0x4_0000,
    )?;
    let cr0 = crate::hw::regs::Cr0 {
        smmu: true,
        priq: false,
        evtq: true,
        cmdq: true,
        atschk: false,
    };
    expect_eq("CR0", u64::from(cr0.value()), 0b1101)?;
    expect(
        "CR0 round trip",
        crate::hw::regs::Cr0::from_value(cr0.value()) == cr0,
    )?;
    // CR1: TABLE_SH [11:10], TABLE_OC [9:8], TABLE_IC [7:6], QUEUE_SH [5:4], QUEUE_OC [3:2],
    // QUEUE_IC [1:0].
    let wb = crate::hw::regs::WalkAttrs {
        inner: crate::hw::regs::Cr1Cache::WriteBack,
        outer: crate::hw::regs::Cr1Cache::WriteBack,
        shareability: Shareability::Inner,
    };
    expect_eq(
        "CR1",
        u64::from(crate::hw::regs::cr1(wb, wb)),
        3 << 10 | 1 << 8 | 1 << 6 | 3 << 4 | 1 << 2 | 1,
    )?;
    // CR2: PTM [2], RECINVSID [1], E2H [0].
    expect_eq(
        "CR2",
        u64::from(crate::hw::regs::cr2(false, true, true)),
        0b110,
    )?;
    // GBPA: Update [31], ABORT [20].
    expect_eq(
        "GBPA",
        u64::from(crate::hw::regs::gbpa_update(0x1000, true)),
        1 << 31 | 1 << 20 | 0x1000,
    )?;
    expect(
        "GBPA decode",
        crate::hw::regs::gbpa_updating(1 << 31) && crate::hw::regs::gbpa_aborts(1 << 20),
    )?;
    expect_eq(
        "GERROR active",
        u64::from(crate::hw::regs::gerror_active(0b1_0000_0101, 0b100)),
        0b1_0000_0001,
    )
}

/// The coverage a list of TLB invalidation commands gives, for checking against a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Coverage {
    /// The first byte covered.
    pub(crate) start: u64,
    /// One past the last byte covered, `None` when that is 2^64.
    pub(crate) end: Option<u64>,
    /// The number of commands.
    pub(crate) commands: usize,
    /// The range was replaced by a whole-context invalidation.
    pub(crate) whole: bool,
}

/// Checks the commands of a range invalidation and returns what they cover.
///
/// The commands must be in ascending, contiguous order, use the opcode of `kind`, keep `NUM`
/// and `SCALE` in their fields, carry the `TTL` of the granule for leaf invalidations, and cover
/// exactly the requested range rounded out to the granule (to the page with range
/// invalidation), plus at most one page for a non-leaf range.
pub(crate) fn check_tlbi_range(
    kind: AddrTlbi,
    req: &RangeRequest,
    ril: bool,
) -> Result<Coverage, Failure> {
    let range = TlbiRange::new(kind, req, ril)?;
    let whole = range.is_whole();
    let planned = range.len();
    let whole_cmd = kind.whole();
    let addr_op = Cmd::tlbi_addr(
        kind,
        &TlbiAddr {
            addr: 0,
            leaf: false,
            num: 0,
            scale: 0,
            tg: 0,
            ttl: 0,
        },
    )?
    .opcode();

    let page_log2 = req.page_log2;
    let levels_up = (req.granule_log2 - page_log2) / (page_log2 - 3);
    let want_ttl = if ril && req.leaf { 3 - levels_up } else { 0 };
    let want_tg = if ril { (page_log2 - 10) / 2 } else { 0 };
    let step_log2 = if ril { page_log2 } else { req.granule_log2 };

    let mut cov = Coverage {
        start: 0,
        end: None,
        commands: 0,
        whole,
    };
    let mut next: Option<u64> = None;
    for (i, cmd) in range.enumerate() {
        cov.commands += 1;
        if whole {
            at(
                i,
                expect_words("whole invalidation", cmd.words(), whole_cmd.words()),
            )?;
            continue;
        }
        at(i, expect("address opcode", cmd.opcode() == addr_op))?;
        let w = cmd.words();
        let addr = w[1] & !0xfff;
        at(i, expect_eq("TTL", TTL.get(w), u64::from(want_ttl)))?;
        at(i, expect_eq("TG", TG.get(w), u64::from(want_tg)))?;
        at(i, expect_eq("Leaf", w[1] & 1, u64::from(req.leaf)))?;
        let pages_log2 = if ril { SCALE.get(w) } else { 0 };
        let count = if ril { NUM.get(w) + 1 } else { 1 };
        at(
            i,
            expect(
                "SCALE within 5 bits",
                SCALE.get(w) <= 31 && NUM.get(w) <= 31,
            ),
        )?;
        if !ril {
            at(
                i,
                expect_eq("no NUM/SCALE without RIL", NUM.get(w) | SCALE.get(w), 0),
            )?;
        }
        let len = count << (pages_log2 + u64::from(step_log2));
        match next {
            None => cov.start = addr,
            Some(n) => at(i, expect_eq("contiguous", addr, n))?,
        }
        next = addr.checked_add(len);
        cov.end = next;
        if next.is_none() {
            break;
        }
    }
    // CAST: Command counts are small and fit in `u64`.
    expect_eq("ExactSizeIterator", cov.commands as u64, planned as u64)?;
    if whole {
        // CAST: As above.
        return expect_eq("one whole command", cov.commands as u64, 1).map(|()| cov);
    }

    let align = (1u64 << step_log2) - 1;
    let want_start = req.iova & !align;
    let want_end = req
        .iova
        .checked_add(req.size)
        .and_then(|e| e.checked_add(align))
        .map(|e| e & !align);
    expect_eq("covered start", cov.start, want_start)?;
    match (cov.end, want_end) {
        (Some(got), Some(want)) => {
            let extra = if ril && !req.leaf {
                1u64 << page_log2
            } else {
                0
            };
            expect("covers the end", got >= want)?;
            expect_eq("no more than needed", got.min(want + extra), got)?;
        }
        (got, want) => expect("covered end", got == want)?,
    }
    Ok(cov)
}

/// Range invalidation splitting on fixed cases.
pub(crate) fn tlbi_ranges() -> Check {
    let nh = AddrTlbi::NhVa { asid: 1, vmid: 0 };
    let req = |iova, size, granule_log2, leaf| RangeRequest {
        iova,
        size,
        granule_log2,
        page_log2: 12,
        leaf,
    };
    // 35 pages (0b100011): 3 pages at SCALE 0, then 32 pages as NUM 0 at SCALE 5.
    let mut it = TlbiRange::new(nh, &req(0x10_0000, 35 << 12, 12, true), true)?;
    let c0 = it.next().unwrap_or(Cmd::tlbi_nsnh_all());
    let c1 = it.next().unwrap_or(Cmd::tlbi_nsnh_all());
    expect("two commands", it.next().is_none())?;
    expect_words(
        "range command 1",
        c0.words(),
        &[0x12 | 2 << 12 | 1 << 48, 1 | 3 << 8 | 1 << 10 | 0x10_0000],
    )?;
    expect_words(
        "range command 2",
        c1.words(),
        &[
            0x12 | 5 << 20 | 1 << 48,
            1 | 3 << 8 | 1 << 10 | (0x10_0000 + (3 << 12)),
        ],
    )?;
    // A leaf range of 2MB blocks has TTL 2.
    let c = TlbiRange::new(nh, &req(0x4000_0000, 4 << 21, 21, true), true)?
        .next()
        .unwrap_or(Cmd::tlbi_nsnh_all());
    expect_eq("TTL of 2MB blocks", TTL.get(c.words()), 2)?;
    // A non-leaf single page is widened to two pages (one block with SCALE 1), avoiding
    // NUM = SCALE = TTL = 0.
    let c = TlbiRange::new(nh, &req(0x5000, 0x1000, 12, false), true)?
        .next()
        .unwrap_or(Cmd::tlbi_nsnh_all());
    expect_words(
        "non-leaf page",
        c.words(),
        &[0x12 | 1 << 20 | 1 << 48, 1 << 10 | 0x5000],
    )?;
    // Without RIL, one command per granule.
    let n = TlbiRange::new(nh, &req(0x20_0000, 0x3000, 12, true), false)?.count();
    // CAST: The count is 3.
    expect_eq("per-granule commands", n as u64, 3)?;
    // Too many per-granule commands become one whole-ASID invalidation.
    let mut it = TlbiRange::new(nh, &req(0, 1 << 30, 12, true), false)?;
    expect("whole", it.is_whole())?;
    expect(
        "NH_ASID",
        it.next() == Some(Cmd::tlbi_nh_asid(1, 0)) && it.next().is_none(),
    )?;
    // 2^33 pages: SCALE saturates at 31 instead of being truncated, with NUM + 1 = 4 blocks.
    let c = TlbiRange::new(nh, &req(0, 1 << 45, 12, true), true)?
        .next()
        .unwrap_or(Cmd::tlbi_nsnh_all());
    expect_words(
        "saturated SCALE",
        c.words(),
        &[0x12 | 3 << 12 | 31 << 20 | 1 << 48, 1 | 3 << 8 | 1 << 10],
    )?;
    // 32 blocks of 2^31 pages is the largest range; anything larger invalidates the ASID.
    let cov = check_tlbi_range(nh, &req(0, 1 << 48, 12, true), true)?;
    expect("largest range", cov.commands == 1 && !cov.whole)?;
    let cov = check_tlbi_range(nh, &req(0, (1 << 48) + 0x1000, 12, true), true)?;
    expect("beyond the largest range", cov.whole)?;
    // Parameters the architecture does not define are refused.
    expect(
        "bad page size",
        TlbiRange::new(
            nh,
            &RangeRequest {
                page_log2: 13,
                ..req(0, 1, 13, true)
            },
            true,
        )
        .is_err(),
    )?;
    expect(
        "bad granule",
        TlbiRange::new(nh, &req(0, 1, 20, true), true).is_err(),
    )?;

    // A grid of requests against the coverage model.
    let kinds = [
        nh,
        AddrTlbi::NhVaa { vmid: 3 },
        AddrTlbi::El2Va { asid: 2 },
        AddrTlbi::S2Ipa { vmid: 4 },
    ];
    let mut case = 0;
    for kind in kinds {
        for (page_log2, granules) in [(12, [12, 21, 30]), (14, [14, 25, 36]), (16, [16, 29, 42])] {
            for granule_log2 in granules {
                for (iova, size) in [
                    (0, 1),
                    (0x1000, 0x1000),
                    (0x12_3000, 0x7_5000),
                    (0x4000_0000, 0x4000_0000),
                    (0x7fff_f000, 0x3_0001),
                    (u64::MAX - 0xfff, 0x1000),
                ] {
                    for (leaf, ril) in [(true, true), (false, true), (true, false), (false, false)]
                    {
                        let r = RangeRequest {
                            iova,
                            size,
                            granule_log2,
                            page_log2,
                            leaf,
                        };
                        let res = check_tlbi_range(kind, &r, ril);
                        let s2_too_high = matches!(kind, AddrTlbi::S2Ipa { .. }) && iova > 1 << 52;
                        match res {
                            Err(Failure {
                                check: "unexpected hw::Error",
                                ..
                            }) if s2_too_high => {}
                            other => {
                                at(case, other)?;
                            }
                        }
                        case += 1;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Runs every check, returning the first failure.
pub(crate) fn all() -> Check {
    ste_encodings()?;
    cd_encodings()?;
    cmd_encodings()?;
    event_decoding()?;
    queue_arithmetic()?;
    register_values()?;
    c_suite_ste_cases()?;
    c_suite_cd_cases()?;
    ste_sweep()?;
    cd_sweep()?;
    tlbi_ranges()?;
    probe::probe_refusals()?;
    probe::page_sizes()?;
    probe::strtab_sizing()?;
    probe::quirks_table()?;
    illegal::checker_rules()?;
    illegal::composed_entries()
}
