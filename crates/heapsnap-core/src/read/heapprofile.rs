//! Sampling heap profiles (`.heapprofile`, the JSON that `node --heap-prof` and Chrome DevTools
//! write and load): the model the writer fills from V8's allocation profile, its JSON form,
//! a reader (plain, gzip or zstd, like snapshots), and the analyses behind `heapsnap top` and
//! `heapsnap diff A.heapprofile B.heapprofile`.
//!
//! The file format, as Node writes it:
//! `{ "head": { "callFrame": { "functionName", "scriptId" (a string), "url", "lineNumber",
//! "columnNumber" }, "selfSize", "id", "children": [...] }, "samples": [{ "size", "nodeId",
//! "ordinal" }] }`, line and column 0-based, -1 when unknown. V8 attributes the allocations of
//! an inlined function to its optimized caller, so a site is where the sample was taken, not
//! necessarily the innermost function in the source.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::path::Path;

use serde::Deserialize;

use crate::read::AnalyzeError;

/// Nesting (objects and arrays) a profile may have: V8's stack depth times three, with room.
/// Deeper input is refused rather than risking the parser's stack.
const MAX_NESTING: usize = 16_384;

/// Where a sampled allocation happened: one JS function (or a V8 pseudo-frame like `(root)`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CallFrame {
    pub function_name: String,
    pub script_id: i64,
    pub url: String,
    /// 0-based, -1 when unknown (the file's convention).
    pub line_number: i64,
    /// 0-based, -1 when unknown.
    pub column_number: i64,
}

/// One node of the allocation call tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileNode {
    pub id: u32,
    /// Index of the parent in [`HeapProfile::nodes`]; `None` for the root (index 0).
    pub parent: Option<usize>,
    pub frame: CallFrame,
    /// Bytes of sampled allocations still alive that this frame itself made.
    pub self_size: u64,
}

/// One sampled allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub node_id: u32,
    pub size: u64,
    pub ordinal: u64,
}

/// A whole profile: nodes parent-first (the root at index 0), then the samples.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeapProfile {
    pub nodes: Vec<ProfileNode>,
    pub samples: Vec<Sample>,
    index: HashMap<u32, usize>,
}

impl HeapProfile {
    /// Adds a node; its parent (by id, 0 for the root) must already be there. Returns false
    /// (and adds nothing) for an unknown parent or a repeated id.
    pub fn push_node(&mut self, id: u32, parent_id: u32, frame: CallFrame, self_size: u64) -> bool {
        let parent = if self.nodes.is_empty() {
            None
        } else {
            match self.index.get(&parent_id) {
                Some(&p) => Some(p),
                None => return false,
            }
        };
        if self.index.contains_key(&id) {
            return false;
        }
        self.index.insert(id, self.nodes.len());
        self.nodes.push(ProfileNode { id, parent, frame, self_size });
        true
    }

    pub fn push_sample(&mut self, sample: Sample) {
        self.samples.push(sample);
    }

    /// Bytes of all sampled allocations still alive.
    pub fn total_size(&self) -> u64 {
        self.nodes.iter().map(|n| n.self_size).sum()
    }

    fn children(&self) -> Vec<Vec<usize>> {
        let mut children = vec![Vec::new(); self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(p) = n.parent {
                children[p].push(i);
            }
        }
        children
    }

    /// Writes the profile as `.heapprofile` JSON (what DevTools loads).
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut w = io::BufWriter::with_capacity(64 * 1024, out);
        w.write_all(b"{\"head\":")?;
        if self.nodes.is_empty() {
            let root = CallFrame { function_name: "(root)".into(), line_number: -1, column_number: -1, ..CallFrame::default() };
            write_node_open(&mut w, &root, 0, 1)?;
            w.write_all(b"]}")?;
        } else {
            let children = self.children();
            // Iterative depth-first walk: (node, next child position).
            let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
            let n = &self.nodes[0];
            write_node_open(&mut w, &n.frame, n.self_size, n.id)?;
            while let Some(top) = stack.last_mut() {
                let (node, pos) = *top;
                if pos < children[node].len() {
                    top.1 += 1;
                    if pos > 0 {
                        w.write_all(b",")?;
                    }
                    let child = children[node][pos];
                    let c = &self.nodes[child];
                    write_node_open(&mut w, &c.frame, c.self_size, c.id)?;
                    stack.push((child, 0));
                } else {
                    w.write_all(b"]}")?;
                    stack.pop();
                }
            }
        }
        w.write_all(b",\"samples\":[")?;
        for (i, s) in self.samples.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            write!(w, "{{\"size\":{},\"nodeId\":{},\"ordinal\":{}}}", s.size, s.node_id, s.ordinal)?;
        }
        w.write_all(b"]}")?;
        w.flush()
    }

    /// Reads a `.heapprofile` (plain, gzip or zstd; sniffed from the bytes).
    pub fn read(path: &Path) -> Result<HeapProfile, AnalyzeError> {
        let file = std::fs::File::open(path).map_err(|e| AnalyzeError::from_io(e, None).with_path(path))?;
        Self::read_from(file).map_err(|e| e.with_path(path))
    }

    /// Reads a profile from any byte stream (plain, gzip or zstd).
    pub fn read_from(reader: impl Read) -> Result<HeapProfile, AnalyzeError> {
        let (mut decoded, _) = crate::read::parser::sniff(reader)?;
        let mut bytes = Vec::new();
        decoded.read_to_end(&mut bytes).map_err(|e| AnalyzeError::from_io(e, None))?;
        Self::parse(&bytes)
    }

    /// Parses `.heapprofile` JSON.
    pub fn parse(bytes: &[u8]) -> Result<HeapProfile, AnalyzeError> {
        check_nesting(bytes)?;
        // The call tree nests deeply: parse on a thread with a stack to match.
        let parsed = std::thread::scope(|s| {
            std::thread::Builder::new()
                .stack_size(256 << 20)
                .spawn_scoped(s, || {
                    let mut de = serde_json::Deserializer::from_slice(bytes);
                    de.disable_recursion_limit();
                    let raw = RawProfile::deserialize(&mut de)?;
                    de.end()?;
                    Ok::<_, serde_json::Error>(raw)
                })
                .map(|h| h.join())
        });
        let raw = match parsed {
            Ok(Ok(Ok(raw))) => raw,
            Ok(Ok(Err(e))) => return Err(json_error(bytes, e)),
            _ => return Err(AnalyzeError::corrupt("cannot parse heap profile (parser thread failed)", None)),
        };
        let mut profile = HeapProfile::default();
        let mut stack: Vec<(u32, RawNode)> = vec![(0, raw.head)];
        while let Some((parent_id, node)) = stack.pop() {
            let RawNode { call_frame, self_size, id, children } = node;
            let frame = CallFrame {
                function_name: call_frame.function_name,
                script_id: call_frame.script_id.0,
                url: call_frame.url,
                line_number: call_frame.line_number,
                column_number: call_frame.column_number,
            };
            if !profile.push_node(id, parent_id, frame, self_size) {
                return Err(AnalyzeError::corrupt(format!("heap profile: node id {id} is repeated"), None));
            }
            stack.extend(children.into_iter().rev().map(|c| (id, c)));
        }
        profile.samples = raw.samples.into_iter().map(|s| Sample { node_id: s.node_id, size: s.size, ordinal: s.ordinal }).collect();
        Ok(profile)
    }

    /// Allocation sites (one per distinct call frame), by self size then total size.
    /// `total_size` counts a subtree once even where the frame recurses.
    pub fn sites(&self) -> Vec<Site> {
        let children = self.children();
        let mut by_frame: HashMap<&CallFrame, usize> = HashMap::new();
        let mut sites: Vec<Site> = Vec::new();
        let mut samples_by_node: HashMap<u32, u64> = HashMap::new();
        for s in &self.samples {
            *samples_by_node.entry(s.node_id).or_default() += 1;
        }
        // Subtree sizes and samples, children after parents in `nodes`, so sum backwards.
        let mut subtree: Vec<u64> = self.nodes.iter().map(|n| n.self_size).collect();
        let node_samples: Vec<u64> = self.nodes.iter().map(|n| samples_by_node.get(&n.id).copied().unwrap_or(0)).collect();
        let mut subtree_samples = node_samples.clone();
        for i in (1..self.nodes.len()).rev() {
            if let Some(p) = self.nodes[i].parent {
                subtree[p] += subtree[i];
                subtree_samples[p] += subtree_samples[i];
            }
        }
        // Depth-first, with the frames on the path, so recursion counts once.
        let mut on_path: HashSet<&CallFrame> = HashSet::new();
        let mut stack: Vec<(usize, bool)> = if self.nodes.is_empty() { vec![] } else { vec![(0, false)] };
        while let Some((i, leaving)) = stack.pop() {
            let n = &self.nodes[i];
            if leaving {
                on_path.remove(&n.frame);
                continue;
            }
            let slot = *by_frame.entry(&n.frame).or_insert_with(|| {
                sites.push(Site::new(&n.frame));
                sites.len() - 1
            });
            let site = &mut sites[slot];
            site.self_size += n.self_size;
            site.samples += node_samples[i];
            if on_path.insert(&n.frame) {
                site.total_size += subtree[i];
                site.total_samples += subtree_samples[i];
                stack.push((i, true));
            }
            stack.extend(children[i].iter().map(|&c| (c, false)));
        }
        sites.retain(|s| s.total_size > 0 && s.function_name != "(root)");
        sites.sort_by(|a, b| b.self_size.cmp(&a.self_size).then(b.total_size.cmp(&a.total_size)).then_with(|| a.key().cmp(&b.key())));
        sites
    }
}

/// One allocation site: a function at a place in a script, summed over the call tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub function_name: String,
    pub url: String,
    /// 1-based, `None` when V8 did not know.
    pub line: Option<u32>,
    /// 1-based, `None` when V8 did not know.
    pub column: Option<u32>,
    /// Bytes allocated by this function itself and still alive (sampled).
    pub self_size: u64,
    /// Bytes allocated by it and everything it called, still alive.
    pub total_size: u64,
    /// Samples taken in this function itself.
    pub samples: u64,
    /// Samples taken in it and everything it called.
    pub total_samples: u64,
}

fn one_based(n: i64) -> Option<u32> {
    (n >= 0).then(|| u32::try_from(n + 1).unwrap_or(u32::MAX))
}

impl Site {
    fn new(f: &CallFrame) -> Site {
        Site {
            function_name: f.function_name.clone(),
            url: f.url.clone(),
            line: one_based(f.line_number),
            column: one_based(f.column_number),
            self_size: 0,
            total_size: 0,
            samples: 0,
            total_samples: 0,
        }
    }

    fn key(&self) -> (String, String, Option<u32>, Option<u32>) {
        (self.function_name.clone(), self.url.clone(), self.line, self.column)
    }
}

/// A site that changed between two profiles of one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteDiff {
    pub function_name: String,
    pub url: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub self_delta: i64,
    pub total_delta: i64,
    pub self_size: u64,
    pub total_size: u64,
}

/// Whether `b` samples against `a` are growth rather than sampling noise. Samples are a
/// Poisson process (one per `interval` bytes on average), so the difference of two counts
/// varies by about sqrt(a + b): growth must exceed two of those (one stray survivor, 1 vs 0,
/// is not growth; 0 vs 5 is).
fn grew_beyond_noise(a: u64, b: u64) -> bool {
    b > a && (b - a).pow(2) > 4 * (a + b)
}

/// Sites whose live bytes grew from `a` to `b` (by self size, then total), largest growth first.
/// Sites match by function name, url, line and column (script ids differ between processes).
/// With samples in both files (V8 and Node write them), growth within sampling noise is left
/// out (see `grew_beyond_noise`); without, every byte of growth counts.
pub fn diff_sites(a: &HeapProfile, b: &HeapProfile) -> Vec<SiteDiff> {
    // A profile with live bytes but no samples is from a writer that left them out.
    let sampled = [a, b].iter().all(|p| !p.samples.is_empty() || p.total_size() == 0);
    let before: HashMap<_, _> = a.sites().into_iter().map(|s| (s.key(), s)).collect();
    let mut out: Vec<SiteDiff> = b
        .sites()
        .into_iter()
        .filter(|s| {
            let (old_self, old_total) = before.get(&s.key()).map_or((0, 0), |o| (o.samples, o.total_samples));
            !sampled || grew_beyond_noise(old_self, s.samples) || grew_beyond_noise(old_total, s.total_samples)
        })
        .map(|s| {
            let (old_self, old_total) = before.get(&s.key()).map_or((0, 0), |o| (o.self_size, o.total_size));
            SiteDiff {
                self_delta: s.self_size as i64 - old_self as i64,
                total_delta: s.total_size as i64 - old_total as i64,
                function_name: s.function_name,
                url: s.url,
                line: s.line,
                column: s.column,
                self_size: s.self_size,
                total_size: s.total_size,
            }
        })
        .filter(|d| d.self_delta > 0 || d.total_delta > 0)
        .collect();
    out.sort_by(|x, y| y.self_delta.cmp(&x.self_delta).then(y.total_delta.cmp(&x.total_delta)));
    out
}

fn write_node_open(w: &mut impl Write, f: &CallFrame, self_size: u64, id: u32) -> io::Result<()> {
    w.write_all(b"{\"callFrame\":{\"functionName\":")?;
    serde_json::to_writer(&mut *w, &f.function_name)?;
    write!(w, ",\"scriptId\":\"{}\",\"url\":", f.script_id)?;
    serde_json::to_writer(&mut *w, &f.url)?;
    write!(
        w,
        ",\"lineNumber\":{},\"columnNumber\":{}}},\"selfSize\":{},\"id\":{},\"children\":[",
        f.line_number, f.column_number, self_size, id
    )
}

fn json_error(bytes: &[u8], e: serde_json::Error) -> AnalyzeError {
    // Line and column to a byte offset, for the same `(at byte N)` as snapshots.
    let offset = (e.line() > 0).then(|| {
        let line_start: usize = bytes.split(|&b| b == b'\n').take(e.line() - 1).map(|l| l.len() + 1).sum();
        (line_start + e.column().saturating_sub(1)) as u64
    });
    AnalyzeError::corrupt(format!("not a heap profile: {e}"), offset)
}

/// Refuses JSON nested deeper than [`MAX_NESTING`] before the recursive parser sees it.
fn check_nesting(bytes: &[u8]) -> Result<(), AnalyzeError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(AnalyzeError::corrupt(format!("heap profile nested deeper than {MAX_NESTING} levels"), Some(i as u64)));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct RawProfile {
    head: RawNode,
    #[serde(default)]
    samples: Vec<RawSample>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNode {
    call_frame: RawFrame,
    #[serde(default)]
    self_size: u64,
    id: u32,
    #[serde(default)]
    children: Vec<RawNode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFrame {
    #[serde(default)]
    function_name: String,
    #[serde(default)]
    script_id: ScriptId,
    #[serde(default)]
    url: String,
    #[serde(default = "minus_one")]
    line_number: i64,
    #[serde(default = "minus_one")]
    column_number: i64,
}

fn minus_one() -> i64 {
    -1
}

/// `scriptId` is a string in Node's files; accept a number too.
#[derive(Default)]
struct ScriptId(i64);

impl<'de> Deserialize<'de> for ScriptId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            S(String),
            N(i64),
        }
        Ok(ScriptId(match Either::deserialize(d)? {
            Either::S(s) => s.parse().unwrap_or(0),
            Either::N(n) => n,
        }))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSample {
    size: u64,
    node_id: u32,
    #[serde(default)]
    ordinal: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(name: &str, line: i64) -> CallFrame {
        CallFrame { function_name: name.into(), script_id: 3, url: "file:///app.js".into(), line_number: line, column_number: 4 }
    }

    fn sample_profile() -> HeapProfile {
        let mut p = HeapProfile::default();
        assert!(p.push_node(1, 0, CallFrame { function_name: "(root)".into(), line_number: -1, column_number: -1, ..Default::default() }, 0));
        assert!(p.push_node(2, 1, frame("main", 0), 100));
        assert!(p.push_node(3, 2, frame("leak", 9), 5000));
        assert!(p.push_node(4, 3, frame("leak", 9), 700)); // recursion: counted once in total
        assert!(p.push_node(5, 2, frame("other", 20), 300));
        assert!(!p.push_node(6, 99, frame("orphan", 1), 1));
        p.push_sample(Sample { node_id: 3, size: 5000, ordinal: 1 });
        p.push_sample(Sample { node_id: 4, size: 700, ordinal: 2 });
        p
    }

    #[test]
    fn round_trips_through_json() {
        let p = sample_profile();
        let mut out = Vec::new();
        p.write_json(&mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["head"]["callFrame"]["functionName"], "(root)");
        assert_eq!(v["head"]["children"][0]["callFrame"]["scriptId"], "3");
        assert_eq!(v["head"]["children"][0]["children"][0]["callFrame"]["lineNumber"], 9);
        assert_eq!(v["samples"][1]["nodeId"], 4);
        let back = HeapProfile::parse(&out).unwrap();
        assert_eq!(back.nodes, p.nodes);
        assert_eq!(back.samples, p.samples);
        assert_eq!(back.total_size(), 6100);
    }

    #[test]
    fn sites_sum_self_and_total() {
        let sites = sample_profile().sites();
        assert_eq!(sites[0].function_name, "leak");
        assert_eq!((sites[0].line, sites[0].column), (Some(10), Some(5)));
        assert_eq!((sites[0].self_size, sites[0].total_size, sites[0].samples), (5700, 5700, 2));
        let main = sites.iter().find(|s| s.function_name == "main").unwrap();
        assert_eq!((main.self_size, main.total_size), (100, 6100));
        assert!(sites.iter().all(|s| s.function_name != "(root)"));
    }

    #[test]
    fn diff_reports_growth() {
        let a = sample_profile();
        let mut b = sample_profile();
        b.nodes[4].self_size = 900;
        for ordinal in 10..18 {
            b.push_sample(Sample { node_id: 5, size: 75, ordinal });
        }
        let d = diff_sites(&a, &b);
        assert_eq!(d.len(), 2, "{d:?}"); // other grew by 600 (8 samples), and main's total with it
        assert_eq!((d[0].function_name.as_str(), d[0].self_delta), ("other", 600));
        assert_eq!((d[1].function_name.as_str(), d[1].self_delta, d[1].total_delta), ("main", 0, 600));
    }

    #[test]
    fn diff_leaves_out_growth_within_sampling_noise() {
        let a = sample_profile();
        let mut b = sample_profile();
        // One stray sample more at `other` (0 -> 1), one more at `leak` (2 -> 3): noise.
        b.nodes[4].self_size = 400;
        b.push_sample(Sample { node_id: 5, size: 100, ordinal: 10 });
        b.nodes[2].self_size = 5100;
        b.push_sample(Sample { node_id: 3, size: 100, ordinal: 11 });
        assert_eq!(diff_sites(&a, &b), [], "within noise");
        assert!(grew_beyond_noise(0, 5) && !grew_beyond_noise(0, 4) && grew_beyond_noise(100, 150) && !grew_beyond_noise(100, 120));
        // A clean run: nothing alive in A (no samples at all), one stray survivor in B.
        let mut empty = HeapProfile::default();
        assert!(empty.push_node(1, 0, CallFrame { function_name: "(root)".into(), line_number: -1, column_number: -1, ..Default::default() }, 0));
        let mut stray = empty.clone();
        assert!(stray.push_node(2, 1, frame("work", 3), 4096));
        stray.push_sample(Sample { node_id: 2, size: 4096, ordinal: 1 });
        assert_eq!(diff_sites(&empty, &stray), []);
        // Files without samples: every byte of growth is reported.
        let (mut a, mut b) = (a, b);
        a.samples.clear();
        b.samples.clear();
        let mut d: Vec<_> = diff_sites(&a, &b).into_iter().map(|s| (s.function_name, s.self_delta)).collect();
        d.sort();
        assert_eq!(d, [("leak".to_string(), 100), ("main".to_string(), 0), ("other".to_string(), 100)]);
    }

    #[test]
    fn reads_compressed_and_node_style_files() {
        let json = br#"{"head":{"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"selfSize":0,"id":1,"children":[{"callFrame":{"functionName":"f","scriptId":"80","url":"/x.js","lineNumber":2,"columnNumber":10},"selfSize":524320,"id":2,"children":[]}]},"samples":[{"size":524320,"nodeId":2,"ordinal":11}]}"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(json).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&json[..], 1).unwrap();
        for bytes in [json.to_vec(), gz, zst] {
            let p = HeapProfile::read_from(&bytes[..]).unwrap();
            let s = &p.sites()[0];
            assert_eq!((s.function_name.as_str(), s.line, s.self_size), ("f", Some(3), 524320));
            assert_eq!(p.nodes[1].frame.script_id, 80);
        }
    }

    #[test]
    fn profiles_get_their_own_default_name() {
        use crate::write::naming::{plan_named, NameContext, WriteRequest, PROFILE_TEMPLATE};
        let ctx = NameContext { pid: 7, tid: 0, seq: 2, now: chrono::Local::now(), hostname: "h".into() };
        let req = WriteRequest { compress: Some("gzip".into()), ..WriteRequest::default() };
        let plan = plan_named(&req, &ctx, PROFILE_TEMPLATE).unwrap();
        let name = plan.target.to_str().unwrap().to_string();
        assert!(name.starts_with("heapsnap-") && name.ends_with("-7-2.heapprofile.gz"), "{name}");
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        for bad in [&b""[..], b"{", b"[]", b"{\"head\":1}", b"{\"head\":{\"callFrame\":{},\"id\":1,\"children\":[{\"callFrame\":{},\"id\":1}]}}"] {
            let err = HeapProfile::parse(bad).unwrap_err();
            assert_eq!(err.code(), crate::read::CORRUPT_SNAPSHOT, "{bad:?}");
        }
        let deep = "[".repeat(MAX_NESTING + 1);
        assert!(HeapProfile::parse(deep.as_bytes()).is_err());
        // Deep but legal: a long call chain.
        let mut p = HeapProfile::default();
        for i in 1..=3000u32 {
            assert!(p.push_node(i, i - 1, frame("f", i as i64), 1));
        }
        let mut out = Vec::new();
        p.write_json(&mut out).unwrap();
        assert_eq!(HeapProfile::parse(&out).unwrap().nodes.len(), 3000);
    }
}
