// SPDX-License-Identifier: GPL-2.0

//! The STEs and CDs the driver installs, composed from the SMMU's ID registers and the few
//! values only known at run time: table addresses, the translation control the page-table code
//! computed, and IDs.
//!
//! Everything the driver writes into a stream table or CD table comes from here, so that the
//! host tests and KUnit can run [`crate::hw::illegal`] over every entry the driver can compose,
//! for every SMMU it may meet. The choices follow the C driver: stalls only for devices
//! that can wait for a stalled transaction or where the SMMU forces them ([`Stalls`]), no ATS,
//! the shareability override only where `IDR1.ATTR_TYPES_OVR` makes it meaningful, NS-EL1 stage
//! 1 contexts with VMID 0 and private ASIDs.

use crate::hw::{
    attr::{
        Cacheability,
        Granule,
        Shareability, //
    },
    cd::{
        self,
        Cd,
        CdCfg,
        CdLayout,
        Ttb0, //
    },
    idr::{
        Idr,
        StallModel, //
    },
    ste::{
        self,
        CdTable,
        Config,
        Eats,
        S1Dss,
        S2Table,
        Shcfg,
        Ste,
        StreamAttrs,
        Strw,
        Vtcr, //
    },
    Error,
};

/// The translation control of a table as the page-table code computed it: the raw fields of
/// `TCR` (stage 1) or `VTCR` (stage 2), with the table's base address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TableCfg {
    /// Physical address of the table (`TTBR0` or `VTTBR`).
    pub(crate) ttb: u64,
    /// `T0SZ`: the input region is `2^(64 - tsz)` bytes.
    pub(crate) tsz: u32,
    /// `SL0`: the starting level (stage 2 only).
    pub(crate) sl: u32,
    /// `TG0`: the granule.
    pub(crate) tg: u32,
    /// `IRGN0`: inner cacheability of walks.
    pub(crate) irgn: u32,
    /// `ORGN0`: outer cacheability of walks.
    pub(crate) orgn: u32,
    /// `SH0`: shareability of walks.
    pub(crate) sh: u32,
    /// `IPS` (stage 1) or `PS` (stage 2): the output size, encoded as `IDR5.OAS`.
    pub(crate) ps: u32,
}

/// Narrows a raw field value to `u8`.
fn narrow(v: u32) -> Result<u8, Error> {
    u8::try_from(v).map_err(|_| Error::Overflow)
}

/// Decodes a raw encoding with `from_raw`.
fn decode<T>(v: u32, from_raw: fn(u64) -> Option<T>) -> Result<T, Error> {
    from_raw(u64::from(v)).ok_or(Error::Invalid)
}

/// Whether the SMMU stalls every faulting transaction of a stream (`IDR0.STALL_MODEL == 0b10`):
/// the stall bits must then be set (`CD.S`, `STE.S2S`).
const fn stall_forced(idr: &Idr) -> bool {
    matches!(idr.stall_model(), Some(StallModel::Force))
}

/// Whether a device's stage 1 faults stall: the C driver's `master->stall_enabled`.
///
/// A stalled transaction waits, holding up the device, until software answers it with
/// `CMD_RESUME`: only a device whose firmware says it can wait (`dma-can-stall`) gets stalls
/// where the SMMU lets software choose (`IDR0.STALL_MODEL == 0b00`), and every device gets them
/// where the SMMU forces them (`0b10`). An SMMU without stalls (`0b01`) never stalls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stalls {
    model: Option<StallModel>,
    enabled: bool,
}

impl Stalls {
    /// The stalls of a device that can stall (`can_stall`) or not, on an SMMU of stall model
    /// `model` (`None`: a reserved encoding, taken as no stalls).
    pub(crate) const fn new(model: Option<StallModel>, can_stall: bool) -> Self {
        let enabled = match model {
            Some(StallModel::Force) => true,
            Some(StallModel::Stall) => can_stall,
            _ => false,
        };
        Self { model, enabled }
    }

    /// Whether the device's faults stall: `CD.S` in its CDs, and its stalled transactions are
    /// reported as page faults and answered with `CMD_RESUME`.
    pub(crate) const fn enabled(self) -> bool {
        self.enabled
    }

    /// `STE.S1STALLD`: set where the SMMU would let a device that cannot stall be stalled. It
    /// must be 0 unless `IDR0.STALL_MODEL == 0b00`.
    pub(crate) const fn stall_disable(self) -> bool {
        matches!(self.model, Some(StallModel::Stall)) && !self.enabled
    }
}

/// `cd` as a device with `stalls` uses it: `CD.S` set if its faults stall, clear otherwise. An
/// invalid CD is returned as is.
pub(crate) fn with_stalls(cd: &Cd, stalls: Stalls) -> Cd {
    if !cd.is_valid() {
        return *cd;
    }
    let mut w = *cd.words();
    cd::S.set_bool(&mut w, stalls.enabled());
    Cd::from_words(w)
}

/// `ste` as a device with `stalls` uses it: a stage 2 or nested STE gets `S2S` if the device's
/// faults stall, as the C driver sets it from `master->stall_enabled` (it is set already where
/// the SMMU forces stalls). Any other STE is returned as is.
pub(crate) fn ste_with_stalls(ste: &Ste, stalls: Stalls) -> Ste {
    let stage2 = matches!(ste.config(), Some(Config::S2Trans | Config::Nested));
    if !ste.is_valid() || !stage2 || !stalls.enabled() {
        return *ste;
    }
    let mut w = *ste.words();
    ste::S2S.set_bool(&mut w, true);
    Ste::from_words(w)
}

/// The `SHCFG` of entries that use it: the incoming shareability. The field is only honoured
/// with `IDR1.ATTR_TYPES_OVR`; without, it is RES0 and left zero.
const fn shcfg(idr: &Idr) -> Shcfg {
    if idr.attr_types_ovr() {
        Shcfg::Incoming
    } else {
        Shcfg::NonShareable
    }
}

/// The per-stream attributes of every translating STE: no ATS, no merged events.
const fn stream_attrs(idr: &Idr) -> StreamAttrs {
    StreamAttrs {
        eats: Eats::Abort,
        mev: false,
        shcfg: shcfg(idr),
    }
}

/// `ste` answering the endpoint's ATS translation requests with full ATS (`EATS = Trans`), for
/// a device whose ATS the driver enables while it is attached to a paging or nested domain, or
/// while PASIDs use its CD table.
///
/// # Errors
///
/// Returns [`Error::Invalid`] unless `ste` translates (stage 1 through a CD table, stage 2, or
/// both), without stage 2 stalls (with which `EATS` must be 0).
pub(crate) fn with_ats(ste: &Ste) -> Result<Ste, Error> {
    let mut w = *ste.words();
    match ste.config() {
        Some(Config::S1Trans | Config::S2Trans | Config::Nested)
            if ste.is_valid() && !ste::S2S.is_set(&w) => {}
        _ => return Err(Error::Invalid),
    }
    ste::EATS.set(&mut w, Eats::Trans.raw())?;
    Ok(Ste::from_words(w))
}

/// Fails if `id` is wider than `bits`.
const fn check_id(id: u16, bits: u32) -> Result<(), Error> {
    if bits < 16 && (id >> bits) != 0 {
        Err(Error::Overflow)
    } else {
        Ok(())
    }
}

/// The STE of an aborting stream (the blocking domain, and every stream no domain owns).
pub(crate) const fn abort_ste() -> Ste {
    Ste::abort()
}

/// The STE of a stream that bypasses translation (the identity domain).
pub(crate) const fn bypass_ste(idr: &Idr) -> Ste {
    Ste::bypass(shcfg(idr))
}

/// The STE that translates a stream's DMA without a SubstreamID through CD 0 of the linear,
/// one-entry CD table at `cd_table`: [`cd_table_ste_for`] a device without SubstreamIDs that
/// cannot stall.
///
/// # Errors
///
/// Returns an error if `cd_table` is not a 64-byte aligned address below 2^52.
pub(crate) fn cd_table_ste(idr: &Idr, cd_table: u64) -> Result<Ste, Error> {
    let stalls = Stalls::new(idr.stall_model(), false);
    cd_table_ste_for(idr, cd_table, &CdLayout::SINGLE, S1Dss::Ssid0, stalls)
}

/// The STE that points a stream at the CD table at `cd_table`, of layout `layout`, with `dss`
/// deciding what happens to its DMA without a SubstreamID: CD 0 translates it
/// ([`S1Dss::Ssid0`], the device's RID in a stage 1 domain), or it bypasses stage 1 or is
/// terminated (the RID in the identity or the blocking domain while SubstreamIDs are in use).
///
/// Stage 1 stalls are disabled (`S1STALLD`) for a device that cannot stall where the SMMU lets
/// software choose (see [`Stalls::stall_disable`]).
///
/// # Errors
///
/// Returns an error if `cd_table` is not a 64-byte aligned address below 2^52.
pub(crate) fn cd_table_ste_for(
    idr: &Idr,
    cd_table: u64,
    layout: &CdLayout,
    dss: S1Dss,
    stalls: Stalls,
) -> Result<Ste, Error> {
    let s1 = CdTable {
        ptr: cd_table,
        fmt: layout.fmt(),
        cd_max: layout.cd_max(),
        dss,
        inner_cache: Cacheability::WriteBackWriteAllocate,
        outer_cache: Cacheability::WriteBackWriteAllocate,
        shareability: Shareability::Inner,
        stall_disable: stalls.stall_disable(),
        // `CR2.E2H` is clear: stage 1 contexts are NS-EL1 ones of VMID 0.
        strw: Strw::NsEl1,
    };
    Ste::cd_table(&s1, &stream_attrs(idr))
}

/// The STE that translates a stream through the stage 2 table `table` under `vmid`.
///
/// # Errors
///
/// Returns an error if `vmid` is wider than the SMMU's VMIDs, or if a value of `table` does not
/// fit its field or is not a valid encoding.
pub(crate) fn s2_ste(idr: &Idr, vmid: u16, table: &TableCfg) -> Result<Ste, Error> {
    s2_ste_with(idr, vmid, table, false)
}

/// [`s2_ste`], with the SMMU updating the access flag and the dirty state of the table's
/// descriptors if `hw_dirty` (`STE.S2HA` and `STE.S2HD`): the dirty tracking of a stage 2
/// domain, whose io-pgtable gives writable descriptors `DBM`. The caller checks that the SMMU
/// has it (`IDR0.HTTU`, or the firmware's override).
///
/// # Errors
///
/// As [`s2_ste`].
pub(crate) fn s2_ste_with(
    idr: &Idr,
    vmid: u16,
    table: &TableCfg,
    hw_dirty: bool,
) -> Result<Ste, Error> {
    check_id(vmid, idr.vmid_bits())?;
    let s2 = S2Table {
        vmid,
        vtcr: Vtcr {
            t0sz: narrow(table.tsz)?,
            sl0: narrow(table.sl)?,
            inner_cache: decode(table.irgn, Cacheability::from_raw)?,
            outer_cache: decode(table.orgn, Cacheability::from_raw)?,
            shareability: decode(table.sh, Shareability::from_raw)?,
            granule: decode(table.tg, Granule::from_raw)?,
            ps: narrow(table.ps)?,
        },
        ttb: table.ttb,
        big_endian: cfg!(target_endian = "big"),
        ptw: false,
        stall: stall_forced(idr),
        record: true,
        fwb: false,
        hw_dirty,
    };
    Ste::s2(&s2, &stream_attrs(idr))
}

/// The Context Descriptor of a stage 1 table `table` under `asid`, with memory attributes
/// `mair`.
///
/// The page-table code sets the access flag in every entry it writes, so access flag faults
/// never happen; hardware access flag and dirty state updates stay off. The ASID is private to
/// the SMMU (`ASET`): no broadcast TLB maintenance from the CPU.
///
/// # Errors
///
/// Returns an error if `asid` is wider than the SMMU's ASIDs, or if a value of `table` does not
/// fit its field or is not a valid encoding.
pub(crate) fn s1_cd(idr: &Idr, asid: u16, table: &TableCfg, mair: u64) -> Result<Cd, Error> {
    s1_cd_with(idr, asid, table, mair, false)
}

/// [`s1_cd`], with the SMMU updating the access flag and the dirty state of the table's
/// descriptors if `hw_dirty` (`CD.HA` and `CD.HD`, as the C driver sets them for a table with
/// `IO_PGTABLE_QUIRK_ARM_HD`): the dirty tracking of a stage 1 domain. The caller checks that
/// the SMMU has it (`IDR0.HTTU`, or the firmware's override).
///
/// # Errors
///
/// As [`s1_cd`].
pub(crate) fn s1_cd_with(
    idr: &Idr,
    asid: u16,
    table: &TableCfg,
    mair: u64,
    hw_dirty: bool,
) -> Result<Cd, Error> {
    check_id(asid, idr.asid_bits())?;
    let ttb0 = Ttb0 {
        addr: table.ttb,
        t0sz: narrow(table.tsz)?,
        granule: decode(table.tg, Granule::from_raw)?,
        inner_cache: decode(table.irgn, Cacheability::from_raw)?,
        outer_cache: decode(table.orgn, Cacheability::from_raw)?,
        shareability: decode(table.sh, Shareability::from_raw)?,
    };
    Cd::new(&CdCfg {
        asid,
        ttb0: Some(ttb0),
        ips: narrow(table.ps)?,
        big_endian: cfg!(target_endian = "big"),
        affd: false,
        tbi0: false,
        hw_access: hw_dirty,
        hw_dirty,
        haft: false,
        stall: stall_forced(idr),
        record: true,
        abort: true,
        aset: true,
        mair,
    })
}

/// The input size of stage 1 domains: 48 bits, as the C driver without `IDR5.VAX`.
pub(crate) const S1_IAS: u32 = 48;

/// The input (IPA) size of stage 2 domains on an SMMU with `oas_bits` of output, whose tables
/// use pages of `2^granule_shift` bytes.
///
/// The IPA space is the output space, up to 48 bits, except where the kernel's page-table code
/// would start the walk at a level the architecture does not allow for that output size: it
/// only concatenates tables at the first level, so with 16KB pages and an output below 42 bits
/// a 40-bit IPA space would start at level 1 (`VTCR.SL0 == 0b10`, reserved below 42 bits of
/// PA). There, the IPA space is cut to what one level 2 table resolves (36 bits).
pub(crate) const fn s2_ias(oas_bits: u32, granule_shift: u32) -> u32 {
    let ias = if oas_bits < 48 { oas_bits } else { 48 };
    if granule_shift == 14 && oas_bits < 42 && ias > 36 {
        36
    } else {
        ias
    }
}
