// SPDX-License-Identifier: GPL-2.0

//! Interrupt handlers: the event queue, the PRI queue, global errors, and all of them on one
//! line.
//!
//! An SMMU's wired interrupts are described by name: either one "combined" line for everything,
//! or a line per source ("eventq", "priq", "gerror"; "cmdq-sync" is not used). Everything is
//! handled in the interrupt thread: handling a global error takes the command queue's lock, a
//! spinlock that may not be taken in hard interrupt context, and reporting events and page
//! requests may sleep.

use kernel::{
    irq::{
        self,
        IrqReturn,
        ThreadedIrqReturn, //
    },
    prelude::*,
    sync::Arc, //
};

use crate::smmu::Smmu;

/// What one wired interrupt line of the SMMU signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// Events ("eventq").
    Evtq,
    /// Page requests ("priq").
    Priq,
    /// Global errors ("gerror").
    Gerror,
    /// Everything ("combined").
    Combined,
}

impl Line {
    /// The interrupt's name in the device tree binding.
    pub(crate) fn name(self) -> &'static CStr {
        match self {
            Line::Evtq => c"eventq",
            Line::Priq => c"priq",
            Line::Gerror => c"gerror",
            Line::Combined => c"combined",
        }
    }

    /// The name the handler is registered under (`/proc/interrupts`).
    pub(crate) fn handler_name(self) -> &'static CStr {
        match self {
            Line::Evtq => c"arm-smmu-v3-rs-evtq",
            Line::Priq => c"arm-smmu-v3-rs-priq",
            Line::Gerror => c"arm-smmu-v3-rs-gerror",
            Line::Combined => c"arm-smmu-v3-rs-combined",
        }
    }
}

/// The handler of one SMMU interrupt line.
pub(crate) struct SmmuIrq {
    smmu: Arc<Smmu>,
    line: Line,
}

impl SmmuIrq {
    /// A handler for `line` of `smmu`.
    pub(crate) fn new(smmu: Arc<Smmu>, line: Line) -> Self {
        Self { smmu, line }
    }
}

impl irq::ThreadedHandler for SmmuIrq {
    fn handle(&self) -> ThreadedIrqReturn {
        ThreadedIrqReturn::WakeThread
    }

    fn handle_threaded(&self) -> IrqReturn {
        match self.line {
            Line::Evtq => self.smmu.drain_events(),
            Line::Priq => self.smmu.drain_pri(),
            Line::Gerror => self.smmu.handle_gerror(),
            // Whether or not a global error was pending, events and page requests may be.
            Line::Combined => match (
                self.smmu.handle_gerror(),
                self.smmu.drain_events(),
                self.smmu.drain_pri(),
            ) {
                (IrqReturn::None, IrqReturn::None, IrqReturn::None) => IrqReturn::None,
                _ => IrqReturn::Handled,
            },
        }
    }
}
