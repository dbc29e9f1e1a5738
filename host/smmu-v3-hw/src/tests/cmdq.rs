// SPDX-License-Identifier: GPL-2.0

//! The command queue protocol of `hw::cmdq`, checked over every interleaving of small cases.
//!
//! Each CPU is a state machine that follows `queue/cmdq.rs` step by step, each step making at
//! most one access to what CPUs share (the producer lock, `prod`, the publisher lock and what it
//! guards, `cons`, the ring, the registers); the SMMU is one more machine that consumes entries
//! in order. Every reachable
//! state of a case is visited, and in each one:
//!
//! - no CPU writes a slot the SMMU may still read, and the SMMU reads only entries written for
//!   the position it is at (no lost, stale or torn commands);
//! - `CMDQ_PROD` never moves backwards nor more than a queue ahead of `CMDQ_CONS`, and covers
//!   only written entries;
//! - `cons` is a lower bound of the SMMU's position and `prod` at most a queue ahead of it;
//! - a CPU that sees its `CMD_SYNC` completed has had every one of its entries consumed, in
//!   order, and a batch that fits the queue in one piece;
//!
//! and from every reachable state a state where every CPU is done can still be reached (no
//! deadlock, no CPU stuck waiting for something that cannot happen). The model assumes
//! sequentially consistent memory; the driver's orderings are argued in `queue/cmdq.rs`.

use std::{
    collections::HashMap,
    format,
    string::String,
    vec::Vec, //
};

use crate::hw::{
    cmdq::Positions,
    prodcons::Queue, //
};

/// What a ring slot holds: the CPU that wrote it, its number among that CPU's entries, and the
/// position it was written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Tag {
    cpu: u8,
    nth: u8,
    pos: u64,
    /// Whether this entry ends a batch that fits the queue (its `CMD_SYNC`), or is part of one.
    fits: Option<bool>,
}

/// Where a CPU is in `Cmdq::issue`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Pc {
    /// Taking the producer lock.
    Lock,
    /// Holding it: loading `cons` and deciding how many entries to take.
    Take,
    /// Holding it: writing `n` entries at `prod`.
    Write {
        n: usize,
    },
    /// Holding it: storing `prod` for other CPUs to read (`World::written`).
    Written,
    /// Dropping the lock.
    Unlock,
    /// Trying the publisher lock; if it is taken, going on (its holder publishes).
    PubTry,
    /// Holding the publisher lock: loading `written`.
    PubRead,
    /// Holding it: writing `CMDQ_PROD` with `v`, unless it holds `v` already.
    PubWrite {
        v: u64,
    },
    /// Dropping the publisher lock.
    PubUnlock {
        v: u64,
    },
    /// Loading `written` again: trying again if it moved past `v`.
    PubRecheck {
        v: u64,
    },
    /// Without the lock, no space: loading `cons`, then reading `CMDQ_CONS`, then raising
    /// `cons`, then retrying.
    SpaceLoad,
    SpaceRead {
        k: u64,
    },
    SpaceRaise {
        k: u64,
        reg: u32,
    },
    /// Waiting for the `CMD_SYNC`: the same three steps.
    PollLoad,
    PollRead {
        k: u64,
    },
    PollRaise {
        k: u64,
        reg: u32,
    },
    /// Finished.
    Done,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Cpu {
    pc: Pc,
    /// The batches still to issue (commands per batch, the sync not counted), current first.
    batches: Vec<usize>,
    /// Entries of the current batch (its sync included) written so far.
    written: usize,
    /// Entries written in all batches so far.
    nth: u8,
    /// The position of the current batch's `CMD_SYNC`, once written.
    sync: u64,
}

/// Everything the CPUs and the SMMU share, and the CPUs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct World {
    lock: Option<u8>,
    prod: u64,
    /// `Cmdq::prod` as other CPUs read it: stored by the producer lock's holder once its entries
    /// are written. (`prod` is the holder's own count while it writes them.)
    written: u64,
    /// The publisher lock.
    publisher: Option<u8>,
    cons: u64,
    ring: Vec<Option<Tag>>,
    prod_reg: u32,
    /// The position last written to `CMDQ_PROD` (what the SMMU may read up to).
    published: u64,
    /// The SMMU's consumer position; `CMDQ_CONS` is its register value.
    smmu_cons: u64,
    /// Entries of each CPU the SMMU consumed.
    consumed: Vec<u8>,
    /// The CPU whose batch the SMMU is in the middle of, if that batch fits the queue.
    open: Option<u8>,
    cpus: Vec<Cpu>,
}

/// A protocol change for the break checks: the model must then fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mutation {
    None,
    /// Take one entry more than there is space for.
    OverTake,
    /// See a `CMD_SYNC` as completed when the SMMU reached it, not when it passed it.
    EarlyCompletion,
    /// Store the decoded `CMDQ_CONS` into `cons` instead of raising it to the maximum.
    StoreCons,
    /// Take as many entries as are free, even of a batch that fits the queue.
    Split,
    /// Leave after publishing without looking at `written` again.
    NoRecheck,
    /// Publish without the publisher lock.
    NoPublisherLock,
}

/// The checks of one case.
struct Model {
    pos: Positions,
    mutation: Mutation,
    /// Check the protocol's own invariants, not only what the SMMU and the CPUs observe.
    invariants: bool,
}

impl Model {
    fn entries(&self) -> u64 {
        self.pos.entries()
    }

    fn slot(&self, pos: u64) -> usize {
        usize::try_from(pos % self.entries()).unwrap()
    }

    fn take(&self, prod: u64, cons: u64, left: usize) -> usize {
        match self.mutation {
            Mutation::OverTake => self.pos.fit(self.pos.space(prod, cons) + 1, left),
            Mutation::Split => usize::try_from(self.pos.space(prod, cons))
                .unwrap()
                .min(left),
            _ => self.pos.take(prod, cons, left),
        }
    }

    fn completed(&self, cons: u64, sync: u64) -> bool {
        match self.mutation {
            Mutation::EarlyCompletion => cons >= sync,
            _ => Positions::completed(cons, sync),
        }
    }

    fn raise(&self, w: &mut World, c: u64) {
        match self.mutation {
            Mutation::StoreCons => w.cons = c,
            _ => w.cons = w.cons.max(c),
        }
    }

    /// The CPU's current batch is complete: check that the SMMU consumed all of it.
    fn finish_batch(&self, w: &mut World, i: usize) -> Result<(), String> {
        let cpu = &mut w.cpus[i];
        if w.consumed[i] != cpu.nth {
            return Err(format!(
                "cpu {i} saw its sync complete with {} of its {} entries consumed",
                w.consumed[i], cpu.nth
            ));
        }
        cpu.batches.remove(0);
        cpu.written = 0;
        cpu.pc = if cpu.batches.is_empty() {
            Pc::Done
        } else {
            Pc::Lock
        };
        Ok(())
    }

    /// Where a CPU goes once its entries are published or left to the publisher: to wait for
    /// its `CMD_SYNC`, or for more space.
    fn after_publish(&self, cpu: &Cpu, total: usize) -> Pc {
        if cpu.written == total {
            Pc::PollLoad
        } else {
            Pc::Lock
        }
    }

    /// One step of CPU `i`; `Ok(None)` if it cannot move (waiting for the lock).
    fn step_cpu(&self, w: &World, i: usize) -> Result<Option<World>, String> {
        let mut w = w.clone();
        let me = u8::try_from(i).unwrap();
        let cpu = w.cpus[i].clone();
        let total = cpu.batches.first().map_or(0, |b| b + 1);
        let pc = match cpu.pc {
            Pc::Done => return Ok(None),
            Pc::Lock => {
                if w.lock.is_some() {
                    return Ok(None);
                }
                w.lock = Some(me);
                Pc::Take
            }
            Pc::Take => {
                let n = self.take(w.prod, w.cons, total - cpu.written);
                if n == 0 {
                    w.lock = None;
                    Pc::SpaceLoad
                } else {
                    Pc::Write { n }
                }
            }
            Pc::Write { n } => {
                // Slots the SMMU does not own: only the lock holder writes them, and the SMMU
                // reads none of them before `CMDQ_PROD` covers them.
                let cpu = &mut w.cpus[i];
                for _ in 0..n {
                    let pos = w.prod;
                    if pos >= w.smmu_cons + self.entries() {
                        return Err(format!(
                            "cpu {i} overwrites position {pos}, which the SMMU (at {}) has not \
                             consumed",
                            w.smmu_cons
                        ));
                    }
                    let slot = self.slot(pos);
                    let fits = u64::try_from(total).unwrap() <= self.entries();
                    w.ring[slot] = Some(Tag {
                        cpu: me,
                        nth: cpu.nth,
                        pos,
                        fits: fits.then_some(cpu.written + 1 == total),
                    });
                    cpu.nth += 1;
                    cpu.written += 1;
                    if cpu.written == total {
                        cpu.sync = pos;
                    }
                    w.prod += 1;
                }
                Pc::Written
            }
            Pc::Written => {
                w.written = w.prod;
                Pc::Unlock
            }
            Pc::Unlock => {
                w.lock = None;
                Pc::PubTry
            }
            Pc::PubTry => {
                if self.mutation == Mutation::NoPublisherLock {
                    Pc::PubRead
                } else if w.publisher.is_some() {
                    self.after_publish(&cpu, total)
                } else {
                    w.publisher = Some(me);
                    Pc::PubRead
                }
            }
            Pc::PubRead => Pc::PubWrite { v: w.written },
            Pc::PubWrite { v } => {
                if v != w.published {
                    if v < w.published || v > w.smmu_cons + self.entries() {
                        return Err(format!(
                            "cpu {i} writes CMDQ_PROD {v} with {} published and the SMMU at {}",
                            w.published, w.smmu_cons
                        ));
                    }
                    w.published = v;
                    w.prod_reg = self.pos.reg(v);
                }
                Pc::PubUnlock { v }
            }
            Pc::PubUnlock { v } => {
                if self.mutation != Mutation::NoPublisherLock {
                    w.publisher = None;
                }
                Pc::PubRecheck { v }
            }
            Pc::PubRecheck { v } => {
                if w.written == v || self.mutation == Mutation::NoRecheck {
                    self.after_publish(&cpu, total)
                } else {
                    Pc::PubTry
                }
            }
            Pc::SpaceLoad => Pc::SpaceRead { k: w.cons },
            Pc::SpaceRead { k } => Pc::SpaceRaise {
                k,
                reg: self.pos.reg(w.smmu_cons),
            },
            Pc::SpaceRaise { k, reg } => {
                let c = self.pos.decode(k, reg);
                self.raise(&mut w, c);
                Pc::Lock
            }
            Pc::PollLoad => {
                if self.completed(w.cons, cpu.sync) {
                    self.finish_batch(&mut w, i)?;
                    return Ok(Some(w));
                }
                Pc::PollRead { k: w.cons }
            }
            Pc::PollRead { k } => Pc::PollRaise {
                k,
                reg: self.pos.reg(w.smmu_cons),
            },
            Pc::PollRaise { k, reg } => {
                let c = self.pos.decode(k, reg);
                self.raise(&mut w, c);
                if self.completed(c, cpu.sync) {
                    self.finish_batch(&mut w, i)?;
                    return Ok(Some(w));
                }
                Pc::PollLoad
            }
        };
        w.cpus[i].pc = pc;
        Ok(Some(w))
    }

    /// The SMMU consumes one entry, if `CMDQ_PROD` and `CMDQ_CONS` differ.
    fn step_smmu(&self, w: &World) -> Result<Option<World>, String> {
        if self.pos.reg(w.smmu_cons) == w.prod_reg {
            return Ok(None);
        }
        let mut w = w.clone();
        let at = w.smmu_cons;
        match w.ring[self.slot(at)] {
            Some(t) if t.pos == at => {
                let i = usize::from(t.cpu);
                if w.consumed[i] != t.nth {
                    return Err(format!(
                        "the SMMU consumes entry {} of cpu {i} after {} of its entries",
                        t.nth, w.consumed[i]
                    ));
                }
                w.consumed[i] += 1;
                // A batch that fits the queue reaches the SMMU in one piece.
                if let Some(j) = w.open.filter(|&j| j != t.cpu) {
                    return Err(format!(
                        "the SMMU consumes an entry of cpu {i} inside a batch of cpu {j}"
                    ));
                }
                w.open = match t.fits {
                    Some(false) => Some(t.cpu),
                    _ => None,
                };
            }
            other => {
                return Err(format!("the SMMU reads {other:?} at position {at}"));
            }
        }
        w.smmu_cons += 1;
        Ok(Some(w))
    }

    fn invariants(&self, w: &World) -> Result<(), String> {
        if !(w.cons <= w.smmu_cons
            && w.smmu_cons <= w.published
            && w.published <= w.written
            && w.written <= w.prod
            && w.prod <= w.cons + self.entries())
        {
            return Err(format!(
                "cons {} smmu {} published {} written {} prod {}",
                w.cons, w.smmu_cons, w.published, w.written, w.prod
            ));
        }
        Ok(())
    }

    /// Explores every state of `cpus` CPUs issuing `batches`; returns how many there are.
    fn explore(&self, batches: &[Vec<usize>]) -> Result<usize, String> {
        let n = batches.len();
        let start = World {
            lock: None,
            // One entry before the register's wrap bit flips back to 0, so cases cross it.
            prod: 2 * self.entries() - 1,
            written: 2 * self.entries() - 1,
            publisher: None,
            cons: 2 * self.entries() - 1,
            ring: std::vec![None; usize::try_from(self.entries()).unwrap()],
            prod_reg: self.pos.reg(2 * self.entries() - 1),
            published: 2 * self.entries() - 1,
            smmu_cons: 2 * self.entries() - 1,
            consumed: std::vec![0; n],
            open: None,
            cpus: batches
                .iter()
                .map(|b| Cpu {
                    pc: Pc::Lock,
                    batches: b.clone(),
                    written: 0,
                    nth: 0,
                    sync: 0,
                })
                .collect(),
        };
        let mut index: HashMap<World, usize> = HashMap::new();
        let mut states: Vec<World> = Vec::new();
        // Reverse edges, for the liveness check.
        let mut preds: Vec<Vec<usize>> = Vec::new();
        let mut todo = std::vec![0usize];
        index.insert(start.clone(), 0);
        states.push(start);
        preds.push(Vec::new());
        while let Some(s) = todo.pop() {
            let w = states[s].clone();
            if self.invariants {
                self.invariants(&w)?;
            }
            let mut next = Vec::new();
            for i in 0..n {
                if let Some(x) = self.step_cpu(&w, i)? {
                    next.push(x);
                }
            }
            if let Some(x) = self.step_smmu(&w)? {
                next.push(x);
            }
            for x in next {
                let t = match index.get(&x) {
                    Some(&t) => t,
                    None => {
                        let t = states.len();
                        index.insert(x.clone(), t);
                        states.push(x);
                        preds.push(Vec::new());
                        todo.push(t);
                        t
                    }
                };
                preds[t].push(s);
            }
        }
        // Every state must be able to reach one where every CPU is done.
        let mut live = std::vec![false; states.len()];
        let mut todo: Vec<usize> = (0..states.len())
            .filter(|&s| states[s].cpus.iter().all(|c| c.pc == Pc::Done))
            .collect();
        if todo.is_empty() {
            return Err("no interleaving gets every CPU done".into());
        }
        for &s in &todo {
            live[s] = true;
        }
        while let Some(s) = todo.pop() {
            for &p in &preds[s] {
                if !live[p] {
                    live[p] = true;
                    todo.push(p);
                }
            }
        }
        if let Some(s) = live.iter().position(|l| !l) {
            return Err(format!("stuck: no CPU can finish from {:?}", states[s]));
        }
        Ok(states.len())
    }
}

fn model(log2size: u32, mutation: Mutation) -> Model {
    Model {
        pos: Positions::new(Queue::new(log2size).unwrap()),
        mutation,
        invariants: true,
    }
}

/// The cases: queue size (log2) and each CPU's batches (commands per `CMD_SYNC`).
fn cases() -> Vec<(u32, Vec<Vec<usize>>)> {
    std::vec![
        // Two CPUs on a two-entry queue: every batch fills it.
        (1, std::vec![std::vec![1, 0], std::vec![1]]),
        // A batch three times the queue, beside a small one.
        (1, std::vec![std::vec![5], std::vec![0]]),
        // Three CPUs.
        (1, std::vec![std::vec![1], std::vec![0], std::vec![1]]),
        (2, std::vec![std::vec![1], std::vec![1], std::vec![0]]),
        // Two CPUs, two batches each, on a four-entry queue that wraps twice.
        (2, std::vec![std::vec![1, 2], std::vec![2, 1]]),
    ]
}

#[test]
fn every_interleaving_is_safe_and_live() {
    for (log2, batches) in cases() {
        let states = model(log2, Mutation::None)
            .explore(&batches)
            .unwrap_or_else(|e| panic!("queue 2^{log2}, batches {batches:?}: {e}"));
        std::println!("queue 2^{log2}, batches {batches:?}: {states} states");
    }
}

/// The model notices each of these protocol changes in at least one case, by what the SMMU or
/// a CPU observes, not only by the protocol's invariants.
#[test]
fn broken_protocols_are_caught() {
    for m in [
        Mutation::OverTake,
        Mutation::EarlyCompletion,
        Mutation::StoreCons,
        Mutation::Split,
        Mutation::NoRecheck,
        Mutation::NoPublisherLock,
    ] {
        let caught = cases()
            .into_iter()
            .filter_map(|(log2, batches)| {
                let model = Model {
                    invariants: false,
                    ..model(log2, m)
                };
                model.explore(&batches).err()
            })
            .next();
        match caught {
            Some(e) => std::println!("{m:?}: {e}"),
            None => panic!("{m:?} passes every case"),
        }
    }
}

#[test]
fn decode_is_a_lower_bound_and_exact_within_reach() {
    let pos = Positions::new(Queue::new(2).unwrap());
    for cons in 0..40u64 {
        for truth in cons..cons + 20 {
            let d = pos.decode(cons, pos.reg(truth) | 0x7f00_0000);
            assert!(d >= cons && d <= truth, "cons {cons} truth {truth}: {d}");
            if truth < cons + 2 * pos.entries() {
                assert_eq!(d, truth);
            }
        }
    }
    assert_eq!(pos.space(10, 6), 0);
    assert_eq!(pos.space(9, 6), 1);
    assert_eq!(pos.space(20, 6), 0);
    // A batch that fits the queue is taken whole or not at all; a larger one as space allows.
    assert_eq!(pos.take(8, 6, 5), 2);
    assert_eq!(pos.take(8, 6, 3), 0);
    assert_eq!(pos.take(7, 6, 3), 3);
    assert_eq!(pos.take(6, 6, 4), 4);
    assert!(Positions::completed(7, 6) && !Positions::completed(6, 6));
}
