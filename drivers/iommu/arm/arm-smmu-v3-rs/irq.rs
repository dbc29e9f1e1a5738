// SPDX-License-Identifier: GPL-2.0

//! Interrupt handlers: the event queue (threaded), global errors, and the two on one line.
//!
//! An SMMU's wired interrupts are described by name: either one "combined" line for everything,
//! or a line per source ("eventq", "gerror"; "priq" and "cmdq-sync" are not used). Global
//! errors are handled in hard interrupt context, events in the interrupt thread.

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
            Line::Gerror => c"gerror",
            Line::Combined => c"combined",
        }
    }

    /// The name the handler is registered under (`/proc/interrupts`).
    pub(crate) fn handler_name(self) -> &'static CStr {
        match self {
            Line::Evtq => c"arm-smmu-v3-rs-evtq",
            Line::Gerror => c"arm-smmu-v3-rs-gerror",
            Line::Combined => c"arm-smmu-v3-rs-combined",
        }
    }

    /// Whether the line has work for the interrupt thread.
    pub(crate) fn threaded(self) -> bool {
        self != Line::Gerror
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
        match self.line {
            Line::Evtq => ThreadedIrqReturn::WakeThread,
            Line::Gerror => match self.smmu.handle_gerror() {
                IrqReturn::None => ThreadedIrqReturn::None,
                IrqReturn::Handled => ThreadedIrqReturn::Handled,
            },
            // Whether or not a global error was pending, events may be.
            Line::Combined => {
                self.smmu.handle_gerror();
                ThreadedIrqReturn::WakeThread
            }
        }
    }

    fn handle_threaded(&self) -> IrqReturn {
        match self.line {
            Line::Evtq | Line::Combined => self.smmu.drain_events(),
            Line::Gerror => IrqReturn::None,
        }
    }
}
