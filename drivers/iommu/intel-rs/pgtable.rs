// SPDX-License-Identifier: GPL-2.0

//! A second-stage page table: the tables the unit walks, in [`PhysMem`] pages, and a software
//! tree beside them that owns those pages and finds a table's children.
//!
//! Only 4KB pages are mapped. Tables are allocated as mappings need them and freed with the
//! whole table, never when they become empty: a table the unit may still have cached in its
//! paging-structure caches is therefore never reused before the domain is freed, which happens
//! after every device left it (the detach invalidated the domain's IOTLB entries).
//!
//! The C driver maps with the kernel's generic page table code (`generic_pt`'s `vtdss`
//! format); see `Documentation/iommu-rs/intel-rs.rst` for why this driver does not yet.

use kernel::{
    alloc::Flags,
    phys_mem::PhysMem,
    prelude::*,
    sync::atomic::Relaxed, //
};

use crate::hw::{
    regs::Agaw,
    sspt::{
        self,
        Entry, //
    },
};

/// The size of the only page size mapped.
pub(crate) const PAGE_SIZE: usize = 4096;

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
        let mem = PhysMem::new_zeroed_with(sspt::ENTRIES * 8, gfp)?;
        let mut children = KVec::new();
        if level > 1 {
            children.reserve(sspt::ENTRIES, gfp)?;
            for _ in 0..sspt::ENTRIES {
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
    /// A table of this level is missing: allocate one and call again with it.
    NeedTable(u32),
}

/// A second-stage page table of a paging domain.
pub(crate) struct PageTable {
    /// The top-level table.
    root: KBox<Node>,
    /// The depth.
    agaw: Agaw,
    /// Write back the CPU caches after each update (the unit does not snoop).
    flush: bool,
}

impl PageTable {
    /// An empty table of `agaw`'s depth.
    pub(crate) fn new(agaw: Agaw, flush: bool) -> Result<Self> {
        let root = Node::new(agaw.levels(), GFP_KERNEL)?;
        if flush {
            root.mem.flush(0..sspt::ENTRIES)?;
        }
        Ok(Self { root, agaw, flush })
    }

    /// The physical address of the top-level table (`SSPTPTR`).
    pub(crate) fn root(&self) -> u64 {
        self.root.mem.phys()
    }

    /// The depth.
    pub(crate) fn agaw(&self) -> Agaw {
        self.agaw
    }

    /// Writes entry `index` of `node` and makes it visible to the unit.
    fn store(flush: bool, node: &Node, index: usize, entry: u64) -> Result {
        node.mem.words()[index].store(entry, Relaxed);
        if flush {
            node.mem.flush(index..index + 1)?;
        }
        Ok(())
    }

    /// Maps the 4KB page at `paddr` at `iova`.
    ///
    /// If a table on the way is missing and `spare` does not hold an empty table of its level,
    /// returns [`MapStep::NeedTable`] without changing anything: the caller allocates one
    /// (outside its lock, with the allocation flags it was given) into `spare` and calls again.
    ///
    /// # Errors
    ///
    /// `EINVAL` if `iova` is outside the table or nothing is granted, `EEXIST` if the page is
    /// mapped already.
    pub(crate) fn map_page(
        &mut self,
        iova: u64,
        paddr: u64,
        read: bool,
        write: bool,
        spare: &mut Option<KBox<Node>>,
    ) -> Result<MapStep> {
        if !sspt::in_range(iova, self.agaw) {
            return Err(EINVAL);
        }
        let leaf = sspt::page_entry(1, paddr, read, write, false)?;
        let flush = self.flush;
        let mut node = &mut *self.root;
        while node.level > 1 {
            let index = sspt::index(iova, node.level);
            if node.children[index].is_none() {
                let child = match spare.take() {
                    Some(c) if c.level == node.level - 1 => c,
                    _ => return Ok(MapStep::NeedTable(node.level - 1)),
                };
                if flush {
                    child.mem.flush(0..sspt::ENTRIES)?;
                }
                let entry = sspt::table_entry(child.mem.phys())?;
                node.children[index] = Some(child);
                Self::store(flush, node, index, entry)?;
            }
            node = match node.children[index].as_deref_mut() {
                Some(child) => child,
                None => return Err(EINVAL),
            };
        }
        let index = sspt::index(iova, 1);
        if sspt::decode(node.mem.words()[index].load(Relaxed), 1) != Entry::None {
            return Err(EEXIST);
        }
        Self::store(flush, node, index, leaf)?;
        Ok(MapStep::Done)
    }

    /// Unmaps the 4KB page at `iova`; `false` if it was not mapped.
    pub(crate) fn unmap_page(&mut self, iova: u64) -> Result<bool> {
        if !sspt::in_range(iova, self.agaw) {
            return Ok(false);
        }
        let flush = self.flush;
        let mut node = &*self.root;
        while node.level > 1 {
            node = match node.children[sspt::index(iova, node.level)].as_deref() {
                Some(child) => child,
                None => return Ok(false),
            };
        }
        let index = sspt::index(iova, 1);
        if sspt::decode(node.mem.words()[index].load(Relaxed), 1) == Entry::None {
            return Ok(false);
        }
        Self::store(flush, node, index, 0)?;
        Ok(true)
    }

    /// The physical address `iova` translates to, `None` if it is not mapped.
    pub(crate) fn lookup(&self, iova: u64) -> Option<u64> {
        if !sspt::in_range(iova, self.agaw) {
            return None;
        }
        let mut node = &*self.root;
        loop {
            let index = sspt::index(iova, node.level);
            match sspt::decode(node.mem.words()[index].load(Relaxed), node.level) {
                Entry::None => return None,
                Entry::Page { addr, .. } => {
                    let offset = iova & ((1u64 << sspt::level_shift(node.level)) - 1);
                    return Some(addr | offset);
                }
                Entry::Table(_) => node = node.children.get(index)?.as_deref()?,
            }
        }
    }
}
