//! A synthetic heap snapshot whose analysis is known by construction, streamed to any
//! `Write` in O(1) memory, so tests and benchmarks can check the analyzer exactly on inputs
//! of any size (multi-GB files, more than 2^24 nodes, ids and sizes past 2^32) without a
//! V8 heap that large and without a second implementation to compare with.
//!
//! Shape (V8's own meta, field order and section order):
//!
//! ```text
//! (root, synthetic) ─element─▶ BigBuffer (native, `big_native` bytes; optional)
//!                   ─element─▶ Holder × holders (object, 64 B)
//!     Holder ─element─▶ Item{j % item_classes} × items_per_holder (object, 16 + 8·class B)
//!         Item ─property "value"─▶ (string) of `string_len` distinct characters (optional)
//!         Item ─property "owner"─▶ its Holder          (a back edge: changes no dominator)
//!         Item ─weak "next"─▶ same item of the next Holder (weak: retains nothing)
//! ```
//!
//! Every node's only retaining path is the tree above, so the dominator tree *is* that tree
//! and each retained size is a closed-form sum: [`SynthSpec::expected`] computes DevTools'
//! Summary (the `summary --json` shape) without looking at the file.

use std::io::{self, Write};
use std::path::Path;

use crate::read::AnalyzeError;

use serde::Serialize;

/// What to generate; see the module docs for the shape.
#[derive(Debug, Clone)]
pub struct SynthSpec {
    pub holders: u64,
    pub items_per_holder: u32,
    /// Items are spread over this many classes (`Item0`, `Item1`, ...), at least 1.
    pub item_classes: u32,
    /// Characters of each item's string (0: items hold no string). Each string is distinct.
    pub string_len: usize,
    /// Node ids are `id_base + 2 * ordinal` (V8-like odd/even spacing); past 2^32 to test
    /// wide ids.
    pub id_base: u64,
    /// Self size of one extra native node held by the root (0: none); past 2^32 to test
    /// wide self, retained and total sizes.
    pub big_native: u64,
}

/// One row of the expected Summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SynthClass {
    pub name: String,
    pub count: u64,
    pub self_size: u64,
    pub retained_size: u64,
}

/// The expected `summary --json` of a generated snapshot, plus facts about the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SynthExpected {
    pub node_count: u64,
    pub edge_count: u64,
    pub total_size: u64,
    /// Characters in the `strings` section (all ASCII, so also its bytes without quotes).
    pub string_chars: u64,
    /// Sorted like `summary`: retained size, then self size descending, then name.
    pub constructors: Vec<SynthClass>,
}

const NODE_TYPES: &str = r#"["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape"]"#;
const T_STRING: u64 = 2;
const T_OBJECT: u64 = 3;
const T_NATIVE: u64 = 8;
const T_SYNTHETIC: u64 = 9;
const EDGE_TYPES: &str =
    r#"["context","element","property","internal","hidden","shortcut","weak"]"#;
const E_ELEMENT: u64 = 1;
const E_PROPERTY: u64 = 2;
const E_WEAK: u64 = 6;
const NODE_FIELDS: u64 = 7;
/// Fixed strings; class names and string values follow.
const FIXED: [&str; 6] = ["", "Holder", "value", "owner", "next", "BigBuffer"];
const S_HOLDER: u64 = 1;
const S_VALUE: u64 = 2;
const S_OWNER: u64 = 3;
const S_NEXT: u64 = 4;
const S_BIG: u64 = 5;
const HOLDER_SIZE: u64 = 64;

impl SynthSpec {
    fn classes(&self) -> u64 {
        self.item_classes.max(1) as u64
    }
    fn strings(&self) -> u64 {
        (self.string_len > 0) as u64
    }
    fn big(&self) -> u64 {
        (self.big_native > 0) as u64
    }
    fn item_size(class: u64) -> u64 {
        16 + 8 * class
    }
    /// V8-like self size of a sequential one-byte string: header plus characters, 8-aligned.
    fn string_size(&self) -> u64 {
        (16 + self.string_len as u64 + 7) & !7
    }
    fn first_holder(&self) -> u64 {
        1 + self.big()
    }
    /// Nodes per holder: itself, its items and their strings.
    fn block(&self) -> u64 {
        1 + self.items_per_holder as u64 * (1 + self.strings())
    }
    fn holder_ord(&self, h: u64) -> u64 {
        self.first_holder() + h * self.block()
    }
    fn item_ord(&self, h: u64, j: u64) -> u64 {
        self.holder_ord(h) + 1 + j * (1 + self.strings())
    }
    fn first_value_string(&self) -> u64 {
        FIXED.len() as u64 + self.classes()
    }

    /// The Summary the analyzer must produce (DevTools' numbers), computed in closed form.
    pub fn expected(&self) -> SynthExpected {
        let (h, i, c, s) = (
            self.holders,
            self.items_per_holder as u64,
            self.classes(),
            self.strings(),
        );
        let str_size = s * self.string_size();
        let mut constructors = Vec::new();
        let mut per_holder = HOLDER_SIZE;
        for k in 0..c {
            let per = i / c + (k < i % c) as u64;
            let count = h * per;
            per_holder += per * (Self::item_size(k) + str_size);
            constructors.push(SynthClass {
                name: format!("Item{k}"),
                count,
                self_size: count * Self::item_size(k),
                retained_size: count * (Self::item_size(k) + str_size),
            });
        }
        constructors.push(SynthClass {
            name: "Holder".into(),
            count: h,
            self_size: h * HOLDER_SIZE,
            retained_size: h * per_holder,
        });
        if s == 1 {
            let n = h * i;
            constructors.push(SynthClass {
                name: "(string)".into(),
                count: n,
                self_size: n * str_size,
                retained_size: n * str_size,
            });
        }
        if self.big_native > 0 {
            constructors.push(SynthClass {
                name: "BigBuffer".into(),
                count: 1,
                self_size: self.big_native,
                retained_size: self.big_native,
            });
        }
        constructors.retain(|k| k.count > 0);
        constructors.sort_by(|x, y| {
            y.retained_size
                .cmp(&x.retained_size)
                .then(y.self_size.cmp(&x.self_size))
                .then_with(|| x.name.cmp(&y.name))
        });
        let fixed_chars: u64 = FIXED.iter().map(|f| f.len() as u64).sum::<u64>()
            + (0..c).map(|k| format!("Item{k}").len() as u64).sum::<u64>();
        SynthExpected {
            node_count: 1 + self.big() + h * self.block(),
            edge_count: self.big() + h + h * i * (3 + s),
            total_size: h * per_holder + self.big_native,
            string_chars: fixed_chars + h * i * s * self.string_len as u64,
            constructors,
        }
    }

    /// Streams the snapshot's JSON to `w` (wrap it in a `BufWriter` and, for a `.gz`, a
    /// `flate2::write::GzEncoder`). Returns the bytes written.
    pub fn write(&self, w: impl Write) -> io::Result<u64> {
        let e = self.expected();
        let mut out = Out {
            w,
            n: 0,
            buf: itoa::Buffer::new(),
        };
        out.raw(br#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":["#)?;
        out.raw(NODE_TYPES.as_bytes())?;
        out.raw(br#","string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":["#)?;
        out.raw(EDGE_TYPES.as_bytes())?;
        out.raw(br#","string_or_number","node"],"trace_function_info_fields":["function_id","name","script_name","script_id","line","column"],"trace_node_fields":["id","function_info_index","count","size","children"],"sample_fields":["timestamp_us","last_assigned_id"],"location_fields":["object_index","script_id","line","column"]},"node_count":"#)?;
        out.num(e.node_count)?;
        out.raw(b",\"edge_count\":")?;
        out.num(e.edge_count)?;
        out.raw(b",\"trace_function_count\":0},\n\"nodes\":[")?;
        self.write_nodes(&mut out)?;
        out.raw(b"],\n\"edges\":[")?;
        self.write_edges(&mut out)?;
        out.raw(b"],\n\"trace_function_infos\":[],\n\"trace_tree\":[],\n\"samples\":[],\n\"locations\":[],\n\"strings\":[")?;
        self.write_strings(&mut out)?;
        out.raw(b"]}\n")?;
        out.w.flush()?;
        Ok(out.n)
    }

    /// Writes the snapshot to a new file at `path` (gzip level 1 when the name ends in
    /// `.gz`). Returns the bytes of JSON written.
    pub fn write_file(&self, path: &Path) -> Result<u64, AnalyzeError> {
        let io = |e: io::Error| AnalyzeError::from_io(e, None).with_path(path);
        let file = io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).map_err(io)?);
        if path.extension().is_some_and(|e| e == "gz") {
            let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
            let n = self.write(&mut gz).map_err(io)?;
            gz.finish().and_then(|mut f| f.flush()).map_err(io)?;
            Ok(n)
        } else {
            let mut file = file;
            self.write(&mut file).map_err(io)
        }
    }

    fn write_nodes<W: Write>(&self, out: &mut Out<W>) -> io::Result<()> {
        let mut ord = 0u64;
        let mut node =
            |out: &mut Out<W>, ty: u64, name: u64, size: u64, edges: u64| -> io::Result<()> {
                if ord > 0 {
                    out.raw(b",\n")?;
                }
                for (k, v) in [ty, name, self.id_base + 2 * ord, size, edges, 0, 0]
                    .into_iter()
                    .enumerate()
                {
                    if k > 0 {
                        out.raw(b",")?;
                    }
                    out.num(v)?;
                }
                ord += 1;
                Ok(())
            };
        node(out, T_SYNTHETIC, 0, 0, self.holders + self.big())?;
        if self.big_native > 0 {
            node(out, T_NATIVE, S_BIG, self.big_native, 0)?;
        }
        let (c, s) = (self.classes(), self.strings());
        let mut value = self.first_value_string();
        for _ in 0..self.holders {
            node(
                out,
                T_OBJECT,
                S_HOLDER,
                HOLDER_SIZE,
                self.items_per_holder as u64,
            )?;
            for j in 0..self.items_per_holder as u64 {
                node(
                    out,
                    T_OBJECT,
                    FIXED.len() as u64 + j % c,
                    Self::item_size(j % c),
                    2 + s,
                )?;
                if s == 1 {
                    node(out, T_STRING, value, self.string_size(), 0)?;
                    value += 1;
                }
            }
        }
        Ok(())
    }

    fn write_edges<W: Write>(&self, out: &mut Out<W>) -> io::Result<()> {
        let mut first = true;
        let mut edge = |out: &mut Out<W>, ty: u64, name: u64, to: u64| -> io::Result<()> {
            if !std::mem::take(&mut first) {
                out.raw(b",\n")?;
            }
            out.num(ty)?;
            out.raw(b",")?;
            out.num(name)?;
            out.raw(b",")?;
            out.num(to * NODE_FIELDS)
        };
        if self.big_native > 0 {
            edge(out, E_ELEMENT, 0, 1)?;
        }
        for h in 0..self.holders {
            edge(out, E_ELEMENT, self.big() + h, self.holder_ord(h))?;
        }
        for h in 0..self.holders {
            let holder = self.holder_ord(h);
            for j in 0..self.items_per_holder as u64 {
                edge(out, E_ELEMENT, j, self.item_ord(h, j))?;
            }
            for j in 0..self.items_per_holder as u64 {
                let item = self.item_ord(h, j);
                if self.string_len > 0 {
                    edge(out, E_PROPERTY, S_VALUE, item + 1)?;
                }
                edge(out, E_PROPERTY, S_OWNER, holder)?;
                edge(
                    out,
                    E_WEAK,
                    S_NEXT,
                    self.item_ord((h + 1) % self.holders, j),
                )?;
            }
        }
        Ok(())
    }

    fn write_strings<W: Write>(&self, out: &mut Out<W>) -> io::Result<()> {
        for (k, f) in FIXED.iter().enumerate() {
            if k > 0 {
                out.raw(b",\n")?;
            }
            out.raw(b"\"")?;
            out.raw(f.as_bytes())?;
            out.raw(b"\"")?;
        }
        for k in 0..self.classes() {
            out.raw(b",\n\"Item")?;
            out.num(k)?;
            out.raw(b"\"")?;
        }
        if self.string_len == 0 {
            return Ok(());
        }
        // Each value: its number in hex, then a fixed filler, cut to `string_len`.
        let mut value: Vec<u8> = (0..self.string_len)
            .map(|i| b'a' + (i % 26) as u8)
            .collect();
        for n in 0..self.holders * self.items_per_holder as u64 {
            let hex = format!("{n:016x}");
            let k = hex.len().min(value.len());
            value[..k].copy_from_slice(&hex.as_bytes()[hex.len() - k..]);
            out.raw(b",\n\"")?;
            out.raw(&value)?;
            out.raw(b"\"")?;
        }
        Ok(())
    }
}

/// Counts bytes; numbers through `itoa` (formatting dominates the generator's time).
struct Out<W> {
    w: W,
    n: u64,
    buf: itoa::Buffer,
}

impl<W: Write> Out<W> {
    #[inline]
    fn raw(&mut self, b: &[u8]) -> io::Result<()> {
        self.n += b.len() as u64;
        self.w.write_all(b)
    }
    #[inline]
    fn num(&mut self, v: u64) -> io::Result<()> {
        let s = self.buf.format(v);
        self.n += s.len() as u64;
        self.w.write_all(s.as_bytes())
    }
}
