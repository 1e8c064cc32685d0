//! File formats (plain, gzip, zstd), progress, and errors from the OS.

use std::io::Write;
use std::path::Path;

use super::*;

fn sample() -> Snap {
    let (mut s, g, _) = Snap::with_global();
    let a = s.node("object", "A", 7, 20);
    let f = s.node("closure", "f", 9, 32);
    s.edge(g, "property", "a", a);
    s.edge(a, "property", "f", f);
    s
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

#[test]
fn plain_gzip_and_zstd_read_the_same() {
    let json = sample().json();
    let want = sample().graph().summary();
    assert_eq!(
        rows(&want),
        [
            ("global".into(), 1, 10, 62),
            ("A".into(), 1, 20, 52),
            ("Function".into(), 1, 32, 32)
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    let zst = zstd::encode_all(json.as_bytes(), 3).unwrap();
    // Names do not matter: the format is sniffed from the bytes.
    for (name, bytes) in [
        ("x.heapsnapshot", json.as_bytes().to_vec()),
        ("x.heapsnapshot.gz", gzip(json.as_bytes())),
        ("x.heapsnapshot.zst", zst.clone()),
        ("misnamed.heapsnapshot", zst),
    ] {
        let p = write(dir.path(), name, &bytes);
        let g = read_snapshot(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(g.summary(), want, "{name}");
        let mut calls = Vec::new();
        let g2 = read_snapshot_with_progress(&p, |done, total| calls.push((done, total))).unwrap();
        assert_eq!(g2.summary(), want);
        assert_eq!(
            calls.last().copied(),
            Some((bytes.len() as u64, bytes.len() as u64)),
            "{name}"
        );
        assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0));
    }
    // Concatenated gzip members (what an appending writer produces) are one stream.
    let half = json.len() / 2;
    let mut two = gzip(&json.as_bytes()[..half]);
    two.extend(gzip(&json.as_bytes()[half..]));
    assert_eq!(read_snapshot_from(&two[..]).unwrap().summary(), want);
}

#[test]
fn os_errors_keep_their_errno_name() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.heapsnapshot");
    let e = read_snapshot(&missing).unwrap_err();
    assert_eq!(e.code(), "ENOENT");
    assert_eq!(e.offset(), None);
    assert!(e.to_string().contains("nope.heapsnapshot"), "{e}");
    let e = read_snapshot(dir.path()).unwrap_err();
    assert_eq!(e.code(), "EISDIR");
}

#[test]
fn bad_content_is_corrupt_with_an_offset_and_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let json = sample().json();
    let gz = gzip(json.as_bytes());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("text", b"hello".to_vec()),
        (
            "truncated json",
            json.as_bytes()[..json.len() - 10].to_vec(),
        ),
        ("truncated gzip", gz[..gz.len() / 2].to_vec()),
        (
            "gzip magic then garbage",
            [0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8].to_vec(),
        ),
        (
            "zstd magic then garbage",
            [0x28, 0xb5, 0x2f, 0xfd, 9, 9, 9, 9, 9].to_vec(),
        ),
        ("trailing garbage", format!("{json} x").into_bytes()),
    ];
    for (what, bytes) in cases {
        let p = write(dir.path(), "bad.heapsnapshot", &bytes);
        let e = read_snapshot(&p).unwrap_err();
        assert_eq!(e.code(), CORRUPT_SNAPSHOT, "{what}: {e}");
        assert!(e.offset().is_some(), "{what}: {e}");
        let msg = e.to_string();
        assert!(
            msg.contains("bad.heapsnapshot") && msg.contains("corrupt"),
            "{what}: {msg}"
        );
    }
    let e = read_snapshot_from(&json.as_bytes()[..100]).unwrap_err();
    assert_eq!(e.code(), CORRUPT_SNAPSHOT);
    assert!(e.offset().unwrap() <= 100);
}
