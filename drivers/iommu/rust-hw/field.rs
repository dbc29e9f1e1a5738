// SPDX-License-Identifier: GPL-2.0

//! Bit fields inside structures made of `u64` words.
//!
//! IOMMU structures are wider than any integer (an SMMUv3 STE or a VT-d PASID entry is 512 bits,
//! a command or invalidation descriptor 128 or 256), so a field is described by the index of its
//! qword and its `HI:LO` bit range inside that qword. All
//! three are type parameters: a field placed outside its structure, an empty bit range, or a
//! typed value written into a narrower field fails at build time, in the spirit of the kernel's
//! `bitfield!` `with_const_field()`. Values whose range is only known at run time go through the
//! checked setters, which return [`Error`] instead of truncating.
//!
//! Shared by the pure `hw` layers of the Rust IOMMU drivers (each includes this file as its
//! `hw::field` module); each layer's `hw::Error` has the `Overflow` and `BadAddress` variants
//! used here.

use crate::hw::Error;

/// Bits `HI:LO` of qword `W` of a structure made of `u64` words.
///
/// Fields are zero-sized; they are declared as `const` items next to the structure they belong
/// to and used as `FIELD.get(&words)` or `FIELD.set(&mut words, value)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Field<const W: usize, const HI: u32, const LO: u32>;

/// A single-bit field at bit `B` of qword `W`.
pub(crate) type Bit<const W: usize, const B: u32> = Field<W, B, B>;

/// A field of a 32-bit register, bits `HI:LO`.
pub(crate) type Reg32<const HI: u32, const LO: u32> = Field<0, HI, LO>;

/// A bit of a 32-bit register.
pub(crate) type RegBit32<const N: u32> = Bit<0, N>;

impl<const HI: u32, const LO: u32> Field<0, HI, LO> {
    /// Returns the field of a 32-bit register value, shifted down to bit 0.
    pub(crate) const fn get32(self, reg: u32) -> u64 {
        const { assert!(HI < 32, "a 32-bit register field") };
        // CAST: Widening `u32` to `u64` is lossless; `From` is not usable in a `const fn`.
        self.extract(reg as u64)
    }

    /// Returns whether any bit of the field is set in a 32-bit register value.
    pub(crate) const fn is_set32(self, reg: u32) -> bool {
        self.get32(reg) != 0
    }

    /// The field's bits in a 32-bit register value, in place.
    pub(crate) const fn mask32(self) -> u32 {
        const { assert!(HI < 32, "a 32-bit register field") };
        // CAST: The mask lies in bits 31:0, checked at build time just above.
        Self::MASK as u32
    }
}

/// Returns a 32-bit register value from the single word a register's fields were set in.
pub(crate) const fn reg32(w: [u64; 1]) -> u32 {
    // CAST: Truncation intended: the fields written through [`Reg32`] lie in bits 31:0.
    w[0] as u32
}

impl<const W: usize, const HI: u32, const LO: u32> Field<W, HI, LO> {
    /// The field's bits inside its qword.
    pub(crate) const MASK: u64 = {
        // Build-time check: it is evaluated while compiling, never at run time.
        assert!(LO <= HI && HI < 64, "invalid field bit range");
        (u64::MAX >> (63 - HI)) & (u64::MAX << LO)
    };

    /// The largest value the field can hold.
    pub(crate) const MAX: u64 = Self::MASK >> LO;

    /// The width of the field in bits.
    pub(crate) const BITS: u32 = Self::MASK.count_ones();

    /// The index of the qword holding the field.
    pub(crate) const WORD: usize = W;

    /// Returns the field's value, shifted down to bit 0.
    pub(crate) const fn get<const N: usize>(self, words: &[u64; N]) -> u64 {
        const { assert!(W < N, "field outside of structure") };
        // PANIC: `W < N` is checked at build time just above.
        (words[W] & Self::MASK) >> LO
    }

    /// Returns whether any bit of the field is set.
    pub(crate) const fn is_set<const N: usize>(self, words: &[u64; N]) -> bool {
        self.get(words) != 0
    }

    /// Returns the field's bits in place, without shifting.
    ///
    /// This is how address fields such as SMMUv3's `S1ContextPtr[51:6]` are read: the field
    /// holds the address bits at their natural position.
    pub(crate) const fn get_addr<const N: usize>(self, words: &[u64; N]) -> u64 {
        const { assert!(W < N, "field outside of structure") };
        // PANIC: `W < N` is checked at build time just above.
        words[W] & Self::MASK
    }

    /// Returns the field's value in a single 64-bit register value.
    pub(crate) const fn extract(self, reg: u64) -> u64 {
        const { assert!(W == 0, "register fields live in word 0") };
        (reg & Self::MASK) >> LO
    }

    /// Returns `value` shifted into the field's position.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Overflow`] if `value` is wider than the field.
    pub(crate) const fn prep(self, value: u64) -> Result<u64, Error> {
        if value > Self::MAX {
            Err(Error::Overflow)
        } else {
            Ok(value << LO)
        }
    }

    /// Writes `value` into the field, replacing its previous contents.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Overflow`] if `value` is wider than the field; `words` is then unchanged.
    pub(crate) const fn set<const N: usize>(
        self,
        words: &mut [u64; N],
        value: u64,
    ) -> Result<(), Error> {
        const { assert!(W < N, "field outside of structure") };
        match self.prep(value) {
            Ok(bits) => {
                // PANIC: `W < N` is checked at build time above.
                words[W] = (words[W] & !Self::MASK) | bits;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Writes a boolean into a field, as 0 or 1.
    pub(crate) const fn set_bool<const N: usize>(self, words: &mut [u64; N], value: bool) {
        self.set_truncated(words, if value { 1 } else { 0 });
    }

    /// Writes a `u8` into a field that is at least 8 bits wide.
    pub(crate) const fn set_u8<const N: usize>(self, words: &mut [u64; N], value: u8) {
        const { assert!(Self::BITS >= 8, "field narrower than u8") };
        // CAST: Widening `u8` to `u64` is lossless; `From` is not usable in a `const fn`.
        self.set_truncated(words, value as u64);
    }

    /// Writes a `u16` into a field that is at least 16 bits wide.
    pub(crate) const fn set_u16<const N: usize>(self, words: &mut [u64; N], value: u16) {
        const { assert!(Self::BITS >= 16, "field narrower than u16") };
        // CAST: Widening `u16` to `u64` is lossless; `From` is not usable in a `const fn`.
        self.set_truncated(words, value as u64);
    }

    /// Writes a `u32` into a field that is at least 32 bits wide.
    pub(crate) const fn set_u32<const N: usize>(self, words: &mut [u64; N], value: u32) {
        const { assert!(Self::BITS >= 32, "field narrower than u32") };
        // CAST: Widening `u32` to `u64` is lossless; `From` is not usable in a `const fn`.
        self.set_truncated(words, value as u64);
    }

    /// Writes an address whose bits sit at their natural position in the field.
    ///
    /// # Errors
    ///
    /// Returns [`Error::BadAddress`] if `addr` has bits set below `LO` (misaligned) or above `HI`
    /// (out of range); `words` is then unchanged.
    pub(crate) const fn set_addr<const N: usize>(
        self,
        words: &mut [u64; N],
        addr: u64,
    ) -> Result<(), Error> {
        const { assert!(W < N, "field outside of structure") };
        if addr & !Self::MASK != 0 {
            return Err(Error::BadAddress);
        }
        // PANIC: `W < N` is checked at build time above.
        words[W] = (words[W] & !Self::MASK) | addr;
        Ok(())
    }

    /// Sets all bits of the field in a "used bits" mask.
    pub(crate) const fn mark<const N: usize>(self, used: &mut [u64; N]) {
        const { assert!(W < N, "field outside of structure") };
        // PANIC: `W < N` is checked at build time just above.
        used[W] |= Self::MASK;
    }

    /// Clears all bits of the field in a mask.
    pub(crate) const fn unmark<const N: usize>(self, used: &mut [u64; N]) {
        const { assert!(W < N, "field outside of structure") };
        // PANIC: `W < N` is checked at build time just above.
        used[W] &= !Self::MASK;
    }

    /// Writes `value` into the field, dropping bits that do not fit.
    ///
    /// Only for values known to fit, such as encodings of a field's own enum.
    pub(crate) const fn set_truncated<const N: usize>(self, words: &mut [u64; N], value: u64) {
        const { assert!(W < N, "field outside of structure") };
        // PANIC: `W < N` is checked at build time just above.
        words[W] = (words[W] & !Self::MASK) | ((value << LO) & Self::MASK);
    }
}

/// Declares a `repr(u8)` enum of the encodings of a hardware field.
///
/// The enum gets `from_raw()`, which decodes a raw field value (reserved encodings give `None`),
/// and `raw()`, which returns the encoding as a `u64` ready for [`Field::set`].
macro_rules! encoding {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $value:literal,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        $vis enum $name {
            $(
                $(#[$vmeta])*
                $variant = $value,
            )*
        }

        #[allow(dead_code, reason = "not every encoding is decoded or encoded by every user")]
        impl $name {
            /// Decodes a raw field value; reserved encodings give `None`.
            $vis const fn from_raw(raw: u64) -> Option<Self> {
                $(
                    if raw == $value {
                        return Some(Self::$variant);
                    }
                )*
                None
            }

            /// Returns the encoding of `self`.
            $vis const fn raw(self) -> u64 {
                // CAST: The enum is `repr(u8)`, so its discriminant widens to `u64` losslessly.
                self as u64
            }
        }
    };
}
pub(crate) use encoding;
