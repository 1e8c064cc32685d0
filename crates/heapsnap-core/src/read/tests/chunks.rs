//! The scanner reads 1 MiB chunks; here every token of real and hand-written snapshots is
//! put across chunk boundaries (chunks of 1, 2, 3... bytes), and results, errors and their
//! offsets must not depend on where the chunks end.

use super::robust::{real_snapshot, small_real};
use super::*;
use crate::read::parser::read_snapshot_chunked;

/// Everything the parse produced, as text (summary, then per node sizes and class).
fn fingerprint(r: Result<HeapGraph, AnalyzeError>) -> String {
    match r {
        Err(e) => format!("{} {:?} {e}", e.code(), e.offset()),
        Ok(g) => {
            let mut s = serde_json::to_string(&g.summary()).unwrap();
            for o in 0..g.node_count() as u32 {
                s += &format!(
                    "\n{} {} {} {} {:?}",
                    g.node_id(o),
                    g.retained_size(o),
                    g.self_size(o),
                    g.class_name(o),
                    g.node_name(o)
                );
            }
            for e in 0..g.edge_count() {
                s += &format!("\n{} {}", g.edge_type_name(e), g.edge_name(e));
            }
            s
        }
    }
}

#[test]
fn real_snapshot_in_any_chunking() {
    let full = real_snapshot();
    let want = fingerprint(read_snapshot_from(full.as_slice()));
    assert!(!want.starts_with(CORRUPT_SNAPSHOT));
    for chunk in [7, 13, 4096, 65_537, 1 << 20] {
        assert_eq!(fingerprint(read_snapshot_chunked(&full, chunk)), want, "chunks of {chunk}");
    }
    let small = small_real();
    let want = fingerprint(read_snapshot_from(small.as_slice()));
    for chunk in 1..=5 {
        assert_eq!(fingerprint(read_snapshot_chunked(&small, chunk)), want, "small, chunks of {chunk}");
    }
}

#[test]
fn escapes_and_utf8_across_chunks() {
    let (mut s, g, _) = Snap::with_global();
    for (i, name) in ["caf\u{e9}", "\u{1F600} smile", "tab\tquote\"back\\slash/", "\u{7}bell", "\u{2028}"]
        .into_iter()
        .enumerate()
    {
        let a = s.node("object", name, 10 + i as u32, 20);
        s.edge(g, "property", name, a);
    }
    let json = s.json();
    // serde_json writes non-ASCII raw; also try every character as a \u escape (surrogate
    // pairs for the emoji), and with whitespace everywhere JSON allows it.
    let escaped = ascii_escaped(&json);
    let spaced = json.replace(',', " ,\n\t").replace(':', "\r\n: ").replace('[', "[ ").replace(']', " ]");
    let want = fingerprint(read_snapshot_from(json.as_bytes()));
    assert!(!want.starts_with(CORRUPT_SNAPSHOT), "{want}");
    for text in [&json, &escaped, &spaced] {
        for chunk in 1..=9 {
            assert_eq!(fingerprint(read_snapshot_chunked(text.as_bytes(), chunk)), want, "chunks of {chunk}: {text}");
        }
    }
}

#[test]
fn errors_and_offsets_do_not_depend_on_chunks() {
    let base = small_real();
    let header_end = base.windows(8).position(|w| w == b"\"nodes\":").unwrap();
    let edges = base.windows(8).position(|w| w == b"\"edges\":").unwrap();
    let strings = base.windows(10).position(|w| w == b"\"strings\":").unwrap();
    let cases: Vec<(usize, &[u8])> = vec![
        (header_end + 10, b"4294967296"),
        (header_end + 10, b"-1"),
        (header_end + 10, b"1.5"),
        (header_end + 10, b"01"),
        (header_end + 10, b",,"),
        (edges + 12, b"99999999999999999999"),
        (edges + 12, b"1e3"),
        (edges + 12, b"null"),
        (strings + 14, b"\\ud800"),
        (strings + 14, b"\\udc00\\u0041"),
        (strings + 14, b"\\x"),
        (strings + 14, b"\x01"),
        (strings + 14, b"\xff\xfe"),
        (20, b"\"x\":[1,[2,{\"a\":-0.5e+3}],tru],"),
        (20, b"\"x\":[1,[2,{\"a\":-0.5e+3}],true],"),
        (base.len() - 1, b" x"),
        (base.len(), b" {}"),
    ];
    for (at, insert) in cases {
        let mut m = base.clone();
        m.splice(at..at, insert.iter().copied());
        let want = fingerprint(read_snapshot_from(m.as_slice()));
        for chunk in [1, 2, 3, 7, 64] {
            assert_eq!(
                fingerprint(read_snapshot_chunked(&m, chunk)),
                want,
                "{:?} at {at}, chunks of {chunk}",
                String::from_utf8_lossy(insert)
            );
        }
    }
    // Every truncation of the header region, chunked.
    for cut in (0..header_end + 200).step_by(7) {
        let want = fingerprint(read_snapshot_from(&base[..cut]));
        assert!(want.starts_with(CORRUPT_SNAPSHOT), "cut at {cut}");
        assert_eq!(fingerprint(read_snapshot_chunked(&base[..cut], 3)), want, "cut at {cut}");
    }
}
