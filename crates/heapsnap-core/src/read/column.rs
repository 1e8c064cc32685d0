//! A column of unsigned integers kept in 4 bytes per value until one value needs 8.
//!
//! Why: node ids, self sizes and retained sizes fit in a `u32` in every snapshot V8 writes
//! today, but nothing in the format bounds them (a native node can report a multi-GB self
//! size, a heap's total passes 4 GiB, another producer may number ids past 2^32). Storing
//! them all as `u64` would cost 4 bytes per node for a case that almost never happens;
//! truncating would be silently wrong. The column widens itself on the first value that
//! does not fit, so the common case stays narrow and the rare one stays exact.

/// See the module docs.
#[derive(Debug, Clone)]
pub(crate) enum Column {
    Narrow(Vec<u32>),
    Wide(Vec<u64>),
}

impl Default for Column {
    fn default() -> Self {
        Column::Narrow(Vec::new())
    }
}

impl Column {
    #[inline]
    pub fn get(&self, i: usize) -> u64 {
        match self {
            Column::Narrow(v) => v[i] as u64,
            Column::Wide(v) => v[i],
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Column::Narrow(v) => v.len(),
            Column::Wide(v) => v.len(),
        }
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = u64> + Clone + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    #[inline]
    pub fn push(&mut self, x: u64) {
        match self {
            Column::Narrow(v) if x <= u32::MAX as u64 => v.push(x as u32),
            Column::Narrow(_) => {
                self.widen();
                self.push(x);
            }
            Column::Wide(v) => v.push(x),
        }
    }

    pub fn reserve(&mut self, n: usize) {
        match self {
            Column::Narrow(v) => v.reserve(n),
            Column::Wide(v) => v.reserve(n),
        }
    }

    pub fn shrink_to_fit(&mut self) {
        match self {
            Column::Narrow(v) => v.shrink_to_fit(),
            Column::Wide(v) => v.shrink_to_fit(),
        }
    }

    /// Sum of all values (a `u64` cannot overflow for fewer than 2^32 values of 2^32).
    pub fn sum(&self) -> u128 {
        match self {
            Column::Narrow(v) => v.iter().map(|&x| x as u128).sum(),
            Column::Wide(v) => v.iter().map(|&x| x as u128).sum(),
        }
    }

    /// The values, 4 bytes each until one needs 8.
    pub fn from_values(values: impl Iterator<Item = u64>) -> Column {
        let mut c = Column::default();
        for x in values {
            c.push(x);
        }
        c.shrink_to_fit();
        c
    }

    /// The values in ascending order (for [`Column::contains_sorted`]).
    pub fn sorted_from(values: impl Iterator<Item = u64>) -> Column {
        let mut c = Column::from_values(values);
        match &mut c {
            Column::Narrow(v) => v.sort_unstable(),
            Column::Wide(v) => v.sort_unstable(),
        }
        c
    }

    /// Whether a column sorted ascending holds `x`.
    pub fn contains_sorted(&self, x: u64) -> bool {
        match self {
            Column::Narrow(v) => u32::try_from(x).is_ok_and(|x| v.binary_search(&x).is_ok()),
            Column::Wide(v) => v.binary_search(&x).is_ok(),
        }
    }

    /// Switches to 8 bytes per value, keeping the values and the spare capacity.
    pub fn widen(&mut self) {
        if let Column::Narrow(v) = self {
            let mut w = Vec::with_capacity(v.capacity());
            w.extend(v.iter().map(|&x| x as u64));
            *self = Column::Wide(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Column;

    #[test]
    fn widens_on_the_first_value_past_u32_and_keeps_every_value() {
        let mut c = Column::default();
        c.push(7);
        c.push(u32::MAX as u64);
        assert!(matches!(c, Column::Narrow(_)));
        c.push(u32::MAX as u64 + 1);
        c.push(3);
        assert!(matches!(c, Column::Wide(_)));
        let got: Vec<u64> = (0..4).map(|i| c.get(i)).collect();
        assert_eq!(got, [7, u32::MAX as u64, u32::MAX as u64 + 1, 3]);
        assert_eq!(c.sum(), 7 + 2 * u32::MAX as u128 + 1 + 3);
    }
}
