// SPDX-License-Identifier: GPL-2.0

//! Fault injection through debugfs (`CONFIG_ARM_SMMU_V3_RUST_FAULT_INJECT`).
//!
//! `/sys/kernel/debug/arm_smmu_v3_rs/<device>/inject_cmdq_error`: writing anything issues an
//! illegal command, so that the command-error recovery runs on a live SMMU. The write fails if
//! the recovery does.

use kernel::{
    debugfs::{
        Dir,
        File,
        Reader, //
    },
    prelude::*,
    sync::Arc,
    uaccess::UserSliceReader, //
};

use crate::smmu::Smmu;

/// The backing data of `inject_cmdq_error`.
pub(crate) struct CmdqErrorInjector(Arc<Smmu>);

impl Reader for CmdqErrorInjector {
    fn read_from_slice(&self, reader: &mut UserSliceReader) -> Result {
        // The content is ignored; consume it so that the write completes.
        reader.skip(reader.len())?;
        self.0.inject_cmdq_error()
    }
}

/// The debugfs files of one SMMU.
///
/// Fields drop in order: the file goes before its directories.
pub(crate) struct Debugfs {
    _inject: Pin<KBox<File<CmdqErrorInjector>>>,
    _dev_dir: Dir,
    _root: Dir,
}

impl Debugfs {
    /// Creates the files of `smmu`, under a directory named after its device.
    pub(crate) fn new(smmu: &Arc<Smmu>, name: &CStr) -> Result<Self> {
        let root = Dir::new(c"arm_smmu_v3_rs");
        let dev_dir = root.subdir(name);
        let inject = KBox::pin_init(
            dev_dir.write_only_file(
                c"inject_cmdq_error",
                Ok::<_, Error>(CmdqErrorInjector(smmu.clone())),
            ),
            GFP_KERNEL,
        )?;
        Ok(Self {
            _inject: inject,
            _dev_dir: dev_dir,
            _root: root,
        })
    }
}
