//! Unsigned integers packed at a fixed bit width: the storage under the graph's big
//! columns and the dominator pass's per-node arrays.
//!
//! Why: a snapshot's node ordinals, string indices, ids and sizes each have a known maximum,
//! and on real heaps it is far below 2^32 (1.9 M nodes need 21 bits, 124 k strings 17). A
//! `u32` per value wastes a third of the memory that bounds how large a snapshot the
//! analyzer can open. Reads and writes are one unaligned 8-byte load plus a shift and a
//! mask: widths of 58 to 63 bits are stored as 64, so a value never spans more than 8 bytes.

/// `width`-bit values, little-endian bit order; see the module docs.
#[derive(Debug, Clone, Default)]
pub(crate) struct PackedVec {
    bytes: Vec<u8>,
    len: usize,
    width: u32,
    mask: u64,
}

/// Padding after the last value, so every value (and every edge record, see `edges`) can be
/// read with one 8- or 16-byte load.
pub(crate) const PAD: usize = 16;

/// Bits needed to store `x` (0 for 0).
pub(crate) fn bit_len(x: u64) -> u32 {
    64 - x.leading_zeros()
}

impl PackedVec {
    /// `len` zeros of `width` bits (1 to 64; 58 to 63 are stored as 64).
    pub fn zeros(len: usize, width: u32) -> PackedVec {
        let width = if width > 57 { 64 } else { width.max(1) };
        PackedVec { bytes: vec![0; byte_len(len, width)], len, width, mask: u64::MAX >> (64 - width) }
    }

    /// The values, each at the width the largest one needs.
    pub fn from_values(values: impl ExactSizeIterator<Item = u64> + Clone) -> PackedVec {
        let mut v = PackedVec::zeros(values.len(), bit_len(values.clone().max().unwrap_or(0)));
        let mut out = BitWriter::default();
        for x in values {
            out.put(&mut v.bytes, x, v.width);
        }
        out.flush(&mut v.bytes);
        v
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    #[inline]
    pub fn get(&self, i: usize) -> u64 {
        debug_assert!(i < self.len);
        let pos = i * self.width as usize;
        let at = pos / 8;
        let word = u64::from_le_bytes(self.bytes[at..at + 8].try_into().expect("8 bytes"));
        (word >> (pos % 8)) & self.mask
    }

    /// Stores `x`, which must fit in the width.
    #[inline]
    pub fn set(&mut self, i: usize, x: u64) {
        debug_assert!(i < self.len && bit_len(x) <= self.width);
        let pos = i * self.width as usize;
        let at = pos / 8;
        let slot: &mut [u8; 8] = (&mut self.bytes[at..at + 8]).try_into().expect("8 bytes");
        let word = u64::from_le_bytes(*slot) & !(self.mask << (pos % 8));
        *slot = (word | x << (pos % 8)).to_le_bytes();
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = u64> + Clone + '_ {
        (0..self.len).map(|i| self.get(i))
    }

    /// Heap bytes held.
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
    }
}

fn byte_len(len: usize, width: u32) -> usize {
    (len as u64 * width as u64).div_ceil(8) as usize + PAD
}

/// The `width`-bit field (1 to 57 bits) at bit `pos` of `bytes` (which has [`PAD`] bytes
/// after the last field).
#[inline(always)]
pub(crate) fn read(bytes: &[u8], pos: u64, width: u32) -> u64 {
    debug_assert!((1..=57).contains(&width));
    let at = (pos / 8) as usize;
    let word = u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    (word >> (pos % 8)) & (u64::MAX >> (64 - width))
}

/// Writes fields one after another from bit 0 of a buffer, eight whole bytes at a time (no
/// read-modify-write per field). It only ever writes bytes below the bits put so far, so it
/// can rewrite a buffer in place at a width no wider than the one being read.
#[derive(Default)]
pub(crate) struct BitWriter {
    pending: u128,
    bits: u32,
    at: usize,
}

impl BitWriter {
    /// Appends the low `width` (up to 64) bits of `value`.
    #[inline(always)]
    pub fn put(&mut self, bytes: &mut [u8], value: u64, width: u32) {
        self.pending |= (value as u128) << self.bits;
        self.bits += width;
        if self.bits >= 64 {
            bytes[self.at..self.at + 8].copy_from_slice(&(self.pending as u64).to_le_bytes());
            self.pending >>= 64;
            self.bits -= 64;
            self.at += 8;
        }
    }

    /// Writes the last partial word.
    pub fn flush(&mut self, bytes: &mut [u8]) {
        let n = self.bits.div_ceil(8) as usize;
        bytes[self.at..self.at + n].copy_from_slice(&(self.pending as u64).to_le_bytes()[..n]);
    }
}

/// The `width`-bit field (up to 120 bits: a whole record) at bit `pos`.
#[inline(always)]
pub(crate) fn read_record(bytes: &[u8], pos: u64, width: u64) -> u128 {
    let at = (pos / 8) as usize;
    let word = u128::from_le_bytes(bytes[at..at + 16].try_into().expect("16 bytes"));
    (word >> (pos % 8)) & (u128::MAX >> (128 - width))
}

/// Stores a record of `width` (up to 120) bits at bit `pos`, keeping the other bits.
#[inline(always)]
pub(crate) fn write_record(bytes: &mut [u8], pos: u64, width: u64, value: u128) {
    let at = (pos / 8) as usize;
    let slot: &mut [u8; 16] = (&mut bytes[at..at + 16]).try_into().expect("16 bytes");
    let mask = (u128::MAX >> (128 - width)) << (pos % 8);
    *slot = ((u128::from_le_bytes(*slot) & !mask) | (value << (pos % 8))).to_le_bytes();
}

#[cfg(test)]
mod tests {
    use super::{bit_len, PackedVec};
    use crate::read::tests::Rng;

    #[test]
    fn every_width_keeps_every_value_and_its_neighbours() {
        let mut rng = Rng(11);
        for width in 1..=64u32 {
            let max = u64::MAX >> (64 - width);
            let values: Vec<u64> = (0..300).map(|i| if i % 7 == 0 { max } else { rng.next() & max }).collect();
            let mut v = PackedVec::zeros(values.len(), width);
            for (i, &x) in values.iter().enumerate() {
                v.set(i, x);
            }
            assert!(v.iter().eq(values.iter().copied()), "width {width}");
            // Overwriting one value leaves the others alone.
            v.set(150, 0);
            assert_eq!(v.get(149), values[149]);
            assert_eq!(v.get(151), values[151]);
            let packed = PackedVec::from_values(values.iter().copied());
            assert!(packed.iter().eq(values.iter().copied()));
            let needed = bit_len(*values.iter().max().unwrap());
            assert_eq!(packed.width(), if needed > 57 { 64 } else { needed });
        }
    }

    #[test]
    fn costs_its_width_not_a_word() {
        let v = PackedVec::from_values((0..1_000_000u32).map(|i| (i % 1_858_554) as u64));
        assert_eq!(v.width(), 20);
        assert!(v.heap_bytes() <= 1_000_000 * 20 / 8 + 16, "{}", v.heap_bytes());
    }
}
