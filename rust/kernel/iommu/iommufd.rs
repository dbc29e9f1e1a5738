// SPDX-License-Identifier: GPL-2.0

//! Types shared with the iommufd driver API.
//!
//! C header: [`include/linux/iommufd.h`](srctree/include/linux/iommufd.h)
//!
//! This module holds the driver-specific user data of allocation requests ([`UserData`]). The
//! vIOMMU objects, their vDEVICEs, user data arrays and vEVENTQ reports are in
//! [`Viommu`](super::Viommu) and [`ViommuOps`](super::ViommuOps). Not wrapped yet: driver data
//! of vDEVICEs (`vdevice_size`) and hardware queues (`HwQueue`, `hw_queue_init_phys`).

use crate::{
    bindings,
    prelude::*,
    transmute::FromBytes,
    types::Opaque,
    uaccess::{
        UserPtr,
        UserSlice,
        UserSliceReader, //
    },
};

/// Driver-specific data of an iommufd request (`struct iommu_user_data`).
///
/// The data lives in user memory; reading it goes through `copy_from_user`, so a `UserData`
/// describing any address is harmless.
///
/// # Invariants
///
/// The wrapped `struct iommu_user_data` is valid.
#[repr(transparent)]
pub struct UserData(Opaque<bindings::iommu_user_data>);

impl UserData {
    /// Describes `len` bytes of user data of type `data_type` at `uptr`.
    pub fn new(data_type: u32, uptr: UserPtr, len: usize) -> Self {
        Self(Opaque::new(bindings::iommu_user_data {
            type_: data_type,
            uptr: uptr.as_mut_ptr(),
            len,
        }))
    }

    /// # Safety
    ///
    /// `ptr` must be NULL or point to user data valid for `'a`.
    pub(crate) unsafe fn from_raw_opt<'a>(
        ptr: *const bindings::iommu_user_data,
    ) -> Option<&'a Self> {
        // SAFETY: `UserData` is a transparent wrapper; validity is guaranteed by the caller.
        (!ptr.is_null()).then(|| unsafe { &*ptr.cast::<Self>() })
    }

    fn raw(&self) -> &bindings::iommu_user_data {
        // SAFETY: The user data is valid by the type invariants and never written through `self`.
        unsafe { &*self.0.get() }
    }

    /// Returns the uAPI type of the data (e.g. `IOMMU_HWPT_DATA_*`).
    pub fn data_type(&self) -> u32 {
        self.raw().type_
    }

    /// Returns the length of the user buffer.
    pub fn len(&self) -> usize {
        self.raw().len
    }

    /// Returns `true` if the user buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies the data as a `T` of uAPI type `data_type` (`iommu_copy_struct_from_user`).
    ///
    /// `min_len` is the size of the oldest version of `T` (up to its last mandatory member). A
    /// shorter user buffer than `T` is zero-extended (older user space); a longer one must be
    /// zero beyond `size_of::<T>()` (newer user space asking for nothing this kernel does not
    /// know), otherwise `E2BIG`. A type mismatch or a buffer shorter than `min_len` is `EINVAL`.
    pub fn read<T: FromBytes>(&self, data_type: u32, min_len: usize) -> Result<T> {
        let len = self.len();
        if self.data_type() != data_type || len < min_len.max(1) {
            return Err(EINVAL);
        }
        let size = size_of::<T>();
        let mut buf = KVec::from_elem(0u8, size, GFP_KERNEL)?;
        let mut reader = UserSlice::new(UserPtr::from_ptr(self.raw().uptr), len).reader();
        reader.read_slice(&mut buf[..len.min(size)])?;
        let rest = reader.len();
        skip_zeroes(&mut reader, rest)?;
        T::from_bytes_copy(&buf).ok_or(EINVAL)
    }
}

/// Reads `len` more bytes from `reader`, which must all be zero: what newer user space may append
/// to a structure this kernel knows a shorter version of (`copy_struct_from_user()`); `E2BIG`
/// otherwise.
pub(crate) fn skip_zeroes(reader: &mut UserSliceReader, mut len: usize) -> Result {
    let mut chunk = [0u8; 64];
    while len > 0 {
        let n = len.min(chunk.len());
        reader.read_slice(&mut chunk[..n])?;
        if chunk[..n].iter().any(|&b| b != 0) {
            return Err(E2BIG);
        }
        len -= n;
    }
    Ok(())
}
