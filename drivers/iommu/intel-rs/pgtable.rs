// SPDX-License-Identifier: GPL-2.0

//! A page table of either stage: the tables the unit walks, in [`PhysMem`] pages, and a
//! software tree beside them that owns those pages and finds a table's children.
//!
//! Both stages index and nest their tables alike ([`crate::hw::pt`]); only the entries differ
//! ([`Format`]: second stage, `hw/sspt.rs`, or first stage, `hw/fspt.rs`), so this one walker
//! serves both. Pages are 4KB, 2MB or 1GB (levels 1 to 3; the domain offers the large ones the
//! unit has: `CAP.SLLPS` for second stage, `CAP.FS1GP` for 1GB first-stage pages). Tables are allocated as mappings need them and freed with the whole
//! table, never when they become empty: a table the unit may still have cached in its
//! paging-structure caches is therefore never reused before the domain is freed, which happens
//! after every device left it (the detach invalidated the domain's IOTLB entries). So a large
//! page is never written over a table: where one is in the way (left by smaller mappings),
//! [`PageTable::map_page`] says so and the domain maps the range with smaller pages.
//!
//! The C driver maps with the kernel's generic page table code (`generic_pt`'s `vtdss` and
//! `x86_64` formats); see `Documentation/iommu-rs/intel-rs.rst` for why this driver does not yet.

use kernel::{
    alloc::Flags,
    phys_mem::PhysMem,
    prelude::*,
    sync::{
        atomic::Relaxed,
        SpinLockIrq, //
    },
};

use crate::hw::pt::{
    self,
    Entry,
    Format, //
};

/// One table and, above the leaf level, the tables its entries point to.
pub(crate) struct Node {
    /// The table's level: 1 holds the 4KB leaves.
    level: u32,
    /// The table the unit reads.
    mem: PhysMem,
    /// Above level 1: the table of each entry that points to one (512 slots).
    children: KVec<Option<KBox<Node>>>,
}

impl Node {
    /// An empty table of `level`, allocated with `gfp`.
    pub(crate) fn new(level: u32, gfp: Flags) -> Result<KBox<Self>> {
        let mem = PhysMem::new_zeroed_with(pt::ENTRIES * 8, gfp)?;
        let mut children = KVec::new();
        if level > 1 {
            children.reserve(pt::ENTRIES, gfp)?;
            for _ in 0..pt::ENTRIES {
                children.push(None, gfp)?;
            }
        }
        Ok(KBox::new(
            Self {
                level,
                mem,
                children,
            },
            gfp,
        )?)
    }
}

/// What [`PageTable::map_page`] needs to go on.
pub(crate) enum MapStep {
    /// The page is mapped.
    Done,
    /// A table is where a page of the requested level would go (a large page over smaller
    /// mappings, or the tables they left): nothing was changed.
    Occupied,
    /// A table of this level is missing: allocate one and call again with it.
    NeedTable(u32),
}

/// The page table of a paging domain.
pub(crate) struct PageTable {
    /// The top-level table.
    root: KBox<Node>,
    /// The entry format.
    format: Format,
    /// The width of the input addresses the table maps: it maps `[0, 2^width)`.
    width: u32,
    /// Write back the CPU caches after each update (the unit does not snoop).
    flush: bool,
}

impl PageTable {
    /// An empty table of `format` with `levels` levels, mapping `[0, 2^width)`.
    pub(crate) fn new(format: Format, levels: u32, width: u32, flush: bool) -> Result<Self> {
        if levels < 3 || width > pt::level_shift(levels) + 9 {
            return Err(EINVAL);
        }
        let root = Node::new(levels, GFP_KERNEL)?;
        if flush {
            root.mem.flush(0..pt::ENTRIES)?;
        }
        Ok(Self {
            root,
            format,
            width,
            flush,
        })
    }

    /// The physical address of the top-level table (`SSPTPTR`, `FSPTPTR`).
    pub(crate) fn root(&self) -> u64 {
        self.root.mem.phys()
    }

    /// Whether `iova` is inside what the table maps.
    fn in_range(&self, iova: u64) -> bool {
        iova >> self.width == 0
    }

    /// Writes entry `index` of `node` and makes it visible to the unit.
    fn store(flush: bool, node: &Node, index: usize, entry: u64) -> Result {
        node.mem.words()[index].store(entry, Relaxed);
        if flush {
            node.mem.flush(index..index + 1)?;
        }
        Ok(())
    }

    /// Maps the page of `level` (4KB at 1, 2MB at 2, 1GB at 3) at `paddr` at `iova`, both
    /// aligned to its size.
    ///
    /// If a table on the way is missing and `spare` does not hold an empty table of its level,
    /// returns [`MapStep::NeedTable`] without changing anything: the caller allocates one
    /// (outside its lock, with the allocation flags it was given) into `spare` and calls again.
    /// If a table sits where the page would go, returns [`MapStep::Occupied`].
    ///
    /// # Errors
    ///
    /// `EINVAL` if `iova` is outside the table, not aligned, or nothing is granted; `EEXIST`
    /// if a page is mapped there already.
    pub(crate) fn map_page(
        &mut self,
        iova: u64,
        paddr: u64,
        level: u32,
        read: bool,
        write: bool,
        spare: &mut Option<KBox<Node>>,
    ) -> Result<MapStep> {
        if !self.in_range(iova) || iova & (pt::page_size(level) - 1) != 0 {
            return Err(EINVAL);
        }
        let leaf = self.format.page_entry(level, paddr, read, write)?;
        let format = self.format;
        let flush = self.flush;
        let mut node = &mut *self.root;
        while node.level > level {
            let index = pt::index(iova, node.level);
            if let Entry::Page { .. } =
                format.decode(node.mem.words()[index].load(Relaxed), node.level)
            {
                // A larger page covers it.
                return Err(EEXIST);
            }
            if node.children[index].is_none() {
                let child = match spare.take() {
                    Some(c) if c.level == node.level - 1 => c,
                    _ => return Ok(MapStep::NeedTable(node.level - 1)),
                };
                if flush {
                    child.mem.flush(0..pt::ENTRIES)?;
                }
                let entry = format.table_entry(child.mem.phys())?;
                node.children[index] = Some(child);
                Self::store(flush, node, index, entry)?;
            }
            node = match node.children[index].as_deref_mut() {
                Some(child) => child,
                None => return Err(EINVAL),
            };
        }
        let index = pt::index(iova, level);
        match format.decode(node.mem.words()[index].load(Relaxed), level) {
            Entry::None => (),
            Entry::Page { .. } => return Err(EEXIST),
            Entry::Table(_) => return Ok(MapStep::Occupied),
        }
        Self::store(flush, node, index, leaf)?;
        Ok(MapStep::Done)
    }

    /// Unmaps what is mapped at `iova`, aligned to the page size of `level`: the page of
    /// `level` there; a larger page there if it starts at `iova` and ends by `last` (a larger
    /// page is not cut: C's generic page table code refuses that too); or, where a table sits
    /// at `level` (a large page mapped with smaller ones), every page below it.
    ///
    /// Returns the number of bytes unmapped from `iova`, `None` if nothing was.
    pub(crate) fn unmap_page(&mut self, iova: u64, level: u32, last: u64) -> Result<Option<u64>> {
        if !self.in_range(iova) {
            return Ok(None);
        }
        let (flush, format) = (self.flush, self.format);
        let mut node = &*self.root;
        loop {
            let index = pt::index(iova, node.level);
            let size = pt::page_size(node.level);
            match format.decode(node.mem.words()[index].load(Relaxed), node.level) {
                Entry::None => return Ok(None),
                Entry::Page { .. } => {
                    if node.level > level && (iova & (size - 1) != 0 || last - iova < size - 1) {
                        return Ok(None);
                    }
                    Self::store(flush, node, index, 0)?;
                    return Ok(Some(size));
                }
                Entry::Table(_) => {
                    let Some(child) = node.children.get(index).and_then(|c| c.as_deref()) else {
                        return Err(EINVAL);
                    };
                    if node.level == level {
                        let cleared = Self::clear(flush, format, child)?;
                        return Ok((cleared != 0).then_some(size));
                    }
                    node = child;
                }
            }
        }
    }

    /// Clears every page under `node`; returns the number of bytes they mapped.
    fn clear(flush: bool, format: Format, node: &Node) -> Result<u64> {
        let mut cleared = 0;
        for index in 0..pt::ENTRIES {
            match format.decode(node.mem.words()[index].load(Relaxed), node.level) {
                Entry::None => (),
                Entry::Page { .. } => {
                    Self::store(flush, node, index, 0)?;
                    cleared += pt::page_size(node.level);
                }
                Entry::Table(_) => {
                    if let Some(child) = node.children.get(index).and_then(|c| c.as_deref()) {
                        cleared += Self::clear(flush, format, child)?;
                    }
                }
            }
        }
        Ok(cleared)
    }

    /// The physical address `iova` translates to, `None` if it is not mapped.
    pub(crate) fn lookup(&self, iova: u64) -> Option<u64> {
        if !self.in_range(iova) {
            return None;
        }
        let mut node = &*self.root;
        loop {
            let index = pt::index(iova, node.level);
            match self
                .format
                .decode(node.mem.words()[index].load(Relaxed), node.level)
            {
                Entry::None => return None,
                Entry::Page { addr, .. } => {
                    let offset = iova & ((1u64 << pt::level_shift(node.level)) - 1);
                    return Some(addr | offset);
                }
                Entry::Table(_) => node = node.children.get(index)?.as_deref()?,
            }
        }
    }
}

/// Maps the page of `level` at `paddr` at `iova` in the table behind `pt`, readable and/or
/// writable. Missing tables are allocated with `gfp` outside the lock (one at a time, kept in
/// `spare` between calls). Where a table is in the way of a large page (smaller mappings are
/// or were there: [`MapStep::Occupied`]), maps its range with the 512 pages of the next level
/// down instead, splitting further where needed, all or none of them: on an error, what this
/// call mapped is unmapped again (no device was given it yet).
///
/// # Errors
///
/// As [`PageTable::map_page`], and `ENOMEM` if a table cannot be allocated.
#[expect(clippy::too_many_arguments)]
pub(crate) fn map(
    pt: &SpinLockIrq<PageTable>,
    iova: u64,
    paddr: u64,
    level: u32,
    read: bool,
    write: bool,
    gfp: Flags,
    spare: &mut Option<KBox<Node>>,
) -> Result {
    loop {
        let step = pt.lock().map_page(iova, paddr, level, read, write, spare)?;
        match step {
            MapStep::Done => return Ok(()),
            MapStep::NeedTable(l) => *spare = Some(Node::new(l, gfp)?),
            MapStep::Occupied if level > 1 => break,
            MapStep::Occupied => return Err(EEXIST),
        }
    }
    let small = pt::page_size(level - 1);
    for j in 0..pt::ENTRIES as u64 {
        let at = j * small;
        if let Err(e) = map(
            pt,
            iova + at,
            paddr + at,
            level - 1,
            read,
            write,
            gfp,
            spare,
        ) {
            let mut table = pt.lock();
            let mut done = iova;
            while done < iova + at {
                match table.unmap_page(done, level - 1, iova + at - 1) {
                    Ok(Some(n)) => done += n,
                    _ => break,
                }
            }
            return Err(e);
        }
    }
    Ok(())
}
