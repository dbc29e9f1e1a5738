// SPDX-License-Identifier: GPL-2.0

//! The hitless planner ([`crate::hw::hitless`]) on a simulated live entry, and sweeps
//! over corpora of entries.

use super::{
    at,
    c_suite::{
        abort_ste,
        bypass_ste,
        cd_table,
        cdtable_ste,
        nested_ste,
        s1_cd,
        s2_ste,
        s2_table,
        sva_cd,
        ATS,
        CDTAB_A,
        CDTAB_B,
        PLAIN,
        S2TTB_A,
        S2TTB_B,
        STALL,
        TTB0_A,
        TTB0_B, //
    },
    expect,
    expect_eq,
    expect_words,
    Check,
    Failure, //
};
use crate::hw::{
    cd::Cd,
    hitless::{
        EntryFormat,
        EntryWords,
        EntryWriter,
        Plan,
        Step,
        UpdateKind,
        ENTRY_QWORDS, //
    },
    ste::{
        Eats,
        S1Dss,
        Shcfg,
        Ste,
        StreamAttrs, //
    },
    Error, //
};

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
