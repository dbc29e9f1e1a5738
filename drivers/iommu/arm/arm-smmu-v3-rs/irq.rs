// SPDX-License-Identifier: GPL-2.0

//! Interrupt handlers: the event queue (threaded) and global errors.

use kernel::{
    irq::{
        self,
        IrqReturn, //
    },
    sync::Arc, //
};

use crate::smmu::Smmu;

/// Drains the event queue from the interrupt thread.
pub(crate) struct EvtqIrq(pub(crate) Arc<Smmu>);

impl irq::ThreadedHandler for EvtqIrq {
    fn handle_threaded(&self) -> IrqReturn {
        self.0.drain_events()
    }
}

/// Reports and acknowledges global errors, and recovers the command queue.
pub(crate) struct GerrorIrq(pub(crate) Arc<Smmu>);

impl irq::Handler for GerrorIrq {
    fn handle(&self) -> IrqReturn {
        self.0.handle_gerror()
    }
}
