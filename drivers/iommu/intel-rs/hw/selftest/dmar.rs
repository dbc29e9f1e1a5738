// SPDX-License-Identifier: GPL-2.0

//! DMAR table parsing ([`crate::hw::dmar`]) on well-formed and malformed tables.
//!
//! The tables are assembled byte by byte from the ACPI DMAR layouts (offsets in the comments)
//! in a fixed buffer, without allocation, so that KUnit can run the same checks.

use super::{
    at,
    expect,
    expect_eq,
    Check,
    Failure, //
};
use crate::hw::dmar::{
    self,
    rmrr_relaxable,
    Dmar,
    DmarError,
    DmarErrorKind,
    Path,
    PathMatch,
    ScopeType,
    Structure,
    UnitMatch, //
};

/// The size of the buffer tables are built in.
pub(crate) const TABLE_MAX: usize = 512;

/// A DMAR table under construction.
pub(crate) struct Table {
    /// The bytes.
    pub(crate) buf: [u8; TABLE_MAX],
    /// The table length so far.
    pub(crate) len: usize,
}

impl Table {
    /// A table with a 48-byte header: signature `DMAR`, revision 1, host address width
    /// `width + 1` at offset 36, `flags` at offset 37.
    pub(crate) fn new(width: u8, flags: u8) -> Self {
        let mut t = Self {
            buf: [0; TABLE_MAX],
            len: 0,
        };
        t.put(b"DMAR");
        t.put(&[0; 4]);
        t.put(&[1]);
        t.put(&[0; 27]);
        t.put(&[width, flags]);
        t.put(&[0; 10]);
        t
    }

    /// Appends bytes; bytes past the buffer are dropped (and the table then fails to parse).
    pub(crate) fn put(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        self
    }

    /// Appends a structure header: type and length, 16 bits each.
    pub(crate) fn header(&mut self, kind: u16, len: u16) -> &mut Self {
        self.put(&kind.to_le_bytes()).put(&len.to_le_bytes())
    }

    /// Appends the fixed fields of a DRHD of `len` bytes: `flags` at 4, a register set of one
    /// page (size 0 at 5), `segment` at 6 and the register base at 8.
    pub(crate) fn drhd(&mut self, flags: u8, segment: u16, base: u64, len: u16) -> &mut Self {
        self.header(0, len)
            .put(&[flags, 0])
            .put(&segment.to_le_bytes())
            .put(&base.to_le_bytes())
    }

    /// Appends a device scope of `kind` with `path`.
    pub(crate) fn scope(&mut self, kind: u8, id: u8, bus: u8, path: &[(u8, u8)]) -> &mut Self {
        // CAST: Paths in the checks are short.
        let len = 6 + 2 * path.len() as u8;
        self.put(&[kind, len, 0, 0, id, bus]);
        for &(d, f) in path {
            self.put(&[d, f]);
        }
        self
    }

    /// Writes the table length at offset 4 and the checksum at offset 9; returns the bytes.
    pub(crate) fn finish(&mut self) -> &[u8] {
        // CAST: Tables are at most `TABLE_MAX` bytes.
        let len = (self.len as u32).to_le_bytes();
        self.buf[4..8].copy_from_slice(&len);
        self.buf[9] = 0;
        let sum = self.buf[..self.len]
            .iter()
            .fold(0u8, |s, &b| s.wrapping_add(b));
        self.buf[9] = 0u8.wrapping_sub(sum);
        &self.buf[..self.len]
    }
}

/// The structure boundaries of [`sample`]: every prefix of the table ending at one of them is a
/// well-formed table.
pub(crate) const SAMPLE_BOUNDARIES: [usize; 10] = [48, 80, 114, 130, 150, 168, 184, 192, 200, 224];

/// A well-formed table with one structure of every type, an unknown type and a second DRHD.
pub(crate) fn sample() -> Table {
    let mut t = Table::new(47, 0b101);
    // DRHD at 48, 32 bytes: flags (INCLUDE_PCI_ALL) at 4, size at 5, segment at 6, base at 8;
    // an I/O APIC scope and an endpoint scope.
    t.header(0, 32).put(&[1, 0]).put(&0u16.to_le_bytes());
    t.put(&0xfed9_0000u64.to_le_bytes());
    t.scope(3, 2, 0xff, &[(0x1f, 0)]).scope(1, 0, 0, &[(3, 0)]);
    // RMRR at 80, 34 bytes: segment at 6, base at 8, limit at 16; an endpoint behind a bridge.
    t.header(1, 34).put(&[0; 2]).put(&0u16.to_le_bytes());
    t.put(&0xe_0000u64.to_le_bytes())
        .put(&0xf_ffffu64.to_le_bytes());
    t.scope(1, 0, 0, &[(0x1c, 0), (0, 0)]);
    // ATSR at 114, 16 bytes: ALL_PORTS clear, a bridge scope.
    t.header(2, 16).put(&[0, 0]).put(&0u16.to_le_bytes());
    t.scope(2, 0, 0, &[(1, 0)]);
    // RHSA at 130, 20 bytes: base at 8, proximity domain at 16.
    t.header(3, 20)
        .put(&[0; 4])
        .put(&0xfed9_0000u64.to_le_bytes());
    t.put(&7u32.to_le_bytes());
    // ANDD at 150, 18 bytes: device number at 7, NUL-terminated name from 8.
    t.header(4, 18).put(&[0, 0, 0, 9]).put(b"\\_SB.DEV0\0");
    // SATC at 168, 16 bytes: ATC_REQUIRED, segment 1, an endpoint.
    t.header(5, 16).put(&[1, 0]).put(&1u16.to_le_bytes());
    t.scope(1, 0, 0, &[(2, 1)]);
    // Type 9, not defined, at 184, 8 bytes.
    t.header(9, 8).put(&[0xaa; 4]);
    // SIDP at 192, 8 bytes, no scopes.
    t.header(6, 8).put(&[0; 2]).put(&0u16.to_le_bytes());
    // A second DRHD at 200, 24 bytes: 2^1 pages at 0xfed92000, clear of the first's single
    // page; one namespace scope.
    t.header(0, 24).put(&[0, 1]).put(&0u16.to_le_bytes());
    t.put(&0xfed9_2000u64.to_le_bytes());
    t.scope(5, 9, 0, &[(0, 0)]);
    t
}

/// Fails unless parsing `table` fails with `kind` at `offset`.
fn expect_error(check: &'static str, table: &[u8], kind: DmarErrorKind, offset: usize) -> Check {
    match Dmar::parse(table) {
        Err(DmarError { kind: k, offset: o }) if k == kind && o == offset => Ok(()),
        Err(DmarError { kind: k, offset: o }) => Err(Failure {
            check,
            index: Some(o),
            // CAST: The discriminant is only reported, to tell the variants apart.
            got: k as u64,
            // CAST: As above.
            want: kind as u64,
        }),
        Ok(_) => expect(check, false),
    }
}

/// Returns the path's elements as an array, for comparison.
fn path2(p: &Path<'_>) -> [(u8, u8); 2] {
    let mut a = [(0xff, 0xff); 2];
    for (slot, e) in a.iter_mut().zip(p.iter()) {
        *slot = e;
    }
    a
}

/// A well-formed table, structure by structure.
fn well_formed() -> Check {
    let mut t = sample();
    let dmar = Dmar::parse(t.finish()).map_err(|_| Failure {
        check: "sample parses",
        index: None,
        got: 0,
        want: 1,
    })?;
    expect("checksum", dmar.checksum_ok())?;
    expect_eq("HAW", dmar.host_address_width().into(), 48)?;
    let f = dmar.flags();
    expect(
        "flags",
        f.intr_remap && !f.x2apic_opt_out && f.platform_opt_in,
    )?;
    expect_eq("revision", dmar.revision().into(), 1)?;

    let mut it = dmar.structures();
    let Some(Ok(Structure::Drhd(d))) = it.next() else {
        return expect("DRHD", false);
    };
    expect(
        "DRHD fields",
        d.include_all && d.segment == 0 && d.offset == 48,
    )?;
    expect_eq("DRHD base", d.address, 0xfed9_0000)?;
    expect_eq("DRHD size", d.reg_size, 0x1000)?;
    let mut scopes = d.scopes;
    let Some(Ok(s)) = scopes.next() else {
        return expect("DRHD scope 0", false);
    };
    expect(
        "I/O APIC scope",
        s.kind == ScopeType::IoApic && s.enumeration_id == 2,
    )?;
    expect(
        "I/O APIC path",
        s.start_bus == 0xff && path2(&s.path)[0] == (0x1f, 0),
    )?;
    let Some(Ok(s)) = scopes.next() else {
        return expect("DRHD scope 1", false);
    };
    expect(
        "endpoint scope",
        s.kind == ScopeType::Endpoint && s.offset == 72,
    )?;
    expect("endpoint devfn", s.path.last_devfn() == Some(3 << 3))?;
    expect("DRHD scopes end", scopes.next().is_none())?;

    let Some(Ok(Structure::Rmrr(mut r))) = it.next() else {
        return expect("RMRR", false);
    };
    expect(
        "RMRR range",
        r.base == 0xe_0000 && r.end == 0xf_ffff && r.is_sane(),
    )?;
    let Some(Ok(s)) = r.scopes.next() else {
        return expect("RMRR scope", false);
    };
    expect(
        "RMRR path",
        path2(&s.path) == [(0x1c, 0), (0, 0)] && s.path.len() == 2,
    )?;

    let Some(Ok(Structure::Atsr(a))) = it.next() else {
        return expect("ATSR", false);
    };
    expect("ATSR", !a.all_ports && a.scopes.count() == 1)?;
    let Some(Ok(Structure::Rhsa(h))) = it.next() else {
        return expect("RHSA", false);
    };
    expect("RHSA", h.address == 0xfed9_0000 && h.proximity == 7)?;
    let Some(Ok(Structure::Andd(n))) = it.next() else {
        return expect("ANDD", false);
    };
    expect("ANDD", n.device_number == 9 && n.name == b"\\_SB.DEV0")?;
    let Some(Ok(Structure::Satc(c))) = it.next() else {
        return expect("SATC", false);
    };
    expect("SATC", c.atc_required && c.segment == 1)?;
    let Some(Ok(Structure::Unknown {
        kind,
        offset,
        length,
    })) = it.next()
    else {
        return expect("unknown type", false);
    };
    expect("unknown type", kind == 9 && offset == 184 && length == 8)?;
    let Some(Ok(Structure::Sidp(mut p))) = it.next() else {
        return expect("SIDP", false);
    };
    expect("SIDP", p.scopes.next().is_none())?;
    let Some(Ok(Structure::Drhd(mut d2))) = it.next() else {
        return expect("DRHD 2", false);
    };
    expect("DRHD 2", !d2.include_all && d2.reg_size == 0x2000)?;
    let Some(Ok(s)) = d2.scopes.next() else {
        return expect("namespace scope", false);
    };
    expect(
        "namespace scope",
        s.kind == ScopeType::Namespace && s.enumeration_id == 9,
    )?;
    expect("structures end", it.next().is_none())?;

    // DRHD size: 2^N 4KB pages, N in bits 3:0; bits 7:4 are reserved.
    let mut t = Table::new(47, 0);
    t.header(0, 16)
        .put(&[0, 0xf8, 0, 0])
        .put(&0x1000_0000u64.to_le_bytes());
    let Ok(dmar) = Dmar::parse(t.finish()) else {
        return expect("large DRHD parses", false);
    };
    let Some(Ok(Structure::Drhd(d))) = dmar.structures().next() else {
        return expect("large DRHD", false);
    };
    expect_eq("DRHD size 2^8 pages", d.reg_size, 0x10_0000)?;

    // Bad RMRRs are reported, not refused: the C driver honours them with a firmware warning.
    for (base, end) in [
        (0x1800, 0x2fff),
        (0x1000, 0x1ffe),
        (0x2000, 0xfff),
        (0, u64::MAX),
    ] {
        let mut t = Table::new(47, 0);
        t.header(1, 24).put(&[0; 4]);
        t.put(&u64::to_le_bytes(base)).put(&u64::to_le_bytes(end));
        let Ok(dmar) = Dmar::parse(t.finish()) else {
            return expect("bad RMRR parses", false);
        };
        let Some(Ok(Structure::Rmrr(r))) = dmar.structures().next() else {
            return expect("bad RMRR", false);
        };
        expect("bad RMRR insane", !r.is_sane())?;
    }
    Ok(())
}

/// Malformed tables: each error with its offset.
fn malformed() -> Check {
    use DmarErrorKind::*;
    let mut t = sample();
    let good = t.finish();
    expect_error("short buffer", &good[..47], TableTruncated, 0)?;
    let mut bad = sample();
    bad.buf[3] = b'X';
    expect_error("signature", bad.finish(), BadSignature, 0)?;
    // A header length beyond the buffer, and one below the header's 48 bytes.
    expect_error(
        "length past buffer",
        &good[..good.len() - 1],
        TableTruncated,
        0,
    )?;
    let mut bad = Table::new(47, 0);
    bad.finish();
    bad.buf[4] = 40;
    expect_error("length 40", &bad.buf[..48], BadTableLength, 0)?;
    expect_error("width 10", Table::new(10, 0).finish(), BadWidth, 0)?;
    expect_error("width 64", Table::new(64, 0).finish(), BadWidth, 0)?;

    // Structure lengths.
    let mut bad = Table::new(47, 0);
    bad.put(&[0, 0]);
    expect_error("header cut", bad.finish(), StructTruncated, 48)?;
    let mut bad = Table::new(47, 0);
    bad.header(0, 0).put(&[0; 12]);
    expect_error("zero length", bad.finish(), ZeroLength, 48)?;
    let mut bad = Table::new(47, 0);
    bad.header(7, 3).put(&[0; 12]);
    expect_error("length 3", bad.finish(), TooShort, 48)?;
    let mut bad = Table::new(47, 0);
    bad.header(3, 20)
        .put(&[0; 4])
        .put(&0xfed9_0000u64.to_le_bytes())
        .put(&[0; 3]);
    expect_error("past end", bad.finish(), PastEnd, 48)?;
    // A DRHD of 12 bytes: its base address would be read from the next structure.
    let mut bad = Table::new(47, 0);
    bad.header(0, 12).put(&[0; 8]).header(3, 20).put(&[0; 16]);
    expect_error("DRHD overlapping next", bad.finish(), TooShort, 48)?;
    for (kind, len) in [(1u16, 23u16), (2, 7), (3, 19), (4, 7), (5, 7), (6, 7)] {
        let mut bad = Table::new(47, 0);
        bad.header(kind, len).put(&[0; 32]);
        // CAST: `len` is below 24.
        let end = 48 + len as usize;
        bad.finish();
        // The header length covers exactly the structure.
        let l = (end as u32).to_le_bytes();
        bad.buf[4..8].copy_from_slice(&l);
        expect_error("short structure", &bad.buf[..end], TooShort, 48)?;
    }
    for base in [0u64, 0xfed9_0800] {
        let mut bad = Table::new(47, 0);
        bad.header(0, 16).put(&[0; 4]).put(&base.to_le_bytes());
        expect_error("DRHD base", bad.finish(), BadRegisterBase, 48)?;
    }
    // Two DRHDs whose register sets overlap: 2^2 pages at 0xfed90000 and one at 0xfed93000.
    let mut bad = Table::new(47, 0);
    bad.header(0, 16)
        .put(&[0, 2, 0, 0])
        .put(&0xfed9_0000u64.to_le_bytes());
    bad.header(0, 16)
        .put(&[0; 4])
        .put(&0xfed9_3000u64.to_le_bytes());
    expect_error("overlapping DRHDs", bad.finish(), OverlappingUnits, 64)?;
    let mut ok = Table::new(47, 0);
    ok.header(0, 16)
        .put(&[0, 2, 0, 0])
        .put(&0xfed9_0000u64.to_le_bytes());
    ok.header(0, 16)
        .put(&[0; 4])
        .put(&0xfed9_4000u64.to_le_bytes());
    expect("adjacent DRHDs", Dmar::parse(ok.finish()).is_ok())?;

    // Device scopes, inside an ATSR at 48 whose scopes start at 56.
    let scope_case = |bytes: &[u8]| {
        let mut t = Table::new(47, 0);
        // CAST: The scope bytes are short.
        t.header(2, 8 + bytes.len() as u16).put(&[0; 4]).put(bytes);
        t
    };
    expect_error("scope cut", scope_case(&[1]).finish(), ScopeTruncated, 56)?;
    expect_error(
        "scope zero length",
        scope_case(&[1, 0, 0, 0, 0, 0, 3, 0]).finish(),
        ScopeZeroLength,
        56,
    )?;
    expect_error(
        "scope length 4",
        scope_case(&[1, 4, 0, 0, 0, 0, 3, 0]).finish(),
        ScopeTooShort,
        56,
    )?;
    expect_error(
        "scope past structure",
        scope_case(&[1, 10, 0, 0, 0, 0, 3, 0]).finish(),
        ScopePastEnd,
        56,
    )?;
    expect_error(
        "scope odd path",
        scope_case(&[1, 7, 0, 0, 0, 0, 3]).finish(),
        ScopeOddPath,
        56,
    )?;
    expect_error(
        "scope empty path",
        scope_case(&[1, 6, 0, 0, 0, 0]).finish(),
        ScopeEmptyPath,
        56,
    )?;
    expect_error(
        "scope device 32",
        scope_case(&[1, 8, 0, 0, 0, 0, 32, 0]).finish(),
        BadPath,
        56,
    )?;
    expect_error(
        "scope function 8",
        scope_case(&[2, 10, 0, 0, 0, 0, 1, 0, 0, 8]).finish(),
        BadPath,
        56,
    )?;
    // The second scope is the bad one.
    expect_error(
        "second scope",
        scope_case(&[1, 8, 0, 0, 0, 0, 3, 0, 1]).finish(),
        ScopeTruncated,
        64,
    )?;
    // A reserved scope type is stepped over, even without a path.
    let mut t = scope_case(&[0x42, 6, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0, 3, 0]);
    let Ok(dmar) = Dmar::parse(t.finish()) else {
        return expect("reserved scope type parses", false);
    };
    let mut kinds = [ScopeType::Reserved(0); 2];
    if let Some(Ok(Structure::Atsr(a))) = dmar.structures().next() {
        for (k, s) in kinds.iter_mut().zip(a.scopes) {
            *k = s.map_or(ScopeType::Reserved(0), |s| s.kind);
        }
    }
    expect(
        "reserved scope type",
        kinds == [ScopeType::Reserved(0x42), ScopeType::Endpoint],
    )?;
    Ok(())
}

/// Matching device scope paths to PCI devices.
fn path_matching() -> Check {
    // An endpoint 00:1c.0 -> 02:00.0 (a root port at 00:1c.0 whose secondary bus is 2).
    let mut t = Table::new(47, 0);
    t.header(2, 26).put(&[0; 4]);
    t.scope(1, 0, 0, &[(0x1c, 0), (0, 0)]);
    t.scope(1, 0, 2, &[(0, 0)]);
    let Ok(dmar) = Dmar::parse(t.finish()) else {
        return expect("path table parses", false);
    };
    let Some(Ok(Structure::Atsr(a))) = dmar.structures().next() else {
        return expect("path ATSR", false);
    };
    let mut paths = [None, None];
    for (slot, s) in paths.iter_mut().zip(a.scopes) {
        *slot = s.ok().map(|s| (s.start_bus, s.path));
    }
    let [Some((bus0, p0)), Some((bus2, p2))] = paths else {
        return expect("path scopes", false);
    };
    let dev = [(0, 0x1c, 0), (2, 0, 0)];
    expect("path exact", p0.matches(bus0, &dev) == PathMatch::Exact)?;
    expect(
        "path other function",
        p0.matches(bus0, &[(0, 0x1c, 0), (2, 0, 1)]) == PathMatch::None,
    )?;
    expect(
        "path other root bus",
        p0.matches(1, &dev) == PathMatch::None,
    )?;
    expect(
        "path too short",
        p0.matches(bus0, &dev[..1]) == PathMatch::None,
    )?;
    let deeper = [(0, 0x1c, 0), (2, 0, 0), (3, 0, 0)];
    expect(
        "path too long",
        p0.matches(bus0, &deeper) == PathMatch::None,
    )?;
    let other_root = [(1, 0x1c, 0), (2, 0, 0)];
    expect(
        "path device root bus",
        p0.matches(bus0, &other_root) == PathMatch::None,
    )?;
    expect(
        "path empty device",
        p0.matches(bus0, &[]) == PathMatch::None,
    )?;
    // The broken form: one element from the device's own bus.
    expect("path broken", p2.matches(bus2, &dev) == PathMatch::Broken)?;
    expect(
        "path broken other bus",
        p2.matches(3, &dev) == PathMatch::None,
    )?;
    expect(
        "path exact root device",
        p2.matches(2, &[(2, 0, 0)]) == PathMatch::Exact,
    )?;
    Ok(())
}

/// Relaxable RMRRs: those of USB controllers (0x0c03xx, any programming interface) and display
/// controllers (0x03xxxx), and no other class.
fn relaxable_classes() -> Check {
    for class in [
        0x0c_0300, 0x0c_0310, 0x0c_0320, 0x0c_0330, 0x0c_03fe, 0x03_0000, 0x03_8000,
    ] {
        expect("RMRR relaxable", rmrr_relaxable(class))?;
    }
    // edu (unclassified), igb (Ethernet), virtio-blk (SCSI storage), a FireWire and a SMBus
    // controller (serial bus, not USB), a bridge, and the neighbours of both classes.
    for class in [
        0x00_ff00, 0x02_0000, 0x01_0000, 0x0c_0010, 0x0c_0500, 0x06_0400, 0x0c_0200, 0x0c_0400,
        0x04_0000, 0x02_0300,
    ] {
        expect("RMRR not relaxable", !rmrr_relaxable(class))?;
    }
    Ok(())
}

/// DMAR table parsing.
pub(crate) fn tables() -> Check {
    relaxable_classes()?;
    well_formed()?;
    malformed()?;
    path_matching()?;
    rmrr_scopes()?;
    malformed_rmrrs()?;
    unit_scopes()?;
    malformed_unit_scopes()?;
    ats_support()
}

/// Which devices may use ATS, as C's `dmar_ats_supported()`: a device a SATC names, an
/// integrated one, one behind a root port an ATSR names (or of a segment with an `ALL_PORTS`
/// ATSR), never one behind a PCI Express to PCI bridge or a bridge that is not PCI Express.
fn ats_support() -> Check {
    const RP: Option<u8> = Some(dmar::PCIE_ROOT_PORT);
    const SWITCH_UP: Option<u8> = Some(0x5);
    const SWITCH_DOWN: Option<u8> = Some(0x6);
    const PCI_BRIDGE: Option<u8> = Some(dmar::PCIE_TO_PCI_BRIDGE);
    const EP: Option<u8> = Some(0x0);
    let mut t = Table::new(47, 0);
    t.header(0, 16)
        .put(&[1, 0, 0, 0])
        .put(&0xfed9_0000u64.to_le_bytes());
    // ATSR of segment 0: the root port 00:1c.0 (a bridge scope); ATSR of segment 1: every
    // port; SATC of segment 0: the endpoint 03:00.0 behind the root port 00:1d.0.
    t.header(2, 16).put(&[0, 0]).put(&0u16.to_le_bytes());
    t.scope(2, 0, 0, &[(0x1c, 0)]);
    t.header(2, 8).put(&[1, 0]).put(&1u16.to_le_bytes());
    t.header(5, 18).put(&[1, 0]).put(&0u16.to_le_bytes());
    t.scope(1, 0, 0, &[(0x1d, 0), (0, 0)]);
    let Ok(dmar) = Dmar::parse(t.finish()) else {
        return expect("ATS table parses", false);
    };
    /// A check's name, a segment, a device's chain and PCI Express types, and the answer.
    type Case<'a> = (&'a str, u16, &'a [(u8, u8, u8)], &'a [Option<u8>], bool);
    let cases: [Case<'_>; 10] = [
        ("integrated", 0, &[(0, 2, 0)], &[EP], true),
        ("integrated PCI", 0, &[(0, 2, 0)], &[None], true),
        (
            "ATSR root port",
            0,
            &[(0, 0x1c, 0), (1, 0, 0)],
            &[RP, EP],
            true,
        ),
        (
            "ATSR root port, switch",
            0,
            &[(0, 0x1c, 0), (1, 0, 0), (2, 1, 0), (3, 0, 0)],
            &[RP, SWITCH_UP, SWITCH_DOWN, EP],
            true,
        ),
        (
            "root port not in ATSR",
            0,
            &[(0, 0x1e, 0), (4, 0, 0)],
            &[RP, EP],
            false,
        ),
        ("SATC", 0, &[(0, 0x1d, 0), (3, 0, 0)], &[RP, EP], true),
        (
            "SATC's neighbour",
            0,
            &[(0, 0x1d, 0), (3, 1, 0)],
            &[RP, EP],
            false,
        ),
        ("ALL_PORTS", 1, &[(0, 0x1e, 0), (4, 0, 0)], &[RP, EP], true),
        (
            "PCIe to PCI bridge",
            1,
            &[(0, 0x1e, 0), (4, 0, 0), (5, 1, 0)],
            &[RP, PCI_BRIDGE, None],
            false,
        ),
        (
            "conventional bridge",
            1,
            &[(0, 0x1e, 0), (4, 0, 0), (5, 1, 0)],
            &[RP, None, EP],
            false,
        ),
    ];
    for (check, segment, hops, types, want) in cases {
        expect(check, dmar.ats_supported(segment, hops, types) == want)?;
    }
    expect(
        "types of another chain",
        !dmar.ats_supported(0, &[(0, 0x1c, 0), (1, 0, 0)], &[EP]),
    )
}

/// The RMRRs a device uses, by its chain from the root bus: endpoint and bridge scopes, other
/// segments, a broken one-element path, and scope types that name no PCI device.
fn rmrr_scopes() -> Check {
    let mut t = Table::new(47, 0);
    t.header(0, 16)
        .put(&[1, 0, 0, 0])
        .put(&0xfed9_0000u64.to_le_bytes());
    // RMRR fields: reserved at 4, segment at 6, base at 8, limit at 16; scopes from 24.
    let mut rmrr = |segment: u16, base: u64, scope: (u8, u8, u8, (u8, u8))| {
        let (kind, id, bus, element) = scope;
        t.header(1, 32).put(&[0, 0]).put(&segment.to_le_bytes());
        t.put(&base.to_le_bytes())
            .put(&(base + 0xffff).to_le_bytes());
        t.scope(kind, id, bus, &[element]);
    };
    // 0x70..: the endpoint 00:1f.0; 0x71..: the bridge 00:1c.0 and what is behind it; 0x72..:
    // 00:1f.0 of segment 1; 0x73..: 02:03.0, behind 00:1c.0, by a one-element path from its own
    // bus (a firmware bug); 0x74..: an I/O APIC scope with the path of 00:02.0.
    rmrr(0, 0x7000_0000, (1, 0, 0, (0x1f, 0)));
    rmrr(0, 0x7100_0000, (2, 0, 0, (0x1c, 0)));
    rmrr(1, 0x7200_0000, (1, 0, 0, (0x1f, 0)));
    rmrr(0, 0x7300_0000, (1, 0, 2, (3, 0)));
    rmrr(0, 0x7400_0000, (3, 2, 0, (2, 0)));
    let Ok(dmar) = Dmar::parse(t.finish()) else {
        return expect("RMRR table parses", false);
    };
    /// A check's name, a segment, a device's chain from its root bus, and the RMRR bases it
    /// must get with their matches.
    type Case<'a> = (&'a str, u16, &'a [(u8, u8, u8)], &'a [(u64, PathMatch)]);
    let cases: [Case<'_>; 7] = [
        (
            "endpoint",
            0,
            &[(0, 0x1f, 0)],
            &[(0x7000_0000, PathMatch::Exact)],
        ),
        (
            "other segment",
            1,
            &[(0, 0x1f, 0)],
            &[(0x7200_0000, PathMatch::Exact)],
        ),
        (
            "the bridge",
            0,
            &[(0, 0x1c, 0)],
            &[(0x7100_0000, PathMatch::Exact)],
        ),
        (
            "behind the bridge",
            0,
            &[(0, 0x1c, 0), (1, 0, 0)],
            &[(0x7100_0000, PathMatch::Exact)],
        ),
        (
            "broken path behind the bridge",
            0,
            &[(0, 0x1c, 0), (2, 3, 0)],
            &[
                (0x7100_0000, PathMatch::Exact),
                (0x7300_0000, PathMatch::Broken),
            ],
        ),
        ("I/O APIC scope", 0, &[(0, 2, 0)], &[]),
        ("no RMRR", 0, &[(0, 0x1f, 1)], &[]),
    ];
    for (check, segment, hops, want) in cases {
        let mut got = dmar.rmrrs_for(segment, hops);
        for (i, &(base, m)) in want.iter().enumerate() {
            let Some((r, gm)) = got.next() else {
                return at(i, expect(check, false));
            };
            at(i, expect_eq(check, r.base, base))?;
            at(i, expect_eq(check, r.end, base + 0xffff))?;
            at(i, expect(check, gm == m))?;
        }
        expect(check, got.next().is_none())?;
    }
    Ok(())
}

/// Malformed RMRRs and RMRR device scopes: each refused with its kind and offset (the RMRR at
/// 48, its scopes from 72), none read past its structure.
fn malformed_rmrrs() -> Check {
    use DmarErrorKind::*;
    let rmrr = |len: u16, scope: &[u8]| {
        let mut t = Table::new(47, 0);
        t.header(1, len).put(&[0; 4]);
        t.put(&0x7000_0000u64.to_le_bytes())
            .put(&0x7000_ffffu64.to_le_bytes())
            .put(scope);
        t
    };
    expect_error("RMRR of 20 bytes", rmrr(20, &[]).finish(), TooShort, 48)?;
    expect_error(
        "RMRR scope cut",
        rmrr(25, &[1]).finish(),
        ScopeTruncated,
        72,
    )?;
    for (check, scope, kind) in [
        (
            "RMRR scope zero length",
            [1, 0, 0, 0, 0, 0, 0x1f, 0],
            ScopeZeroLength,
        ),
        (
            "RMRR scope of 4 bytes",
            [1, 4, 0, 0, 0, 0, 0x1f, 0],
            ScopeTooShort,
        ),
        (
            "RMRR scope past the RMRR",
            [1, 10, 0, 0, 0, 0, 0x1f, 0],
            ScopePastEnd,
        ),
        ("RMRR scope device 32", [1, 8, 0, 0, 0, 0, 32, 0], BadPath),
        (
            "RMRR scope function 8",
            [2, 8, 0, 0, 0, 0, 0x1c, 8],
            BadPath,
        ),
    ] {
        expect_error(check, rmrr(32, &scope).finish(), kind, 72)?;
    }
    expect_error(
        "RMRR scope odd path",
        rmrr(31, &[1, 7, 0, 0, 0, 0, 0x1f]).finish(),
        ScopeOddPath,
        72,
    )?;
    // The second scope of an RMRR is bad: the first is fine, the error names the second.
    expect_error(
        "RMRR second scope",
        rmrr(40, &[1, 8, 0, 0, 0, 0, 0x1f, 0, 1, 0, 0, 0, 0, 0, 0, 0]).finish(),
        ScopeZeroLength,
        80,
    )?;
    // A bad RMRR range is no parse error (above); a good one with a good scope parses.
    expect(
        "RMRR with a scope parses",
        Dmar::parse(rmrr(32, &[1, 8, 0, 0, 0, 0, 0x1f, 0]).finish()).is_ok(),
    )
}

/// A table of four DRHDs for [`unit_scopes`]:
///
/// - 0, segment 0, at 0xfed90000: the endpoint 00:04.0, the bridge 00:1c.0 (and every bus
///   below it), the endpoint 05:00.0 by its path through the root port 00:1d.0, the endpoint
///   00:02.0, 07:03.0 (behind 00:1e.0) by a one-element path from its own bus (a firmware
///   bug), and an I/O APIC scope with the path of 00:06.0;
/// - 1, segment 0, at 0xfed91000: `INCLUDE_PCI_ALL`, an I/O APIC scope and the endpoint 00:03.0,
///   which does not count;
/// - 2, segment 1, at 0xfed92000: the endpoint 00:04.0 of segment 1;
/// - 3, segment 0, at 0xfed93000: 00:02.0 again (a firmware bug).
pub(crate) fn units_sample() -> Table {
    let mut t = Table::new(47, 0);
    t.drhd(0, 0, 0xfed9_0000, 16 + 8 + 8 + 10 + 8 + 8 + 8)
        .scope(1, 0, 0, &[(4, 0)])
        .scope(2, 0, 0, &[(0x1c, 0)])
        .scope(1, 0, 0, &[(0x1d, 0), (0, 0)])
        .scope(1, 0, 0, &[(2, 0)])
        .scope(1, 0, 7, &[(3, 0)])
        .scope(3, 8, 0, &[(6, 0)]);
    t.drhd(1, 0, 0xfed9_1000, 16 + 8 + 8)
        .scope(3, 2, 0xff, &[(0, 0)])
        .scope(1, 0, 0, &[(3, 0)]);
    t.drhd(0, 1, 0xfed9_2000, 16 + 8).scope(1, 0, 0, &[(4, 0)]);
    t.drhd(0, 0, 0xfed9_3000, 16 + 8).scope(1, 0, 0, &[(2, 0)]);
    t
}

/// Which unit translates a device ([`Dmar::drhd_for`], C's `device_lookup_iommu()`):
/// endpoint and bridge scopes, a bridge covering the buses below it, paths through bridges,
/// `INCLUDE_PCI_ALL`, segments, a device two units name, and devices no unit takes.
fn unit_scopes() -> Check {
    let mut t = units_sample();
    let Ok(dmar) = Dmar::parse(t.finish()) else {
        return expect("unit table parses", false);
    };
    expect("unit count", dmar.drhds().count() == 4)?;
    use PathMatch::{
        Broken,
        Exact, //
    };
    use UnitMatch::{
        IncludeAll,
        Scope, //
    };
    /// A check's name, a segment, a device's chain from its root bus, and the unit (its DRHD
    /// index) and match it must get.
    type Case<'a> = (&'a str, u16, &'a [(u8, u8, u8)], Option<(usize, UnitMatch)>);
    let cases: [Case<'_>; 15] = [
        ("endpoint", 0, &[(0, 4, 0)], Some((0, Scope(Exact)))),
        (
            "the bridge itself",
            0,
            &[(0, 0x1c, 0)],
            Some((0, Scope(Exact))),
        ),
        (
            "behind the bridge",
            0,
            &[(0, 0x1c, 0), (1, 0, 0)],
            Some((0, Scope(Exact))),
        ),
        (
            "two buses below the bridge",
            0,
            &[(0, 0x1c, 0), (1, 0, 0), (2, 3, 1)],
            Some((0, Scope(Exact))),
        ),
        (
            "path through a root port",
            0,
            &[(0, 0x1d, 0), (5, 0, 0)],
            Some((0, Scope(Exact))),
        ),
        (
            "the root port of an endpoint path",
            0,
            &[(0, 0x1d, 0)],
            Some((1, IncludeAll)),
        ),
        (
            "a sibling of an endpoint path",
            0,
            &[(0, 0x1d, 0), (5, 0, 1)],
            Some((1, IncludeAll)),
        ),
        (
            "below an endpoint",
            0,
            &[(0, 4, 0), (1, 0, 0)],
            Some((1, IncludeAll)),
        ),
        (
            "broken path",
            0,
            &[(0, 0x1e, 0), (7, 3, 0)],
            Some((0, Scope(Broken))),
        ),
        (
            "named by two units",
            0,
            &[(0, 2, 0)],
            Some((3, Scope(Exact))),
        ),
        (
            "named by the INCLUDE_PCI_ALL unit",
            0,
            &[(0, 3, 0)],
            Some((1, IncludeAll)),
        ),
        (
            "I/O APIC scope names no PCI device",
            0,
            &[(0, 6, 0)],
            Some((1, IncludeAll)),
        ),
        ("other segment", 1, &[(0, 4, 0)], Some((2, Scope(Exact)))),
        ("other segment, not named", 1, &[(0, 5, 0)], None),
        ("segment without units", 2, &[(0, 4, 0)], None),
    ];
    for (i, (check, segment, hops, want)) in cases.into_iter().enumerate() {
        let got = dmar.drhd_for(segment, hops).map(|(n, _, m)| (n, m));
        at(i, expect(check, got == want))?;
    }
    // The DRHD comes with the unit.
    let got = dmar.drhd_for(1, &[(0, 4, 0)]).map(|(_, d, _)| d.address);
    expect("unit DRHD", got == Some(0xfed9_2000))?;
    Ok(())
}

/// Device scopes of DRHDs that do not parse: the table is refused with the scope's kind and
/// offset; on the unvalidated table, a unit's scopes before the bad one still match, those
/// after it do not, and nothing is read past the structure.
fn malformed_unit_scopes() -> Check {
    use DmarErrorKind::*;
    // A DRHD at 48 without INCLUDE_PCI_ALL whose scopes start at 64: the endpoint 00:04.0,
    // then `scope`, then the endpoint 00:05.0; and an INCLUDE_PCI_ALL unit after it.
    let table = |scope: &[u8]| {
        let mut t = Table::new(47, 0);
        // CAST: The scope bytes are short.
        let len = 16 + 8 + scope.len() as u16 + 8;
        t.drhd(0, 0, 0xfed9_0000, len)
            .scope(1, 0, 0, &[(4, 0)])
            .put(scope)
            .scope(1, 0, 0, &[(5, 0)]);
        t.drhd(1, 0, 0xfed9_1000, 16);
        t
    };
    let mut ok = table(&[2, 8, 0, 0, 0, 0, 0x1c, 0]);
    let Ok(dmar) = Dmar::parse(ok.finish()) else {
        return expect("DRHD scopes parse", false);
    };
    let unit = |dmar: &Dmar<'_>, dev: u8| dmar.drhd_for(0, &[(0, dev, 0)]).map(|(n, _, _)| n);
    expect("good third scope", unit(&dmar, 5) == Some(0))?;
    for (check, scope, kind) in [
        (
            "DRHD scope zero length",
            &[1u8, 0, 0, 0, 0, 0, 0x1c, 0][..],
            ScopeZeroLength,
        ),
        (
            "DRHD scope of 4 bytes",
            &[1, 4, 0, 0, 0, 0, 0x1c, 0],
            ScopeTooShort,
        ),
        (
            "DRHD scope odd path",
            &[2, 7, 0, 0, 0, 0, 0x1c, 0],
            ScopeOddPath,
        ),
        (
            "DRHD scope empty path",
            &[2, 6, 0, 0, 0, 0, 0, 0],
            ScopeEmptyPath,
        ),
        ("DRHD scope device 32", &[1, 8, 0, 0, 0, 0, 32, 0], BadPath),
        (
            "DRHD scope function 8",
            &[2, 8, 0, 0, 0, 0, 0x1c, 8],
            BadPath,
        ),
        (
            "DRHD bridge scope bad second hop",
            &[2, 10, 0, 0, 0, 0, 0x1c, 0, 0, 9],
            BadPath,
        ),
    ] {
        let mut bad = table(scope);
        let bytes = bad.finish();
        expect_error(check, bytes, kind, 72)?;
        let Ok(dmar) = Dmar::new(bytes) else {
            return expect(check, false);
        };
        // The first scope still names 00:04.0; 00:05.0, after the bad scope, falls to the
        // INCLUDE_PCI_ALL unit.
        expect(check, unit(&dmar, 4) == Some(0))?;
        expect(check, unit(&dmar, 5) == Some(1))?;
    }
    // A scope that runs past its DRHD: refused; unvalidated, the scopes end there.
    let mut bad = table(&[1, 18, 0, 0, 0, 0, 5, 0]);
    let bytes = bad.finish();
    expect_error("DRHD scope past the DRHD", bytes, ScopePastEnd, 72)?;
    if let Ok(dmar) = Dmar::new(bytes) {
        expect("DRHD scope past the DRHD", unit(&dmar, 5) == Some(1))?;
    }
    // A DRHD cut in its scopes by the table end: refused; unvalidated, it is no unit.
    let mut cut = table(&[2, 8, 0, 0, 0, 0, 0x1c, 0]);
    cut.finish();
    let short = 48 + 16 + 12;
    // CAST: `short` is small.
    cut.buf[4..8].copy_from_slice(&(short as u32).to_le_bytes());
    expect_error("DRHD cut by the table end", &cut.buf[..short], PastEnd, 48)?;
    if let Ok(dmar) = Dmar::new(&cut.buf[..short]) {
        expect("DRHD cut by the table end", unit(&dmar, 4).is_none())?;
    }
    Ok(())
}
