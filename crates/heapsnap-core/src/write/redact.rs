//! Redacted snapshots (`redact: true`): the values the program handled are replaced by
//! placeholders, the names a leak hunt needs stay.
//!
//! The rule, decided from the snapshot's own `meta` (field positions and type names, never
//! fixed offsets):
//!
//! * A node's `name` is a **value** when the node's type is one of [`VALUE_NODE_TYPES`]: the
//!   content of a `string` (`concatenated string` and `sliced string` nodes are named by V8's
//!   fixed labels; their text is in the `string` nodes they point to), the source of a
//!   `regexp`, the value of a `number` or `bigint` (recorded with `numericValues`).
//! * Every other reference to the strings table is a **label**: the names of all other nodes
//!   (classes and constructors, functions, code and scripts, V8 and Node internals), the names
//!   of edges (property, context, shortcut, internal, weak...: every edge type but `element`
//!   and `hidden`, whose `name_or_index` is an index), and the `name` / `script_name` of
//!   allocation traces (`trace_function_infos`).
//! * The table is shared: one entry may be both, e.g. a string value `"id"` and a property
//!   named `id`. An entry is replaced only when it is used as a value and never as a label;
//!   entries used by nothing stay (V8 writes none but its `<dummy>`).
//! * A replaced entry reads `<redacted N chars>`, N being its length in UTF-16 code units as
//!   the snapshot held it (V8 keeps at most the first 1024 characters of a string; the node's
//!   `self_size` still tells its real size); an empty string stays empty.
//!
//! Nothing else changes: node ids, self sizes, edges, locations, the whole graph. A snapshot
//! redacted here summarizes exactly like the plain one, since no class is named after a value.
//!
//! Streaming: V8 writes `snapshot` (with `meta`), `nodes`, `edges`, the allocation sections,
//! `locations`, and the `strings` table last. While everything before the table passes
//! through byte for byte, two bits per table entry record how it is used; the table is then
//! rewritten as it streams. Memory: those bits and the scanner's current chunk, never the
//! file. Input whose `strings` come before its `nodes` or `edges` cannot be redacted that way
//! and is an error: nothing is ever written unredacted.

use crate::format::header::{read_header, EdgeRole, Layout, NodeRole};
use crate::format::scanner::{self, NumSink, ScanError, Scanner, Source};

/// Node types whose name is a value the program handled.
pub const VALUE_NODE_TYPES: &[&str] = &["string", "concatenated string", "sliced string", "regexp", "number", "bigint"];

/// Edge types whose `name_or_index` is an index, not a string.
const INDEX_EDGE_TYPES: &[&str] = &["element", "hidden"];

/// What a redacting pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Redaction {
    /// Entries in the strings table.
    pub strings: u64,
    /// Entries replaced by a placeholder.
    pub redacted: u64,
}

const VALUE: u8 = 1;
const LABEL: u8 = 2;

/// Two bits per entry of the strings table: used as a value, used as a label. Grows with the
/// largest index seen, i.e. with the table, not with the file.
#[derive(Default)]
struct Uses(Vec<u64>);

impl Uses {
    fn mark(&mut self, index: u32, uses: u8) {
        let word = index as usize / 32;
        if word >= self.0.len() {
            self.0.resize(word + 1, 0);
        }
        self.0[word] |= (uses as u64) << ((index % 32) * 2);
    }

    /// Used as a value and never as a label.
    fn redacts(&self, index: u64) -> bool {
        let word = self.0.get((index / 32) as usize).copied().unwrap_or(0);
        (word >> ((index % 32) * 2)) & 3 == VALUE as u64
    }
}

/// Hands every whole record of `width` numbers to `each`, across batch boundaries.
struct Records<F> {
    width: usize,
    partial: Vec<u32>,
    each: F,
}

impl<F: FnMut(&[u32]) -> Result<(), String>> Records<F> {
    fn new(width: usize, each: F) -> Self {
        Records { width, partial: Vec::with_capacity(width), each }
    }
}

impl<F: FnMut(&[u32]) -> Result<(), String>> NumSink for Records<F> {
    fn take(&mut self, nums: &[u32]) -> Result<(), (usize, String)> {
        let mut i = 0;
        if !self.partial.is_empty() {
            let need = (self.width - self.partial.len()).min(nums.len());
            self.partial.extend_from_slice(&nums[..need]);
            i = need;
            if self.partial.len() < self.width {
                return Ok(());
            }
            (self.each)(&self.partial).map_err(|m| (i - 1, m))?;
            self.partial.clear();
        }
        let whole = (nums.len() - i) / self.width * self.width;
        for (k, record) in nums[i..i + whole].chunks_exact(self.width).enumerate() {
            (self.each)(record).map_err(|m| (i + k * self.width, m))?;
        }
        self.partial.extend_from_slice(&nums[i + whole..]);
        Ok(())
    }
}

/// Reads one array of records (after whitespace), handing each to `each`.
fn records<S: Source>(
    sc: &mut Scanner<S>,
    what: &str,
    width: usize,
    each: impl FnMut(&[u32]) -> Result<(), String>,
) -> scanner::Result<()> {
    let mut sink = Records::new(width, each);
    sc.u32_array(&mut sink)?;
    if !sink.partial.is_empty() {
        return sc.corrupt(format!("\"{what}\" length is not a multiple of its field count {width}"));
    }
    Ok(())
}

/// How each type's references are used: per node type, per edge type (0: an index).
fn uses_by_type(names: &[String], listed: &[&str], listed_use: u8, other_use: u8) -> Vec<u8> {
    names.iter().map(|t| if listed.contains(&t.as_str()) { listed_use } else { other_use }).collect()
}

/// Copies a snapshot from `src` to `src`'s [`Source::echo`], its string values redacted
/// (see the module docs for the rule).
pub(crate) fn redact<S: Source>(src: S) -> scanner::Result<Redaction> {
    let mut sc = Scanner::new(src);
    sc.set_echo(true)?;
    let mut layout: Option<Layout> = None;
    let mut trace_names: Vec<usize> = Vec::new();
    let mut trace_width = 0;
    let mut uses = Uses::default();
    let (mut seen_nodes, mut seen_edges, mut seen_strings) = (false, false, false);
    let mut done = Redaction::default();
    sc.sections(|sc, key| {
        match key {
            b"snapshot" => {
                if layout.is_some() {
                    return sc.corrupt("duplicate \"snapshot\" section");
                }
                let (header, l) = read_header(sc)?;
                if let Some(fields) = &header.meta.trace_function_info_fields {
                    trace_width = fields.len();
                    trace_names = ["name", "script_name"]
                        .iter()
                        .filter_map(|name| fields.iter().position(|f| f == name))
                        .collect();
                }
                layout = Some(l);
            }
            b"nodes" | b"edges" => {
                let Some(l) = &layout else {
                    return sc.corrupt("cannot redact: \"nodes\" or \"edges\" before the \"snapshot\" meta");
                };
                if seen_strings {
                    return sc.corrupt("cannot redact: \"nodes\" or \"edges\" after \"strings\"");
                }
                if key == b"nodes" {
                    seen_nodes = true;
                    let (ty, name) = (l.node_field(NodeRole::Type), l.node_field(NodeRole::Name));
                    let (ty, name) = (ty.expect("required"), name.expect("required"));
                    let node_uses = uses_by_type(&l.node_type_names, VALUE_NODE_TYPES, VALUE, LABEL);
                    records(sc, "nodes", l.node_roles.len(), |r| {
                        let u = node_uses.get(r[ty] as usize).ok_or_else(|| format!("node type {} out of range", r[ty]))?;
                        uses.mark(r[name], *u);
                        Ok(())
                    })?;
                } else {
                    seen_edges = true;
                    let (ty, name) = (l.edge_field(EdgeRole::Type), l.edge_field(EdgeRole::Name));
                    let (ty, name) = (ty.expect("required"), name.expect("required"));
                    let edge_uses = uses_by_type(&l.edge_type_names, INDEX_EDGE_TYPES, 0, LABEL);
                    records(sc, "edges", l.edge_roles.len(), |r| {
                        let u = edge_uses.get(r[ty] as usize).ok_or_else(|| format!("edge type {} out of range", r[ty]))?;
                        if *u != 0 {
                            uses.mark(r[name], *u);
                        }
                        Ok(())
                    })?;
                }
            }
            b"trace_function_infos" if trace_width > 0 && !trace_names.is_empty() && !seen_strings => {
                records(sc, "trace_function_infos", trace_width, |r| {
                    for &i in &trace_names {
                        uses.mark(r[i], LABEL);
                    }
                    Ok(())
                })?;
            }
            b"strings" => {
                if !seen_nodes || !seen_edges {
                    return sc.corrupt("cannot redact: \"strings\" comes before \"nodes\" and \"edges\"");
                }
                seen_strings = true;
                strings(sc, &uses, &mut done)?;
            }
            _ => sc.skip_value()?,
        }
        Ok(())
    })?;
    sc.set_echo(false)?;
    Ok(done)
}

/// The strings table (after whitespace): entries to redact become placeholders, the others
/// pass through as they are.
fn strings<S: Source>(sc: &mut Scanner<S>, uses: &Uses, done: &mut Redaction) -> scanner::Result<()> {
    sc.expect(b'[', "an array of strings")?;
    if sc.peek_token()? == Some(b']') {
        return sc.expect(b']', "`]`");
    }
    loop {
        let index = done.strings;
        done.strings += 1;
        if uses.redacts(index) {
            sc.peek_token()?;
            sc.set_echo(false)?;
            sc.expect(b'"', "a string")?;
            let units = sc.string_units()?;
            let at = sc.offset();
            let text = if units == 0 { "\"\"".to_string() } else { format!("\"<redacted {units} chars>\"") };
            sc.source_mut().echo(text.as_bytes()).map_err(|e| ScanError::Io(e, at))?;
            sc.set_echo(true)?;
            done.redacted += (units > 0) as u64;
        } else {
            sc.expect(b'"', "a string")?;
            sc.string_body(None)?;
        }
        match sc.peek_token()? {
            Some(b',') => sc.expect(b',', "`,`")?,
            Some(b']') => return sc.expect(b']', "`]`"),
            Some(_) => return sc.corrupt("expected `,` or `]` in \"strings\""),
            None => return sc.corrupt("truncated: EOF while parsing an array"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::tests::robust::real_snapshot;
    use crate::read::tests::{ascii_escaped, Snap};
    use crate::read::{read_snapshot_from, HeapGraph};
    use crate::format::scanner::Pieces;
    use crate::write::sink::tests::decode;
    use crate::write::sink::{Compression, SinkOptions, SnapshotSink};
    use serde_json::Value;
    use std::io;

    /// A source that hands out the given chunks, collecting what the redactor writes.
    struct Collect<S> {
        input: S,
        out: Vec<u8>,
    }

    impl<S: Source> Source for Collect<S> {
        fn next_chunk(&mut self, old: Vec<u8>) -> io::Result<Vec<u8>> {
            self.input.next_chunk(old)
        }
        fn echo(&mut self, bytes: &[u8]) -> io::Result<()> {
            self.out.extend_from_slice(bytes);
            Ok(())
        }
    }

    /// Two chunks, cut at `at` (which must not be 0: an empty chunk is the end).
    struct Cut<'a>(&'a [u8], usize);

    impl Source for Cut<'_> {
        fn next_chunk(&mut self, mut old: Vec<u8>) -> io::Result<Vec<u8>> {
            let n = self.1.min(self.0.len());
            old.clear();
            old.extend_from_slice(&self.0[..n]);
            (self.0, self.1) = (&self.0[n..], usize::MAX);
            Ok(old)
        }
    }

    fn run(input: impl Source) -> Result<(String, Redaction), String> {
        let mut src = Collect { input, out: Vec::new() };
        match redact(&mut src) {
            Ok(done) => Ok((String::from_utf8(src.out).expect("ASCII in, ASCII out"), done)),
            Err(ScanError::Corrupt(m, at)) => Err(format!("{m} at {at}")),
            Err(ScanError::Io(e, at)) => Err(format!("{e} at {at}")),
        }
    }

    fn redacted(json: &str) -> String {
        run(Pieces::new(json.as_bytes(), 1 << 20)).unwrap().0
    }

    fn strings_of(json: &str) -> Vec<String> {
        let v: Value = serde_json::from_str(json).unwrap();
        v["strings"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
    }

    /// The sections of `json` in the order V8 writes them (serde_json sorts them by name).
    fn v8_order(v: &Value) -> String {
        let order = ["snapshot", "nodes", "edges", "trace_function_infos", "trace_tree", "samples", "locations", "strings"];
        let sections: Vec<String> = order.iter().map(|k| format!("\"{k}\":{}", v[k])).collect();
        format!("{{{}}}", sections.join(","))
    }

    /// A heap with every kind of name: values (alone, shared with a property name, empty,
    /// with escapes and non-ASCII), class, function, variable, code and internal names.
    fn sample() -> String {
        v8_order(&serde_json::from_str(&sample_snap().json()).unwrap())
    }

    fn sample_snap() -> Snap {
        let (mut s, g, _) = Snap::with_global();
        let session = s.node("object", "Session", 11, 32);
        s.edge(g, "property", "session", session);
        // Properties of the session: (node type, name, property). "id" is a value that is
        // also a property name: the entry stays.
        let children = [
            ("string", "tok-8f2c1e", "token"),
            ("string", "id", "id"),
            ("string", "", "empty"),
            ("string", "q\"uote\\ caf\u{e9} \u{1F600}\n", "odd"),
            ("concatenated string", "(concatenated string)", "joined"),
            ("regexp", "^tok-\\w+$", "pattern"),
            ("number", "4111111111111111", "card"),
            ("array", "(object elements)", "elements"),
        ];
        let mut next_id = 11;
        let [token, id, _, odd, cons, _, _, arr] = children.map(|(ty, name, property)| {
            next_id += 1;
            let n = s.node(ty, name, next_id, 32);
            s.edge(session, "property", property, n);
            n
        });
        s.edge(cons, "internal", "first", token);
        s.edge(cons, "internal", "second", id);
        s.edge(arr, "element", 0, token);
        s.edge(arr, "hidden", 1, odd);
        let f = s.node("closure", "handleRequest", 30, 32);
        s.edge(g, "property", "handler", f);
        let ctx = s.node("hidden", "system / Context", 31, 40);
        s.edge(f, "internal", "context", ctx);
        s.edge(ctx, "context", "apiKey", token);
        let code = s.node("code", "(code for handleRequest)", 32, 100);
        s.edge(f, "internal", "code", code);
        s
    }

    #[test]
    fn values_go_names_stay() {
        let json = sample();
        let (out, done) = run(Pieces::new(json.as_bytes(), 1 << 20)).unwrap();
        let before = strings_of(&json);
        let after = strings_of(&out);
        assert_eq!(before.len(), after.len());
        let pairs: Vec<(&str, &str)> = before.iter().map(String::as_str).zip(after.iter().map(String::as_str)).collect();
        for (from, to) in [
            ("tok-8f2c1e", "<redacted 10 chars>"),
            // JS length: 16, the emoji counting 2 (a surrogate pair).
            ("q\"uote\\ caf\u{e9} \u{1F600}\n", "<redacted 16 chars>"),
            ("(concatenated string)", "<redacted 21 chars>"),
            ("^tok-\\w+$", "<redacted 9 chars>"),
            ("4111111111111111", "<redacted 16 chars>"),
        ] {
            assert!(pairs.contains(&(from, to)), "{from:?} -> {to:?} in {pairs:?}");
        }
        for kept in [
            "id", "", "Session", "session", "token", "handleRequest", "apiKey", "system / Context",
            "(code for handleRequest)", "(object elements)", "first", "global",
        ] {
            assert!(pairs.contains(&(kept, kept)), "{kept:?} kept in {pairs:?}");
        }
        assert_eq!(done, Redaction { strings: before.len() as u64, redacted: 5 });
        // Everything but the strings table is byte for byte the same.
        let cut = |s: &str| s[..s.find("\"strings\":").unwrap()].to_string();
        assert_eq!(cut(&out), cut(&json));
    }

    /// Summary, node names by type, edges: what a redacted snapshot must share with the
    /// plain one, values aside.
    fn shape(g: &HeapGraph) -> String {
        let mut s = serde_json::to_string(&g.summary()).unwrap();
        for o in 0..g.node_count() as u32 {
            let value = VALUE_NODE_TYPES.contains(&g.node_type_name(o));
            let name = if value { "(value)" } else { g.node_name(o) };
            s += &format!("\n{} {} {} {} {}", g.node_id(o), g.node_type_name(o), name, g.self_size(o), g.retained_size(o));
        }
        for e in 0..g.edge_count() {
            s += &format!("\n{} {} {}", g.edge_type_name(e), g.edge_name(e), g.edge_to(e));
        }
        s
    }

    #[test]
    fn real_snapshot_keeps_its_shape_and_loses_its_values() {
        let plain = real_snapshot();
        let (out, done) = run(Pieces::new(&plain, 65_537)).unwrap();
        let a = read_snapshot_from(plain.as_slice()).unwrap();
        let b = read_snapshot_from(out.as_bytes()).unwrap();
        assert_eq!(shape(&b), shape(&a));
        assert!(done.redacted > 100, "{done:?}");
        // Exactly the value-only entries changed, each into its placeholder.
        let mut label = vec![false; a.strings.len()];
        let mut value = vec![false; a.strings.len()];
        for o in 0..a.node_count() as u32 {
            let i = a.node_name.get(o as usize) as usize;
            if VALUE_NODE_TYPES.contains(&a.node_type_name(o)) {
                value[i] = true;
            } else {
                label[i] = true;
            }
        }
        for e in 0..a.edge_count() {
            if !INDEX_EDGE_TYPES.contains(&a.edge_type_name(e)) {
                label[a.edge_name_index(e) as usize] = true;
            }
        }
        let (before, after) = (strings_of(std::str::from_utf8(&plain).unwrap()), strings_of(&out));
        for (i, (x, y)) in before.iter().zip(&after).enumerate() {
            if value[i] && !label[i] && !x.is_empty() {
                assert_eq!(*y, format!("<redacted {} chars>", x.encode_utf16().count()), "entry {i}");
            } else {
                assert_eq!(x, y, "entry {i}");
            }
        }
    }

    #[test]
    fn any_chunking_gives_the_same_output() {
        let json = sample();
        let want = redacted(&json);
        // V8 writes non-ASCII as \u escapes; JSON allows whitespace between tokens.
        let escaped = ascii_escaped(&json);
        let spaced = json.replace(',', " ,\n\t").replace(':', "\r\n: ").replace('[', "[ ").replace(']', " ]");
        for text in [&json, &escaped, &spaced] {
            let whole = redacted(text);
            assert_eq!(strings_of(&whole), strings_of(&want));
            for at in 1..text.len() {
                assert_eq!(run(Cut(text.as_bytes(), at)).unwrap().0, whole, "cut at {at}");
            }
            for chunk in 1..=7 {
                assert_eq!(run(Pieces::new(text.as_bytes(), chunk)).unwrap().0, whole, "chunks of {chunk}");
            }
        }
    }

    #[test]
    fn allocation_trace_names_are_labels() {
        let mut v: Value = serde_json::from_str(&sample()).unwrap();
        let strings = strings_of(&v.to_string());
        let at = |s: &str| strings.iter().position(|x| x == s).unwrap();
        // function_id, name, script_name, script_id, line, column: a function named like the
        // token value, in a script named like the regexp source.
        v["trace_function_infos"] = serde_json::json!([1, at("tok-8f2c1e"), at("^tok-\\w+$"), 7, 1, 1]);
        let out = strings_of(&redacted(&v8_order(&v)));
        assert_eq!(out[at("tok-8f2c1e")], "tok-8f2c1e");
        assert_eq!(out[at("^tok-\\w+$")], "^tok-\\w+$");
        assert_eq!(out[at("4111111111111111")], "<redacted 16 chars>");
    }

    #[test]
    fn what_cannot_be_redacted_is_an_error() {
        let json = sample();
        let v: Value = serde_json::from_str(&json).unwrap();
        let section = |k: &str| format!("\"{k}\":{}", v[k]);
        let reordered = format!(
            "{{{},{},{},{}}}",
            section("snapshot"),
            section("strings"),
            section("nodes"),
            section("edges")
        );
        let no_meta = format!("{{{},{},{}}}", section("nodes"), section("edges"), section("strings"));
        let odd_nodes = json.replacen("\"nodes\":[", "\"nodes\":[0,", 1);
        // The root is `synthetic`, type 9.
        let bad_type = json.replacen("\"nodes\":[9,", "\"nodes\":[99,", 1);
        for (text, want) in [
            (reordered.as_str(), "\"strings\" comes before"),
            (no_meta.as_str(), "before the \"snapshot\" meta"),
            (odd_nodes.as_str(), "not a multiple"),
            (bad_type.as_str(), "out of range"),
            (&json[..json.len() - 10], "truncated"),
            ("", "truncated"),
            ("[1,2]", "expected a heap snapshot object"),
            (&format!("{json} x"), "trailing characters"),
        ] {
            let err = run(Pieces::new(text.as_bytes(), 3)).unwrap_err();
            assert!(err.contains(want), "{want:?} in {err:?}");
        }
    }

    #[test]
    fn sink_redacts_on_its_writer_thread() {
        let plain = real_snapshot();
        let want = redacted(std::str::from_utf8(&plain).unwrap());
        let dir = tempfile::tempdir().unwrap();
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let target = dir.path().join(format!("r.heapsnapshot{}", compression.extension()));
            // Small buffers and a short queue: many chunks, and the redactor holds one.
            let opts = SinkOptions { compression, chunk_size: 4096, queue_depth: 2, redact: true, ..SinkOptions::default() };
            let mut sink = SnapshotSink::create(&target, opts).unwrap();
            for piece in plain.chunks(1000) {
                sink.write(piece).unwrap();
            }
            let stats = sink.finish().unwrap();
            assert!(stats.redacted);
            assert_eq!(stats.raw_bytes, want.len() as u64);
            assert_eq!(decode(&target, compression), want.as_bytes(), "{compression}");
        }
    }

    #[test]
    fn sink_refuses_what_it_cannot_redact() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("r.heapsnapshot");
        let opts = SinkOptions { redact: true, ..SinkOptions::default() };
        let mut sink = SnapshotSink::create(&target, opts).unwrap();
        sink.write(b"{\"strings\":[\"secret\"]}").unwrap();
        let err = sink.finish().unwrap_err();
        assert_eq!(err.code(), crate::write::error::IO);
        assert!(err.to_string().contains("cannot redact the snapshot"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no file, no temp file");
    }
}
