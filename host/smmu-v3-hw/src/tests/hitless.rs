// SPDX-License-Identifier: GPL-2.0

//! The hitless planner on random entries.

use proptest::prelude::*;
use std::vec::Vec;

use crate::hw::{
    cd::Cd,
    hitless::{
        EntryFormat,
        EntryWords,
        Plan,
        UpdateKind, //
    },
    selftest::{
        hitless::{
            cd_corpus,
            ste_corpus, //
        },
        simulate,
    },
    ste::Ste,
    Error,
};

/// Random words with every bit outside the used bits of their own configuration cleared.
fn masked<F: EntryFormat>(mut w: EntryWords) -> EntryWords {
    let used = F::used_bits(&w);
    for (w, u) in w.iter_mut().zip(used) {
        *w &= u;
    }
    w
}

/// Random STE words: valid, with a random `Config` and random other fields.
fn ste_words() -> impl Strategy<Value = EntryWords> {
    (
        any::<[u64; 8]>(),
        prop_oneof![Just(0u64), Just(4), Just(5), Just(6), Just(7)],
    )
        .prop_map(|(mut w, config)| {
            w[0] = (w[0] & !0xf) | config << 1 | 1;
            masked::<Ste>(w)
        })
}

/// Random CD words, valid or not.
fn cd_words() -> impl Strategy<Value = EntryWords> {
    any::<[u64; 8]>().prop_map(masked::<Cd>)
}

/// Either a corpus entry or a slight variation of one.
fn near<F: EntryFormat>(corpus: Vec<EntryWords>) -> impl Strategy<Value = EntryWords> {
    (0..corpus.len(), 0usize..8, any::<u64>(), any::<bool>()).prop_map(move |(i, q, bits, flip)| {
        let mut w = corpus[i];
        if flip {
            // Flip a few used bits of one qword.
            w[q] ^= bits & (bits >> 7) & (bits >> 13);
        }
        masked::<F>(w)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn random_ste_pairs(from in ste_words(), to in ste_words()) {
        if let Err(f) = simulate::<Ste>(&from, &to) {
            prop_assert!(false, "{}", f);
        }
    }

    #[test]
    fn near_ste_pairs(
        from in near::<Ste>(ste_corpus().unwrap().iter().map(|s| *s.words()).collect()),
        to in near::<Ste>(ste_corpus().unwrap().iter().map(|s| *s.words()).collect()),
    ) {
        if let Err(f) = simulate::<Ste>(&from, &to) {
            prop_assert!(false, "{}", f);
        }
    }

    #[test]
    fn random_cd_pairs(from in cd_words(), to in cd_words()) {
        if let Err(f) = simulate::<Cd>(&from, &to) {
            prop_assert!(false, "{}", f);
        }
    }

    #[test]
    fn near_cd_pairs(
        from in near::<Cd>(cd_corpus().unwrap().iter().map(|c| *c.words()).collect()),
        to in near::<Cd>(cd_corpus().unwrap().iter().map(|c| *c.words()).collect()),
    ) {
        if let Err(f) = simulate::<Cd>(&from, &to) {
            prop_assert!(false, "{}", f);
        }
    }
}

#[test]
fn unused_bits_in_target_are_refused() {
    let from = *Ste::abort().words();
    let mut to = from;
    // Qword 3 is not used by an abort STE.
    to[3] = 0x1000;
    assert_eq!(
        Plan::new::<Ste>(&from, &to).err(),
        Some(Error::UnusedBitsSet)
    );
}

#[test]
fn corpus_classification() {
    let stes: Vec<Ste> = ste_corpus().unwrap().to_vec();
    let abort = Ste::abort();
    let mut breaking = 0;
    for from in &stes {
        for to in &stes {
            let kind = Plan::new::<Ste>(from.words(), to.words()).unwrap().kind();
            // Abort uses only qword 0, so switching to or from it is never breaking.
            if *from == abort || *to == abort {
                assert_ne!(kind, UpdateKind::Breaking, "{from:x?} -> {to:x?}");
            }
            if from == to {
                assert_eq!(kind, UpdateKind::NoUsedChange);
            }
            if kind == UpdateKind::Breaking {
                breaking += 1;
            }
        }
    }
    // Changing both the VMID (qword 2) and the S2TTB (qword 3) of a stage 2 STE, among others,
    // cannot be hitless.
    assert!(breaking > 0);
}
