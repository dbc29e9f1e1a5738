// SPDX-License-Identifier: GPL-2.0

//! Event queue and PRI queue records.
//!
//! An event record is 4 qwords. Qword 0 holds the event type in bits 7:0, the StreamID in bits
//! 63:32 and an optional SubstreamID; the other qwords depend on the type. A PRI queue record is
//! 2 qwords describing one PCIe page request.

use core::fmt;

use crate::hw::{
    field::{
        encoding,
        Bit,
        Field, //
    },
    ids::Ssid,
};

/// The number of qwords of an event record.
pub(crate) const EVT_QWORDS: usize = 4;

/// The number of qwords of a PRI queue record.
pub(crate) const PRI_QWORDS: usize = 2;

/// `Type`: the event type, see [`EventId`].
pub(crate) const ID: Field<0, 7, 0> = Field;
/// `SSV`: the SubstreamID is valid.
pub(crate) const SSV: Bit<0, 11> = Field;
/// `SubstreamID`.
pub(crate) const SSID: Field<0, 31, 12> = Field;
/// `StreamID`.
pub(crate) const SID: Field<0, 63, 32> = Field;
/// `STAG`: the stall tag to give to `CMD_RESUME`.
pub(crate) const STAG: Field<1, 15, 0> = Field;
/// `Stall`: the transaction is stalled and waits for `CMD_RESUME`.
pub(crate) const STALL: Bit<1, 31> = Field;
/// `PnU`: privileged (1) or unprivileged (0) access.
pub(crate) const PNU: Bit<1, 33> = Field;
/// `InD`: instruction (1) or data (0) access.
pub(crate) const IND: Bit<1, 34> = Field;
/// `RnW`: read (1) or write (0) access.
pub(crate) const RNW: Bit<1, 35> = Field;
/// `S2`: the fault was raised by stage 2.
pub(crate) const S2: Bit<1, 39> = Field;
/// `CLASS`: what the access was doing when it faulted, see [`FaultClass`].
pub(crate) const CLASS: Field<1, 41, 40> = Field;
/// `TTRnW`: the faulting translation table access was a read (1) or a write (0).
pub(crate) const TTRNW: Bit<1, 44> = Field;
/// `InputAddr`: the input address of the transaction.
pub(crate) const INPUT_ADDR: Field<2, 63, 0> = Field;
/// `IPA`: the intermediate physical address of a stage 2 fault, bits 51:12.
pub(crate) const IPA: Field<3, 51, 12> = Field;
/// `FetchAddr`: the physical address of a failed structure fetch, bits 51:3.
pub(crate) const FETCH_ADDR: Field<3, 51, 3> = Field;

/// PRI `StreamID`.
pub(crate) const PRI_SID: Field<0, 31, 0> = Field;
/// PRI `SubstreamID`.
pub(crate) const PRI_SSID: Field<0, 51, 32> = Field;
/// PRI `Priv`: privileged access requested.
pub(crate) const PRI_PRIV: Bit<0, 58> = Field;
/// PRI `X`: execute access requested.
pub(crate) const PRI_EXEC: Bit<0, 59> = Field;
/// PRI `R`: read access requested.
pub(crate) const PRI_READ: Bit<0, 60> = Field;
/// PRI `W`: write access requested.
pub(crate) const PRI_WRITE: Bit<0, 61> = Field;
/// PRI `L`: last request of its group.
pub(crate) const PRI_LAST: Bit<0, 62> = Field;
/// PRI `SSV`: the SubstreamID is valid.
pub(crate) const PRI_SSV: Bit<0, 63> = Field;
/// PRI `PRGI`: the page request group index.
pub(crate) const PRI_GRPID: Field<1, 8, 0> = Field;
/// PRI `Page Address`, bits 63:12.
pub(crate) const PRI_ADDR: Field<1, 63, 12> = Field;

encoding! {
    /// Event types.
    pub(crate) enum EventId {
        /// `F_UUT`: unsupported upstream transaction.
        Uut = 0x01,
        /// `C_BAD_STREAMID`: the StreamID is out of range of the stream table.
        BadStreamId = 0x02,
        /// `F_STE_FETCH`: fetching an STE failed.
        SteFetch = 0x03,
        /// `C_BAD_STE`: the STE is invalid or ILLEGAL.
        BadSte = 0x04,
        /// `F_BAD_ATS_TREQ`: an ATS translation request was not allowed.
        BadAtsTreq = 0x05,
        /// `F_STREAM_DISABLED`: the stream's STE has `V == 0`.
        StreamDisabled = 0x06,
        /// `F_TRANSL_FORBIDDEN`: a translated transaction was not allowed.
        TranslForbidden = 0x07,
        /// `C_BAD_SUBSTREAMID`: the SubstreamID is out of range or not allowed.
        BadSubstreamId = 0x08,
        /// `F_CD_FETCH`: fetching a CD failed.
        CdFetch = 0x09,
        /// `C_BAD_CD`: the CD is invalid or ILLEGAL.
        BadCd = 0x0a,
        /// `F_WALK_EABT`: a translation table walk got an external abort.
        WalkEabt = 0x0b,
        /// `F_TRANSLATION`: translation fault.
        Translation = 0x10,
        /// `F_ADDR_SIZE`: address size fault.
        AddrSize = 0x11,
        /// `F_ACCESS`: access flag fault.
        Access = 0x12,
        /// `F_PERMISSION`: permission fault.
        Permission = 0x13,
        /// `F_TLB_CONFLICT`: TLB conflict.
        TlbConflict = 0x20,
        /// `F_CFG_CONFLICT`: configuration cache conflict.
        CfgConflict = 0x21,
        /// `E_PAGE_REQUEST`: a speculative page request hint.
        PageRequest = 0x24,
        /// `F_VMS_FETCH`: fetching a VM structure failed.
        VmsFetch = 0x25,
    }
}

impl EventId {
    /// Returns the architectural name of the event.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Uut => "F_UUT",
            Self::BadStreamId => "C_BAD_STREAMID",
            Self::SteFetch => "F_STE_FETCH",
            Self::BadSte => "C_BAD_STE",
            Self::BadAtsTreq => "F_BAD_ATS_TREQ",
            Self::StreamDisabled => "F_STREAM_DISABLED",
            Self::TranslForbidden => "F_TRANSL_FORBIDDEN",
            Self::BadSubstreamId => "C_BAD_SUBSTREAMID",
            Self::CdFetch => "F_CD_FETCH",
            Self::BadCd => "C_BAD_CD",
            Self::WalkEabt => "F_WALK_EABT",
            Self::Translation => "F_TRANSLATION",
            Self::AddrSize => "F_ADDR_SIZE",
            Self::Access => "F_ACCESS",
            Self::Permission => "F_PERMISSION",
            Self::TlbConflict => "F_TLB_CONFLICT",
            Self::CfgConflict => "F_CFG_CONFLICT",
            Self::PageRequest => "E_PAGE_REQUEST",
            Self::VmsFetch => "F_VMS_FETCH",
        }
    }

    /// Returns what the record of this event type carries beyond the stream identifiers.
    const fn layout(self) -> Layout {
        match self {
            Self::BadStreamId
            | Self::BadSte
            | Self::StreamDisabled
            | Self::BadSubstreamId
            | Self::BadCd
            | Self::CfgConflict => Layout::StreamOnly,
            Self::SteFetch | Self::CdFetch | Self::VmsFetch => Layout::Fetch,
            Self::Uut
            | Self::BadAtsTreq
            | Self::TranslForbidden
            | Self::TlbConflict
            | Self::PageRequest => Layout::Request,
            Self::WalkEabt => Layout::WalkAbort,
            Self::Translation | Self::AddrSize | Self::Access | Self::Permission => {
                Layout::Translation
            }
        }
    }
}

/// The groups of record layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// StreamID and SubstreamID only.
    StreamOnly,
    /// A structure fetch address.
    Fetch,
    /// An input address and access type.
    Request,
    /// A translation fault with stall information, the faulting IPA and the stage.
    Translation,
    /// As a translation fault, plus the address of the descriptor fetch that aborted.
    WalkAbort,
}

encoding! {
    /// The `CLASS` field of a fault: what the SMMU was accessing when the fault happened.
    pub(crate) enum FaultClass {
        /// Fetching a CD.
        Cd = 0,
        /// Walking a stage 1 translation table.
        TranslationTable = 1,
        /// Translating the input address itself.
        Input = 2,
    }
}

impl FaultClass {
    /// Returns a short description.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Cd => "CD fetch",
            Self::TranslationTable => "stage 1 table walk",
            Self::Input => "input address",
        }
    }
}

/// The kind of access that faulted or that a page request asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Access {
    /// A read.
    pub(crate) read: bool,
    /// A write.
    pub(crate) write: bool,
    /// Execute permission is needed.
    pub(crate) exec: bool,
    /// A privileged access.
    pub(crate) privileged: bool,
    /// An instruction fetch (`InD`), which needs execute permission.
    pub(crate) instruction: bool,
}

/// A decoded event record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    /// The raw event type.
    pub(crate) id: u8,
    /// The decoded event type, `None` for IMPLEMENTATION DEFINED and reserved types.
    pub(crate) kind: Option<EventId>,
    /// The StreamID.
    pub(crate) sid: u32,
    /// The SubstreamID, when valid.
    pub(crate) ssid: Option<Ssid>,
    /// The input address (IOVA) of the transaction, when the record carries one.
    pub(crate) input_addr: Option<u64>,
    /// The IPA of a stage 2 fault.
    pub(crate) ipa: Option<u64>,
    /// The physical address of a failed structure or descriptor fetch.
    pub(crate) fetch_addr: Option<u64>,
    /// The access type, when the record carries one.
    pub(crate) access: Option<Access>,
    /// The stall tag, when the transaction is stalled.
    pub(crate) stag: Option<u16>,
    /// The fault was raised by stage 2.
    pub(crate) s2: bool,
    /// What the SMMU was accessing, for translation faults.
    pub(crate) class: Option<FaultClass>,
    /// Whether the faulting table access was a read, for permission faults on a table walk.
    pub(crate) ttd_read: Option<bool>,
}

impl Event {
    /// Decodes an event record.
    pub(crate) fn decode(raw: &[u64; EVT_QWORDS]) -> Self {
        // CAST: The fields are 8, 32 and 16 bits wide.
        let id = ID.get(raw) as u8;
        let sid = SID.get(raw) as u32;
        let kind = EventId::from_raw(u64::from(id));
        let ssid = if SSV.is_set(raw) {
            // CAST: The field is 20 bits wide.
            Ssid::new(SSID.get(raw) as u32).ok()
        } else {
            None
        };
        let mut evt = Self {
            id,
            kind,
            sid,
            ssid,
            input_addr: None,
            ipa: None,
            fetch_addr: None,
            access: None,
            stag: None,
            s2: false,
            class: None,
            ttd_read: None,
        };
        let Some(kind) = kind else {
            return evt;
        };
        let layout = kind.layout();
        match layout {
            Layout::StreamOnly => {}
            Layout::Fetch => evt.fetch_addr = Some(FETCH_ADDR.get_addr(raw)),
            Layout::Request | Layout::Translation | Layout::WalkAbort => {
                let read = RNW.is_set(raw);
                let instruction = IND.is_set(raw);
                evt.input_addr = Some(INPUT_ADDR.get(raw));
                evt.access = Some(Access {
                    read,
                    write: !read,
                    exec: instruction,
                    privileged: PNU.is_set(raw),
                    instruction,
                });
            }
        }
        if matches!(layout, Layout::Translation | Layout::WalkAbort) {
            if STALL.is_set(raw) {
                // CAST: The field is 16 bits wide.
                evt.stag = Some(STAG.get(raw) as u16);
            }
            evt.s2 = S2.is_set(raw);
            let class = FaultClass::from_raw(CLASS.get(raw));
            evt.class = class;
            if evt.s2 {
                evt.ipa = Some(IPA.get_addr(raw));
            }
            if kind == EventId::Permission && class == Some(FaultClass::TranslationTable) {
                evt.ttd_read = Some(TTRNW.is_set(raw));
            }
        }
        if layout == Layout::WalkAbort {
            evt.fetch_addr = Some(FETCH_ADDR.get_addr(raw));
        }
        evt
    }
}

/// A stalled transaction, as the event that reports it describes it: what a page fault handler
/// needs, and the tag `CMD_RESUME` answers it with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stall {
    /// The StreamID.
    pub(crate) sid: u32,
    /// The SubstreamID, when valid.
    pub(crate) ssid: Option<Ssid>,
    /// The stall tag.
    pub(crate) stag: u16,
    /// The input address (IOVA) of the transaction.
    pub(crate) addr: u64,
    /// The access that faulted.
    pub(crate) access: Access,
    /// The fault is one that making the page available can resolve (translation, address
    /// size, access flag or permission fault), as the C driver reports them; the others (an
    /// external abort on a table walk) can only be aborted.
    pub(crate) page_fault: bool,
}

impl Event {
    /// The stalled transaction this event reports, if it is one (`Stall == 1`).
    pub(crate) fn stall(&self) -> Option<Stall> {
        let stag = self.stag?;
        Some(Stall {
            sid: self.sid,
            ssid: self.ssid,
            stag,
            addr: self.input_addr.unwrap_or(0),
            access: self.access.unwrap_or_default(),
            page_fault: matches!(
                self.kind,
                Some(
                    EventId::Translation
                        | EventId::AddrSize
                        | EventId::Access
                        | EventId::Permission
                )
            ),
        })
    }
}

impl fmt::Display for Event {
    /// Formats the event as one log line, without a trailing newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Some(kind) => write!(f, "{}", kind.name())?,
            None => write!(f, "event {:#04x}", self.id)?,
        }
        write!(f, " sid {:#x}", self.sid)?;
        if let Some(ssid) = self.ssid {
            write!(f, " ssid {:#x}", ssid.get())?;
        }
        if let Some(addr) = self.input_addr {
            write!(f, " iova {:#x}", addr)?;
        }
        if let Some(ipa) = self.ipa {
            write!(f, " ipa {:#x}", ipa)?;
        }
        if let Some(addr) = self.fetch_addr {
            write!(f, " fetch {:#x}", addr)?;
        }
        if let Some(a) = self.access {
            write!(
                f,
                " {} {} {}",
                if a.privileged { "priv" } else { "unpriv" },
                if a.instruction { "inst" } else { "data" },
                if a.read { "read" } else { "write" },
            )?;
        }
        if self.class.is_some() {
            f.write_str(if self.s2 { " s2" } else { " s1" })?;
        }
        if let Some(class) = self.class {
            write!(f, " \"{}\"", class.name())?;
        }
        if let Some(read) = self.ttd_read {
            f.write_str(if read { " ttd_read" } else { " ttd_write" })?;
        }
        if let Some(stag) = self.stag {
            write!(f, " stall stag {:#x}", stag)?;
        }
        Ok(())
    }
}

/// A decoded PRI queue record: one PCIe page request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageRequest {
    /// The StreamID.
    pub(crate) sid: u32,
    /// The SubstreamID (PASID), when valid.
    pub(crate) ssid: Option<Ssid>,
    /// The access the endpoint asks for.
    pub(crate) access: Access,
    /// The last request of its group: a response is due once it is handled.
    pub(crate) last: bool,
    /// The page request group index.
    pub(crate) grpid: u16,
    /// The page address.
    pub(crate) addr: u64,
}

impl PageRequest {
    /// Decodes a PRI queue record.
    pub(crate) fn decode(raw: &[u64; PRI_QWORDS]) -> Self {
        let ssid = if PRI_SSV.is_set(raw) {
            // CAST: The field is 20 bits wide.
            Ssid::new(PRI_SSID.get(raw) as u32).ok()
        } else {
            None
        };
        let exec = PRI_EXEC.is_set(raw);
        Self {
            // CAST: The field is 32 bits wide.
            sid: PRI_SID.get(raw) as u32,
            ssid,
            access: Access {
                read: PRI_READ.is_set(raw),
                write: PRI_WRITE.is_set(raw),
                exec,
                privileged: PRI_PRIV.is_set(raw),
                instruction: exec,
            },
            last: PRI_LAST.is_set(raw),
            // CAST: The field is 9 bits wide.
            grpid: PRI_GRPID.get(raw) as u16,
            addr: PRI_ADDR.get_addr(raw),
        }
    }

    /// Whether this is a PCIe Stop Marker, not a request: L, W, R = 0b100 with a PASID. It
    /// delimits a PASID's requests and takes no response.
    pub(crate) const fn is_stop_marker(&self) -> bool {
        self.ssid.is_some() && self.last && !self.access.read && !self.access.write
    }
}

impl fmt::Display for PageRequest {
    /// Formats the request as one log line, without a trailing newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "page request sid {:#x}", self.sid)?;
        if let Some(ssid) = self.ssid {
            write!(f, " ssid {:#x}", ssid.get())?;
        }
        let a = &self.access;
        write!(
            f,
            " grpid {:#x} addr {:#x} {}{}{}{}{}",
            self.grpid,
            self.addr,
            if a.read { "R" } else { "-" },
            if a.write { "W" } else { "-" },
            if a.exec { "X" } else { "-" },
            if a.privileged { "P" } else { "-" },
            if self.last { " last" } else { "" },
        )
    }
}
