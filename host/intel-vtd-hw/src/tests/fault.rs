// SPDX-License-Identifier: GPL-2.0

//! Fault records: every record decodes and formats, and the log line has the C driver's form.

use proptest::prelude::*;
use std::{
    format,
    string::String, //
};

use crate::hw::fault::FaultRecord;

proptest! {
    #[test]
    fn random_fault_records(lo in any::<u64>(), hi in any::<u64>(), segment in any::<u16>()) {
        // Every record decodes and formats without panicking; F decides whether it is one.
        let r = FaultRecord::decode(&[lo, hi]);
        prop_assert_eq!(r.is_some(), hi >> 63 == 1);
        if let Some(r) = r {
            let s: String = format!("{}", r.display(segment));
            prop_assert!(s.contains("Request device"));
        }
    }
}

#[test]
fn fault_log_format() {
    // A read of an unmapped IOVA by 00:03.0: the C driver's log line, with this layer's text.
    let r = FaultRecord::decode(&[0xdead_b000, 0x18 | 6 << 32 | 1 << 62 | 1 << 63]).unwrap();
    assert_eq!(
        format!("{}", r.display(0)),
        "[DMA Read NO_PASID] Request device [0000:00:03.0] fault addr 0xdeadb000 \
         [fault reason 0x06] Read from a page without read permission"
    );
    let r =
        FaultRecord::decode(&[0x1000, 0x0101 | 1 << 31 | 0x71 << 32 | 5 << 40 | 1 << 63]).unwrap();
    assert_eq!(
        format!("{}", r.display(1)),
        "[DMA Write PASID 0x5] Request device [0001:01:00.1] fault addr 0x1000 \
         [fault reason 0x71] SM: First-stage paging entry not present"
    );
    let r = FaultRecord::decode(&[0x2a << 48, 0x10 | 0x22 << 32 | 1 << 63]).unwrap();
    assert_eq!(
        format!("{}", r.display(0)),
        "[INTR-REMAP] Request device [0000:00:02.0] fault index 0x2a \
         [fault reason 0x22] Interrupt remapping table entry not present"
    );
}
