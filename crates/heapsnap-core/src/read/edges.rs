//! The edges of the heap graph, bit-packed: each edge is one record of `type`, `name` and
//! target ordinal, each field exactly as wide as this snapshot needs.
//!
//! Why: edges outnumber nodes 5-7 to 1 in real heaps, so they are most of the graph's
//! memory. Stored as `u8` + `u32` + `u32` they cost 9 bytes each, but a snapshot with 7 edge
//! types, 124 k strings and 1.9 M nodes needs only 3 + 17 + 21 bits. Widths come from the
//! snapshot itself (type count from the meta, target width from the node count, name width
//! from the names actually used), so nothing is truncated on a snapshot of any size.
//!
//! Names are the one field with outliers: an `element` edge's "name" is its index, and one
//! sparse array at index 2^30 would widen every edge's name to 31 bits. So the name width is
//! chosen by cost, and the few names that do not fit are kept in a side table (sorted by
//! edge ordinal) with an all-ones marker in the record.
//!
//! While parsing, the name width is not known yet (the strings come after the edges), so
//! records are packed with 32-bit names and narrowed in place by [`EdgeTable::finish`].

use super::packed::{bit_len, read, read_record, write_record, BitWriter, PAD};

/// Bit-packed edge records; see the module docs.
#[derive(Debug)]
pub(crate) struct EdgeTable {
    /// Records, `record_bits` each, little-endian bit order, plus [`PAD`] bytes of padding
    /// (see `packed`).
    bytes: Vec<u8>,
    len: usize,
    type_bits: u32,
    name_bits: u32,
    to_bits: u32,
    /// `(edge ordinal, name)` of the names that do not fit in `name_bits`, sorted.
    wide_names: Vec<(u32, u32)>,
    /// Edges per bit length of `name + 1` (for choosing the final name width).
    name_lengths: [u64; 34],
    /// Bit t set: type t's names are string indices (not `element`/`hidden` indices).
    string_named: [u64; 4],
    /// The largest string index an edge names (0 when none does).
    max_string_name: u32,
}

impl Default for EdgeTable {
    fn default() -> Self {
        EdgeTable::new(1, Some(1), [0; 4])
    }
}

/// Field widths of one record: (type, name, target).
#[derive(Debug, Clone, Copy)]
struct Widths(u32, u32, u32);

/// The record value that sends a name to the side table, when names are narrower than 32 bits.
fn name_marker(name_bits: u32) -> Option<u64> {
    (name_bits < 32).then(|| (1u64 << name_bits) - 1)
}

impl Widths {
    fn record_bits(self) -> u64 {
        (self.0 + self.1 + self.2) as u64
    }
    fn record(self, ty: u64, name: u64, to: u64) -> u128 {
        ty as u128 | (name as u128) << self.0 | (to as u128) << (self.0 + self.1)
    }
    fn fields(self, record: u128) -> (u64, u64, u64) {
        let field = |shift: u32, width: u32| ((record >> shift) as u64) & (u64::MAX >> (64 - width));
        (field(0, self.0), field(self.0, self.1), field(self.0 + self.1, self.2))
    }
}

impl EdgeTable {
    /// An empty table for a snapshot with `type_count` edge types and, when known,
    /// `node_count` nodes (else targets get 32 bits until [`EdgeTable::finish`]).
    /// `string_named` has bit t set when type t names its edges by string index.
    pub fn new(type_count: usize, node_count: Option<usize>, string_named: [u64; 4]) -> Self {
        EdgeTable {
            bytes: vec![0; PAD],
            len: 0,
            type_bits: bit_len(type_count.saturating_sub(1) as u64).max(1),
            name_bits: 32,
            to_bits: node_count.map_or(32, |n| bit_len(n.saturating_sub(1) as u64).max(1)),
            wide_names: Vec::new(),
            name_lengths: [0; 34],
            string_named,
            max_string_name: 0,
        }
    }

    fn widths(&self) -> Widths {
        Widths(self.type_bits, self.name_bits, self.to_bits)
    }

    /// Room for `n` more edges without reallocating.
    pub fn reserve(&mut self, n: usize) {
        let bits = n as u64 * self.widths().record_bits();
        self.bytes.reserve(bits.div_ceil(8) as usize);
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Appends an edge. `ty` must be below the type count given to [`EdgeTable::new`] and
    /// `to` below its node count.
    #[inline]
    pub fn push(&mut self, ty: u8, name: u32, to: u32) {
        let w = self.widths();
        let base = self.len as u64 * w.record_bits();
        let end_byte = (base + w.record_bits()).div_ceil(8) as usize + PAD;
        if self.bytes.len() < end_byte {
            // In steps, within the reserved capacity when there is one.
            let spare = self.bytes.capacity() - self.bytes.len();
            self.bytes.resize(end_byte.max(self.bytes.len() + spare.min(1 << 16)), 0);
        }
        self.name_lengths[bit_len(name as u64 + 1) as usize] += 1;
        if self.string_named[ty as usize >> 6] >> (ty & 63) & 1 == 1 {
            self.max_string_name = self.max_string_name.max(name);
        }
        write_record(&mut self.bytes, base, w.record_bits(), w.record(ty as u64, name as u64, to as u64));
        self.len += 1;
    }

    /// Narrows the fields to what the table holds (targets below `node_count`; the name
    /// width that costs least, outliers in the side table) in place, and frees the slack.
    pub fn finish(&mut self, node_count: usize) {
        let old = self.widths();
        let to_bits = bit_len(node_count.saturating_sub(1) as u64).max(1);
        debug_assert!(to_bits <= old.2);
        // Each outlier costs a side-table entry (64 bits) instead of widening every record.
        let n = self.len as u64;
        let outliers = |w: u32| self.name_lengths[w as usize + 1..].iter().sum::<u64>();
        let name_bits = (1..=32).min_by_key(|&w| n * w as u64 + 64 * outliers(w)).unwrap_or(32);
        let new = Widths(old.0, name_bits, to_bits);
        let marker = name_marker(name_bits);
        let mut wide = Vec::with_capacity(outliers(name_bits) as usize);
        // New records are no longer than old ones, so the writer, which writes only below
        // what it was given, never touches an old record not yet read.
        let mut out = BitWriter::default();
        for e in 0..self.len {
            let (ty, name, to) = old.fields(read_record(&self.bytes, e as u64 * old.record_bits(), old.record_bits()));
            let stored = match marker {
                Some(m) if name >= m => {
                    wide.push((e as u32, name as u32));
                    m
                }
                _ => name,
            };
            out.put(&mut self.bytes, ty | stored << new.0, new.0 + new.1);
            out.put(&mut self.bytes, to, new.2);
        }
        out.flush(&mut self.bytes);
        self.name_bits = name_bits;
        self.to_bits = to_bits;
        self.wide_names = wide;
        self.bytes.truncate((n * new.record_bits()).div_ceil(8) as usize + PAD);
        self.bytes.shrink_to_fit();
    }

    /// The largest string index an edge of a string-named type holds (0 when none).
    pub fn max_string_name(&self) -> u32 {
        self.max_string_name
    }

    /// Every edge's `(type, name, target)` in edge order, each record read once.
    pub fn records(&self) -> impl Iterator<Item = (u8, u32, u32)> + '_ {
        let w = self.widths();
        let marker = name_marker(self.name_bits);
        let mut wide = self.wide_names.iter().peekable();
        (0..self.len).map(move |e| {
            let (ty, name, to) = w.fields(read_record(&self.bytes, e as u64 * w.record_bits(), w.record_bits()));
            let name = match wide.peek() {
                Some(&&(at, wide_name)) if Some(name) == marker && at as usize == e => {
                    wide.next();
                    wide_name
                }
                _ => name as u32,
            };
            (ty as u8, name, to as u32)
        })
    }

    #[inline]
    fn base(&self, e: usize) -> u64 {
        e as u64 * self.widths().record_bits()
    }

    /// The type index of edge `e`.
    #[inline]
    pub fn ty(&self, e: usize) -> u8 {
        read(&self.bytes, self.base(e), self.type_bits) as u8
    }

    /// String index for named edge types, the numeric index for `element`/`hidden`.
    #[inline]
    pub fn name(&self, e: usize) -> u32 {
        let v = read(&self.bytes, self.base(e) + self.type_bits as u64, self.name_bits);
        if Some(v) == name_marker(self.name_bits) {
            if let Ok(i) = self.wide_names.binary_search_by_key(&(e as u32), |&(e, _)| e) {
                return self.wide_names[i].1;
            }
        }
        v as u32
    }

    /// Target node ordinal of edge `e`.
    #[inline]
    pub fn to(&self, e: usize) -> u32 {
        read(&self.bytes, self.base(e) + (self.type_bits + self.name_bits) as u64, self.to_bits) as u32
    }

    /// Heap bytes held (for tests and measurements).
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.wide_names.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::EdgeTable;
    use crate::read::tests::Rng;

    fn check(table: &EdgeTable, want: &[(u8, u32, u32)]) {
        assert_eq!(table.len(), want.len());
        for (e, &(ty, name, to)) in want.iter().enumerate() {
            assert_eq!((table.ty(e), table.name(e), table.to(e)), (ty, name, to), "edge {e}");
        }
        assert!(table.records().eq(want.iter().copied()));
    }

    #[test]
    fn keeps_every_field_exactly_before_and_after_narrowing() {
        let mut rng = Rng(7);
        for (types, nodes, max_name) in [(7usize, 1_858_554usize, 123_988u32), (1, 1, 0), (255, 5, u32::MAX), (3, 1 << 20, 1 << 16)] {
            let mut t = EdgeTable::new(types, None, [0b10, 0, 0, 0]);
            let mut want = Vec::new();
            for i in 0..20_000 {
                let name = match i % 1000 {
                    0 => u32::MAX,
                    1 => 1 << 30,
                    _ => rng.below(max_name as usize + 1) as u32,
                };
                let e = (rng.below(types) as u8, name, rng.below(nodes) as u32);
                t.push(e.0, e.1, e.2);
                want.push(e);
            }
            check(&t, &want);
            let max_string_name = want.iter().filter(|e| e.0 == 1).map(|e| e.1).max().unwrap_or(0);
            assert_eq!(t.max_string_name(), max_string_name);
            t.finish(nodes);
            check(&t, &want);
        }
    }

    #[test]
    fn narrows_to_the_bits_the_snapshot_needs() {
        // The AST heap of bench/README.md: 7 edge types, 124 k strings, 1.86 M nodes, one
        // element index at 2^30: 3 + 17 + 21 bits, the outlier on the side.
        let mut t = EdgeTable::new(7, Some(1_858_554), [0; 4]);
        let n = 100_000u32;
        for i in 0..n {
            t.push((i % 7) as u8, if i == 500 { 1 << 30 } else { i % 123_989 }, i * 18);
        }
        t.finish(1_858_554);
        assert_eq!((t.type_bits, t.name_bits, t.to_bits), (3, 17, 21));
        assert_eq!(t.wide_names, vec![(500, 1 << 30)]);
        assert_eq!(t.name(500), 1 << 30);
        assert_eq!(t.name(501), 501);
        assert!(t.heap_bytes() <= (n as usize * 41).div_ceil(8) + 24, "{} bytes", t.heap_bytes());
    }

    #[test]
    fn a_name_equal_to_the_marker_is_kept_on_the_side() {
        let mut t = EdgeTable::new(2, Some(2), [0; 4]);
        for i in 0..4096u32 {
            t.push(0, i % 15, 1);
        }
        t.push(1, 15, 0); // all ones in 4 bits
        t.finish(2);
        assert_eq!(t.name_bits, 4);
        assert_eq!((t.ty(4096), t.name(4096), t.to(4096)), (1, 15, 0));
        assert_eq!(t.name(14), 14);
    }
}
