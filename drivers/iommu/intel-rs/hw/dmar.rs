// SPDX-License-Identifier: GPL-2.0

//! The ACPI DMA Remapping Reporting table (DMAR).
//!
//! The table is a 48-byte header followed by remapping structures, each starting with a 16-bit
//! type and a 16-bit length: hardware units (DRHD), reserved memory regions (RMRR), root port
//! ATS capability (ATSR), proximity (RHSA), ACPI namespace devices (ANDD), SoC-integrated ATCs
//! (SATC) and SoC-integrated device properties (SIDP). DRHD, RMRR, ATSR, SATC and SIDP end
//! with device scopes, each a type, a start bus and a path of (device, function) pairs through
//! PCI bridges.
//!
//! Parsing works on the table's bytes in place: no allocation, every read bounds-checked, and
//! every malformed length a [`DmarError`] naming the byte offset. Structure types this layer
//! does not know are returned as [`Structure::Unknown`], not refused, as the C driver skips them
//! for forward compatibility; a refusal would turn away firmware written for a newer
//! specification.

use core::fmt;

/// The length of the DMAR table header: the ACPI header, `Host Address Width`, `Flags` and
/// 10 reserved bytes.
pub(crate) const HEADER_LEN: usize = 48;
/// The length of a remapping structure's type and length fields.
const STRUCT_HEADER_LEN: usize = 4;
/// The length of a device scope without its path.
const SCOPE_HEADER_LEN: usize = 6;

/// Why a DMAR table was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DmarErrorKind {
    /// The table is shorter than its header, or than the length its header gives.
    TableTruncated,
    /// The signature is not `DMAR`.
    BadSignature,
    /// The header's length is shorter than the header itself.
    BadTableLength,
    /// The host address width is below 12 or above 64 bits.
    BadWidth,
    /// Fewer than 4 bytes are left for a structure's type and length.
    StructTruncated,
    /// A structure has length 0, which would loop forever.
    ZeroLength,
    /// A structure's length goes past the end of the table.
    PastEnd,
    /// A structure's length is shorter than its fixed fields, so they would overlap the next
    /// structure.
    TooShort,
    /// Fewer than 2 bytes are left in a structure for a device scope's type and length.
    ScopeTruncated,
    /// A device scope has length 0.
    ScopeZeroLength,
    /// A device scope is shorter than its 6 fixed bytes.
    ScopeTooShort,
    /// A device scope goes past the end of its structure.
    ScopePastEnd,
    /// A device scope's path is not made of 2-byte (device, function) pairs.
    ScopeOddPath,
    /// A device scope of a defined type has no path.
    ScopeEmptyPath,
    /// A path element has a device above 31 or a function above 7.
    BadPath,
    /// A DRHD's register base address is 0 or not 4KB aligned.
    BadRegisterBase,
    /// Two DRHDs' register sets overlap.
    OverlappingUnits,
}

/// A malformed DMAR table: what is wrong, and the byte offset in the table of the structure
/// or device scope that is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DmarError {
    /// What is wrong.
    pub(crate) kind: DmarErrorKind,
    /// The byte offset from the start of the table.
    pub(crate) offset: usize,
}

impl DmarError {
    /// An error of `kind` at `offset`.
    const fn at(kind: DmarErrorKind, offset: usize) -> Self {
        Self { kind, offset }
    }
}

impl fmt::Display for DmarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DmarErrorKind::*;
        let what = match self.kind {
            TableTruncated => "table shorter than its header says",
            BadSignature => "signature is not DMAR",
            BadTableLength => "table length shorter than the DMAR header",
            BadWidth => "invalid host address width",
            StructTruncated => "structure header cut off by the table end",
            ZeroLength => "zero-length structure",
            PastEnd => "structure passes the table end",
            TooShort => "structure shorter than its fixed fields",
            ScopeTruncated => "device scope header cut off by its structure's end",
            ScopeZeroLength => "zero-length device scope",
            ScopeTooShort => "device scope shorter than 6 bytes",
            ScopePastEnd => "device scope passes its structure's end",
            ScopeOddPath => "device scope path of odd length",
            ScopeEmptyPath => "device scope without a path",
            BadPath => "device scope path element out of range",
            BadRegisterBase => "DRHD register base zero or not 4KB aligned",
            OverlappingUnits => "DRHD register sets overlap",
        };
        write!(f, "{} at offset {:#x}", what, self.offset)
    }
}

/// Returns `N` bytes of `b` at `off`, or `None` past its end.
fn bytes<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    let s = b.get(off..off.checked_add(N)?)?;
    let mut a = [0; N];
    a.copy_from_slice(s);
    Some(a)
}

/// Little-endian readers; callers check the structure length first, so `None` only comes from
/// a bug, which still gives zero rather than a panic.
fn rd8(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

/// Reads a little-endian `u16`.
fn rd16(b: &[u8], off: usize) -> u16 {
    bytes(b, off).map_or(0, u16::from_le_bytes)
}

/// Reads a little-endian `u32`.
fn rd32(b: &[u8], off: usize) -> u32 {
    bytes(b, off).map_or(0, u32::from_le_bytes)
}

/// Reads a little-endian `u64`.
fn rd64(b: &[u8], off: usize) -> u64 {
    bytes(b, off).map_or(0, u64::from_le_bytes)
}

/// DMAR table `Flags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DmarFlags {
    /// `INTR_REMAP`: the platform supports interrupt remapping.
    pub(crate) intr_remap: bool,
    /// `X2APIC_OPT_OUT`: firmware asks the OS not to enable x2APIC mode.
    pub(crate) x2apic_opt_out: bool,
    /// `DMA_CTRL_PLATFORM_OPT_IN_FLAG`: firmware asks the OS to keep DMA remapping on.
    pub(crate) platform_opt_in: bool,
}

/// A DMAR table whose header has been checked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dmar<'a> {
    /// The table, cut to the length its header gives.
    table: &'a [u8],
}

impl<'a> Dmar<'a> {
    /// Checks the header of the DMAR table in `buf` (which may be longer than the table).
    ///
    /// # Errors
    ///
    /// Returns [`DmarErrorKind::TableTruncated`], [`DmarErrorKind::BadSignature`],
    /// [`DmarErrorKind::BadTableLength`] or [`DmarErrorKind::BadWidth`] at offset 0.
    pub(crate) fn new(buf: &'a [u8]) -> Result<Self, DmarError> {
        let err = |kind| DmarError::at(kind, 0);
        if buf.len() < HEADER_LEN {
            return Err(err(DmarErrorKind::TableTruncated));
        }
        if buf.get(0..4) != Some(b"DMAR".as_slice()) {
            return Err(err(DmarErrorKind::BadSignature));
        }
        let len = usize::try_from(rd32(buf, 4)).map_err(|_| err(DmarErrorKind::TableTruncated))?;
        if len < HEADER_LEN {
            return Err(err(DmarErrorKind::BadTableLength));
        }
        let table = buf.get(..len).ok_or(err(DmarErrorKind::TableTruncated))?;
        let width = rd8(table, 36);
        if !(11..=63).contains(&width) {
            return Err(err(DmarErrorKind::BadWidth));
        }
        Ok(Self { table })
    }

    /// Parses the table in `buf` and checks every structure and device scope in it
    /// ([`Dmar::validate`]).
    ///
    /// # Errors
    ///
    /// Returns the first error found.
    pub(crate) fn parse(buf: &'a [u8]) -> Result<Self, DmarError> {
        let dmar = Self::new(buf)?;
        dmar.validate()?;
        Ok(dmar)
    }

    /// The table's bytes.
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.table
    }

    /// The table revision.
    pub(crate) fn revision(&self) -> u8 {
        rd8(self.table, 8)
    }

    /// Whether the table's bytes sum to zero. The ACPI core has already warned about a bad
    /// checksum by the time a driver sees the table, and Linux goes on using it.
    pub(crate) fn checksum_ok(&self) -> bool {
        self.table.iter().fold(0u8, |s, &b| s.wrapping_add(b)) == 0
    }

    /// Host address width (`HAW`): the maximum DMA physical address width, in bits.
    pub(crate) fn host_address_width(&self) -> u32 {
        u32::from(rd8(self.table, 36)) + 1
    }

    /// The table's flags.
    pub(crate) fn flags(&self) -> DmarFlags {
        let f = rd8(self.table, 37);
        DmarFlags {
            intr_remap: f & 1 != 0,
            x2apic_opt_out: f & 2 != 0,
            platform_opt_in: f & 4 != 0,
        }
    }

    /// The remapping structures, in table order. After an error the iterator ends.
    pub(crate) fn structures(&self) -> Structures<'a> {
        Structures {
            table: self.table,
            pos: HEADER_LEN,
            failed: false,
        }
    }

    /// Checks every structure and every device scope, then that no two DRHDs' register sets
    /// overlap.
    ///
    /// # Errors
    ///
    /// Returns the first error in table order, structural errors before overlaps.
    pub(crate) fn validate(&self) -> Result<(), DmarError> {
        for s in self.structures() {
            if let Some(scopes) = s?.scopes() {
                for scope in scopes {
                    scope?;
                }
            }
        }
        let drhds = || {
            self.structures().filter_map(|s| match s {
                Ok(Structure::Drhd(d)) => Some(d),
                _ => None,
            })
        };
        for (i, a) in drhds().enumerate() {
            if let Some(b) = drhds().skip(i + 1).find(|b| a.overlaps(b)) {
                return Err(DmarError::at(DmarErrorKind::OverlappingUnits, b.offset));
            }
        }
        Ok(())
    }

    /// The reserved memory regions (RMRRs) of PCI `segment` that the device whose chain from
    /// its root bus down to itself is `hops` uses (see [`Scope::covers`]), in table order, each
    /// with how its scope matched. Structures or scopes that do not parse are skipped: a table
    /// is validated ([`Dmar::parse`]) before it is used.
    pub(crate) fn rmrrs_for<'h>(
        &self,
        segment: u16,
        hops: &'h [(u8, u8, u8)],
    ) -> impl Iterator<Item = (Rmrr<'a>, PathMatch)> + 'h
    where
        'a: 'h,
    {
        self.structures().filter_map(move |s| match s {
            Ok(Structure::Rmrr(r)) if r.segment == segment => {
                let m = r.scopes.cover(hops);
                (m != PathMatch::None).then_some((r, m))
            }
            _ => None,
        })
    }

    /// The DRHDs, in table order, each with its index among them (the `N` of the driver's
    /// `dmar<N>`). Structures that do not parse are skipped.
    pub(crate) fn drhds(&self) -> impl Iterator<Item = (usize, Drhd<'a>)> + 'a {
        self.structures()
            .filter_map(|s| match s {
                Ok(Structure::Drhd(d)) => Some(d),
                _ => None,
            })
            .enumerate()
    }

    /// The DRHD that translates the PCI device of `segment` whose chain from its root bus down
    /// to itself is `hops` (see [`Scope::covers`]; for a virtual function, the chain of its
    /// physical function, as VFs are not listed in scopes), as C's `device_lookup_iommu()`
    /// decides: a unit without `INCLUDE_PCI_ALL` one of whose device scopes names the device
    /// or a bridge above it; if none, the first `INCLUDE_PCI_ALL` unit of the segment; if
    /// none, no unit: the device's DMA is not remapped.
    ///
    /// A device that the scopes of two units name (a firmware bug) goes to the later one in
    /// table order, as in C, whose list holds scoped units in reverse table order. PCI scopes
    /// of an `INCLUDE_PCI_ALL` unit do not count, as C skips them. Returns the DRHD's index
    /// among the table's DRHDs ([`Dmar::drhds`]), the DRHD and how it matched. Scopes that do
    /// not parse end their structure's list: a table is validated ([`Dmar::parse`]) before it
    /// is used.
    pub(crate) fn drhd_for(
        &self,
        segment: u16,
        hops: &[(u8, u8, u8)],
    ) -> Option<(usize, Drhd<'a>, UnitMatch)> {
        let on_segment = || self.drhds().filter(move |(_, d)| d.segment == segment);
        let scoped = on_segment()
            .filter(|(_, d)| !d.include_all)
            .filter_map(|(i, d)| match d.scopes.cover(hops) {
                PathMatch::None => None,
                m => Some((i, d, UnitMatch::Scope(m))),
            })
            .last();
        scoped.or_else(|| {
            on_segment()
                .find(|(_, d)| d.include_all)
                .map(|(i, d)| (i, d, UnitMatch::IncludeAll))
        })
    }

    /// Whether the firmware lets the PCI device of `segment` whose chain from its root bus
    /// down to itself is `hops` use ATS (for a virtual function: its physical function's
    /// chain), as C's `dmar_ats_supported()` decides for a unit in scalable mode.
    /// `pcie_types` gives the PCI Express type of each device of `hops`, `None` where it is
    /// not PCI Express.
    ///
    /// A device a SATC structure of the segment names may; otherwise the walk goes up from
    /// the device's bus: a device on a root bus (integrated) may, one behind a bridge that is
    /// not PCI Express or is a PCI Express to PCI bridge may not, and one behind a root port
    /// may if an ATSR structure of the segment names that root port or has `ALL_PORTS`.
    pub(crate) fn ats_supported(
        &self,
        segment: u16,
        hops: &[(u8, u8, u8)],
        pcie_types: &[Option<u8>],
    ) -> bool {
        // C looks for the device itself in a SATC's scopes, and for the root port itself in
        // an ATSR's: a path to it, of either scope type.
        let names = |scopes: Scopes<'_>, hops: &[(u8, u8, u8)]| {
            scopes
                .map_while(Result::ok)
                .any(|sc| sc.path.matches(sc.start_bus, hops) != PathMatch::None)
        };
        let satc = self.structures().any(|s| match s {
            Ok(Structure::Satc(st)) => st.segment == segment && names(st.scopes, hops),
            _ => false,
        });
        if satc {
            return true;
        }
        if pcie_types.len() != hops.len() {
            return false;
        }
        // The bridges above the device, nearest first.
        let mut root = None;
        for i in (0..hops.len().saturating_sub(1)).rev() {
            match pcie_types[i] {
                None | Some(PCIE_TO_PCI_BRIDGE) => return false,
                Some(PCIE_ROOT_PORT) => {
                    root = Some(i);
                    break;
                }
                Some(_) => {}
            }
        }
        let Some(root) = root else {
            // Up to a root bus without a root port: an integrated device.
            return true;
        };
        let port = &hops[..=root];
        self.structures().any(|s| match s {
            Ok(Structure::Atsr(a)) => {
                a.segment == segment && (a.all_ports || names(a.scopes, port))
            }
            _ => false,
        })
    }
}

/// How a DRHD was found to translate a PCI device ([`Dmar::drhd_for`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnitMatch {
    /// One of the unit's device scopes names the device or a bridge above it, with the
    /// better of the matches (never [`PathMatch::None`]).
    Scope(PathMatch),
    /// No scope of any unit names it, and the unit covers the rest of its segment
    /// (`INCLUDE_PCI_ALL`).
    IncludeAll,
}

/// A remapping structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Structure<'a> {
    /// A DMA remapping hardware unit (type 0).
    Drhd(Drhd<'a>),
    /// A reserved memory region (type 1).
    Rmrr(Rmrr<'a>),
    /// Root ports that support ATS (type 2).
    Atsr(Atsr<'a>),
    /// The proximity domain of a hardware unit (type 3).
    Rhsa(Rhsa),
    /// An ACPI namespace device (type 4).
    Andd(Andd<'a>),
    /// SoC-integrated devices with an address translation cache (type 5).
    Satc(Satc<'a>),
    /// SoC-integrated device properties (type 6).
    Sidp(Sidp<'a>),
    /// A structure type this layer does not know, stepped over.
    Unknown {
        /// The structure type.
        kind: u16,
        /// The structure's byte offset in the table.
        offset: usize,
        /// The structure's length.
        length: usize,
    },
}

impl<'a> Structure<'a> {
    /// The device scopes of the structure, for the types that have them.
    pub(crate) fn scopes(&self) -> Option<Scopes<'a>> {
        match self {
            Self::Drhd(s) => Some(s.scopes),
            Self::Rmrr(s) => Some(s.scopes),
            Self::Atsr(s) => Some(s.scopes),
            Self::Satc(s) => Some(s.scopes),
            Self::Sidp(s) => Some(s.scopes),
            Self::Rhsa(_) | Self::Andd(_) | Self::Unknown { .. } => None,
        }
    }
}

/// A DMA remapping hardware unit definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Drhd<'a> {
    /// The structure's byte offset in the table.
    pub(crate) offset: usize,
    /// `INCLUDE_PCI_ALL`: the unit covers every PCI device of its segment that no other unit's
    /// scope lists.
    pub(crate) include_all: bool,
    /// The size of the register set in bytes (`2^N` 4KB pages, `N` in `Size`).
    pub(crate) reg_size: u64,
    /// The PCI segment.
    pub(crate) segment: u16,
    /// The register base address.
    pub(crate) address: u64,
    /// The devices the unit covers.
    pub(crate) scopes: Scopes<'a>,
}

impl Drhd<'_> {
    /// Whether the register sets of `self` and `other` overlap.
    pub(crate) fn overlaps(&self, other: &Drhd<'_>) -> bool {
        let end = |d: &Drhd<'_>| d.address.saturating_add(d.reg_size);
        self.address < end(other) && other.address < end(self)
    }
}

/// A reserved memory region: memory that devices in its scope DMA to from firmware, which
/// must stay identity mapped for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rmrr<'a> {
    /// The structure's byte offset in the table.
    pub(crate) offset: usize,
    /// The PCI segment.
    pub(crate) segment: u16,
    /// The first byte of the region.
    pub(crate) base: u64,
    /// The last byte of the region.
    pub(crate) end: u64,
    /// The devices that use the region.
    pub(crate) scopes: Scopes<'a>,
}

impl Rmrr<'_> {
    /// Whether the region is 4KB aligned at both ends and not empty: the C driver's
    /// `rmrr_sanity_check()` without its e820 part. Like the C driver, the driver logs a
    /// firmware bug for an RMRR that fails this and still honours it.
    pub(crate) fn is_sane(&self) -> bool {
        let Some(limit) = self.end.checked_add(1) else {
            return false;
        };
        self.base & 0xfff == 0 && limit & 0xfff == 0 && self.end > self.base
    }
}

/// Whether the RMRRs of a PCI function of class `class` (the 24-bit class code: base class,
/// subclass, programming interface) are relaxable (`IOMMU_RESV_DIRECT_RELAXABLE`): kept
/// identity mapped in its DMA domains, but no reason to refuse assigning it to a domain that
/// does not map them. As C's `device_rmrr_is_relaxable()`: USB controllers (class 0x0c03), whose
/// RMRRs serve legacy emulation before the OS takes over, and display controllers (base class
/// 0x03), whose users are expected to stop using the region before the device is assigned.
pub(crate) const fn rmrr_relaxable(class: u32) -> bool {
    class >> 8 == 0x0c03 || class >> 16 == 0x03
}

/// Root ports that support ATS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Atsr<'a> {
    /// The structure's byte offset in the table.
    pub(crate) offset: usize,
    /// `ALL_PORTS`: every root port of the segment supports ATS.
    pub(crate) all_ports: bool,
    /// The PCI segment.
    pub(crate) segment: u16,
    /// The root ports, when not `all_ports`.
    pub(crate) scopes: Scopes<'a>,
}

/// `PCI_EXP_TYPE_ROOT_PORT`: a PCI Express root port.
pub(crate) const PCIE_ROOT_PORT: u8 = 0x4;
/// `PCI_EXP_TYPE_PCI_BRIDGE`: a PCI Express to PCI/PCI-X bridge.
pub(crate) const PCIE_TO_PCI_BRIDGE: u8 = 0x7;

/// The proximity domain of a hardware unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rhsa {
    /// The structure's byte offset in the table.
    pub(crate) offset: usize,
    /// The unit's register base address.
    pub(crate) address: u64,
    /// The proximity domain.
    pub(crate) proximity: u32,
}

/// An ACPI namespace device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Andd<'a> {
    /// The structure's byte offset in the table.
    pub(crate) offset: usize,
    /// The number device scopes of type [`ScopeType::Namespace`] refer to it by.
    pub(crate) device_number: u8,
    /// The ACPI object name, without its terminating NUL.
    pub(crate) name: &'a [u8],
}

/// SoC-integrated devices with an address translation cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Satc<'a> {
    /// The structure's byte offset in the table.
    pub(crate) offset: usize,
    /// `ATC_REQUIRED`: the devices need their ATC enabled to work.
    pub(crate) atc_required: bool,
    /// The PCI segment.
    pub(crate) segment: u16,
    /// The devices.
    pub(crate) scopes: Scopes<'a>,
}

/// SoC-integrated device properties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sidp<'a> {
    /// The structure's byte offset in the table.
    pub(crate) offset: usize,
    /// The PCI segment.
    pub(crate) segment: u16,
    /// The devices.
    pub(crate) scopes: Scopes<'a>,
}

/// The fixed length of each structure type, before its device scopes or name.
const fn fixed_len(kind: u16) -> usize {
    match kind {
        0 => 16,
        1 => 24,
        3 => 20,
        // ATSR, ANDD, SATC and SIDP.
        _ => 8,
    }
}

/// An iterator over the remapping structures of a table.
#[derive(Clone, Debug)]
pub(crate) struct Structures<'a> {
    table: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Structures<'a> {
    /// Parses the structure at `self.pos`, whose length has been checked.
    fn parse(&self, kind: u16, len: usize) -> Result<Structure<'a>, DmarError> {
        let off = self.pos;
        let s = self.table.get(off..off + len).unwrap_or(&[]);
        if kind <= 6 && len < fixed_len(kind) {
            return Err(DmarError::at(DmarErrorKind::TooShort, off));
        }
        let scopes = Scopes {
            table: self.table,
            pos: off + fixed_len(kind),
            end: off + len,
            failed: false,
        };
        Ok(match kind {
            0 => {
                let address = rd64(s, 8);
                if address == 0 || address & 0xfff != 0 {
                    return Err(DmarError::at(DmarErrorKind::BadRegisterBase, off));
                }
                Structure::Drhd(Drhd {
                    offset: off,
                    include_all: rd8(s, 4) & 1 != 0,
                    reg_size: 0x1000 << (rd8(s, 5) & 0xf),
                    segment: rd16(s, 6),
                    address,
                    scopes,
                })
            }
            1 => Structure::Rmrr(Rmrr {
                offset: off,
                segment: rd16(s, 6),
                base: rd64(s, 8),
                end: rd64(s, 16),
                scopes,
            }),
            2 => Structure::Atsr(Atsr {
                offset: off,
                all_ports: rd8(s, 4) & 1 != 0,
                segment: rd16(s, 6),
                scopes,
            }),
            3 => Structure::Rhsa(Rhsa {
                offset: off,
                address: rd64(s, 8),
                proximity: rd32(s, 16),
            }),
            4 => {
                let name = s.get(8..).unwrap_or(&[]);
                let name = match name.iter().position(|&c| c == 0) {
                    Some(n) => name.get(..n).unwrap_or(&[]),
                    None => name,
                };
                Structure::Andd(Andd {
                    offset: off,
                    device_number: rd8(s, 7),
                    name,
                })
            }
            5 => Structure::Satc(Satc {
                offset: off,
                atc_required: rd8(s, 4) & 1 != 0,
                segment: rd16(s, 6),
                scopes,
            }),
            6 => Structure::Sidp(Sidp {
                offset: off,
                segment: rd16(s, 6),
                scopes,
            }),
            _ => Structure::Unknown {
                kind,
                offset: off,
                length: len,
            },
        })
    }

    /// Returns the next structure, checking its type and length fields.
    fn step(&mut self) -> Result<Structure<'a>, DmarError> {
        let off = self.pos;
        let err = |kind| Err(DmarError::at(kind, off));
        if self.table.len() - off < STRUCT_HEADER_LEN {
            return err(DmarErrorKind::StructTruncated);
        }
        let kind = rd16(self.table, off);
        let len = usize::from(rd16(self.table, off + 2));
        if len == 0 {
            return err(DmarErrorKind::ZeroLength);
        }
        if len < STRUCT_HEADER_LEN {
            return err(DmarErrorKind::TooShort);
        }
        if len > self.table.len() - off {
            return err(DmarErrorKind::PastEnd);
        }
        let s = self.parse(kind, len)?;
        self.pos += len;
        Ok(s)
    }
}

impl<'a> Iterator for Structures<'a> {
    type Item = Result<Structure<'a>, DmarError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.table.len() {
            return None;
        }
        let r = self.step();
        self.failed = r.is_err();
        Some(r)
    }
}

/// Device scope types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScopeType {
    /// A PCI endpoint device.
    Endpoint,
    /// A PCI bridge and every device below it.
    Bridge,
    /// An I/O APIC, by its APIC ID in `enumeration_id`.
    IoApic,
    /// An MSI-capable HPET, by its HPET number in `enumeration_id`.
    Hpet,
    /// An ACPI namespace device, by its ANDD device number in `enumeration_id`.
    Namespace,
    /// A reserved type, which the C driver warns about and skips.
    Reserved(u8),
}

impl ScopeType {
    /// Decodes a device scope type.
    pub(crate) const fn from_raw(raw: u8) -> Self {
        match raw {
            1 => Self::Endpoint,
            2 => Self::Bridge,
            3 => Self::IoApic,
            4 => Self::Hpet,
            5 => Self::Namespace,
            _ => Self::Reserved(raw),
        }
    }
}

/// A device scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Scope<'a> {
    /// The scope's byte offset in the table.
    pub(crate) offset: usize,
    /// The type.
    pub(crate) kind: ScopeType,
    /// The flags byte (meaningful in SIDP structures).
    pub(crate) flags: u8,
    /// The I/O APIC ID, HPET number or ANDD device number.
    pub(crate) enumeration_id: u8,
    /// The bus the path starts on.
    pub(crate) start_bus: u8,
    /// The path from `start_bus`.
    pub(crate) path: Path<'a>,
}

impl Scope<'_> {
    /// Whether the scope names the PCI device whose chain from its root bus down to itself is
    /// `hops` (each upstream bridge, then the device, as (bus, device, function)): an endpoint
    /// scope the device itself ([`Path::matches`], C's `dmar_match_pci_path()`), a bridge
    /// scope the device or a bridge it is behind (C's `is_downstream_to_pci_bridge()`). Other
    /// scope types name no PCI device.
    pub(crate) fn covers(&self, hops: &[(u8, u8, u8)]) -> PathMatch {
        match self.kind {
            ScopeType::Endpoint => self.path.matches(self.start_bus, hops),
            ScopeType::Bridge => (1..=hops.len())
                .filter_map(|n| hops.get(..n))
                .map(|up| self.path.matches(self.start_bus, up))
                .fold(PathMatch::None, PathMatch::better),
            _ => PathMatch::None,
        }
    }
}

/// The path of a device scope: (device, function) pairs, each but the last a PCI-to-PCI bridge
/// whose secondary bus the next element is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Path<'a>(&'a [u8]);

impl<'a> Path<'a> {
    /// The number of elements.
    pub(crate) fn len(&self) -> usize {
        self.0.len() / 2
    }

    /// Whether the path is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The elements, as (device, function) pairs.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u8, u8)> + 'a {
        self.0.chunks_exact(2).map(|c| (rd8(c, 0), rd8(c, 1)))
    }

    /// The last element as a devfn, the device on the bus the path ends on.
    pub(crate) fn last_devfn(&self) -> Option<u8> {
        self.iter().last().map(|(d, f)| d << 3 | f)
    }

    /// Whether a PCI device is the one the path starting on `start_bus` names, as the C
    /// driver's `dmar_match_pci_path()` decides. `hops` is the device's chain from its root bus
    /// down to itself: each upstream bridge, then the device, as (bus, device, function).
    pub(crate) fn matches(&self, start_bus: u8, hops: &[(u8, u8, u8)]) -> PathMatch {
        let exact = hops.first().is_some_and(|&(bus, _, _)| bus == start_bus)
            && hops.len() == self.len()
            && self
                .iter()
                .zip(hops.iter())
                .all(|((d, f), &(_, hd, hf))| d == hd && f == hf);
        if exact {
            return PathMatch::Exact;
        }
        // Firmware that gives a device behind bridges as a one-element path from the device's
        // own bus: the C driver accepts it with a firmware bug warning.
        let mut it = self.iter();
        if let (Some((d, f)), None, Some(&(bus, hd, hf))) = (it.next(), it.next(), hops.last()) {
            if bus == start_bus && d == hd && f == hf {
                return PathMatch::Broken;
            }
        }
        PathMatch::None
    }
}

/// How a device scope's path matches a PCI device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PathMatch {
    /// It does not.
    None,
    /// The path leads from the root bus to the device.
    Exact,
    /// A one-element path on the device's own bus, where the device sits behind bridges: a
    /// firmware bug the C driver works around (and logs), and so does this driver.
    Broken,
}

impl PathMatch {
    /// The better of two matches: an exact one over a broken one over none.
    pub(crate) fn better(self, other: Self) -> Self {
        match (self, other) {
            (Self::Exact, _) | (_, Self::Exact) => Self::Exact,
            (Self::Broken, _) | (_, Self::Broken) => Self::Broken,
            _ => Self::None,
        }
    }
}

/// An iterator over the device scopes of a structure. After an error the iterator ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Scopes<'a> {
    table: &'a [u8],
    pos: usize,
    end: usize,
    failed: bool,
}

impl<'a> Scopes<'a> {
    /// How well the scopes name the PCI device whose chain from its root bus down to itself is
    /// `hops`: the best of [`Scope::covers`] over them. Scopes that do not parse end the list.
    pub(crate) fn cover(self, hops: &[(u8, u8, u8)]) -> PathMatch {
        self.map_while(Result::ok)
            .map(|scope| scope.covers(hops))
            .fold(PathMatch::None, PathMatch::better)
    }

    /// Returns the next device scope, checking its length and path.
    fn step(&mut self) -> Result<Scope<'a>, DmarError> {
        let off = self.pos;
        let err = |kind| Err(DmarError::at(kind, off));
        if self.end - off < 2 {
            return err(DmarErrorKind::ScopeTruncated);
        }
        let len = usize::from(rd8(self.table, off + 1));
        if len == 0 {
            return err(DmarErrorKind::ScopeZeroLength);
        }
        if len < SCOPE_HEADER_LEN {
            return err(DmarErrorKind::ScopeTooShort);
        }
        if len > self.end - off {
            return err(DmarErrorKind::ScopePastEnd);
        }
        if (len - SCOPE_HEADER_LEN) % 2 != 0 {
            return err(DmarErrorKind::ScopeOddPath);
        }
        let kind = ScopeType::from_raw(rd8(self.table, off));
        let path = Path(
            self.table
                .get(off + SCOPE_HEADER_LEN..off + len)
                .unwrap_or(&[]),
        );
        if path.is_empty() && !matches!(kind, ScopeType::Reserved(_)) {
            return err(DmarErrorKind::ScopeEmptyPath);
        }
        if path.iter().any(|(d, f)| d > 31 || f > 7) {
            return err(DmarErrorKind::BadPath);
        }
        self.pos += len;
        Ok(Scope {
            offset: off,
            kind,
            flags: rd8(self.table, off + 2),
            enumeration_id: rd8(self.table, off + 4),
            start_bus: rd8(self.table, off + 5),
            path,
        })
    }
}

impl<'a> Iterator for Scopes<'a> {
    type Item = Result<Scope<'a>, DmarError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.end {
            return None;
        }
        let r = self.step();
        self.failed = r.is_err();
        Some(r)
    }
}
