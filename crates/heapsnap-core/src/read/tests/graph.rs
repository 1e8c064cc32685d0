//! Dominators and retained sizes on hand-built graphs, DevTools' rules one at a time.

use super::*;

#[test]
fn diamond_is_dominated_by_its_fork() {
    let (mut s, g, _) = Snap::with_global();
    let a = s.node("object", "A", 7, 20);
    let b = s.node("object", "B", 9, 30);
    let d = s.node("object", "D", 11, 40);
    s.edge(g, "property", "a", a);
    s.edge(g, "property", "b", b);
    s.edge(a, "property", "d", d);
    s.edge(b, "property", "d", d);
    let h = s.graph();
    assert_eq!((h.node_count(), h.edge_count()), (6, 6));
    assert_eq!(
        [h.dom(7), h.dom(9), h.dom(11), h.dom(3), h.dom(5)],
        [3, 3, 3, 1, 1]
    );
    assert_eq!(
        [h.ret(7), h.ret(9), h.ret(11), h.ret(3), h.ret(1)],
        [20, 30, 40, 100, 100]
    );
    assert_eq!(h.total_size(), 100);
    let chain: Vec<u64> = h.dominators(11).unwrap().iter().map(|e| e.id).collect();
    assert_eq!(chain, [11, 3, 1]);
    let kids: Vec<(u64, u64)> = h
        .dominated(Some(3), 10)
        .unwrap()
        .iter()
        .map(|e| (e.id, e.retained_size))
        .collect();
    assert_eq!(kids, [(11, 40), (9, 30), (7, 20)]);
    let top: Vec<u64> = h.dominated(None, 1).unwrap().iter().map(|e| e.id).collect();
    assert_eq!(top, [3]);
    assert_eq!(h.immediate_dominator(1), None);
    assert!(h.dominators(12345).is_none());
}

#[test]
fn chain_retains_its_tail_and_a_class_counts_its_top_member_once() {
    let (mut s, g, _) = Snap::with_global();
    let c1 = s.node("object", "C", 7, 1);
    let c2 = s.node("object", "C", 9, 2);
    let c3 = s.node("object", "C", 11, 4);
    s.edge(g, "property", "head", c1);
    s.edge(c1, "property", "next", c2);
    s.edge(c2, "property", "next", c3);
    let h = s.graph();
    assert_eq!([h.dom(7), h.dom(9), h.dom(11)], [3, 7, 9]);
    assert_eq!([h.ret(7), h.ret(9), h.ret(11)], [7, 6, 4]);
    let chain: Vec<u64> = h.dominators(11).unwrap().iter().map(|e| e.id).collect();
    assert_eq!(chain, [11, 9, 7, 3, 1]);
    // 7, not 7 + 6 + 4: nested members of one class are not counted again.
    let sum = h.summary();
    assert_eq!(
        rows(&sum),
        [("global".into(), 1, 10, 17), ("C".into(), 3, 7, 7)]
    );
    assert_eq!((sum.node_count, sum.edge_count, sum.total_size), (6, 5, 17));
}

#[test]
fn weak_edges_do_not_retain() {
    let (mut s, g, _) = Snap::with_global();
    let x = s.node("object", "X", 7, 1);
    let y = s.node("object", "Y", 9, 100);
    let z = s.node("object", "Z", 11, 2);
    s.edge(g, "property", "x", x);
    s.edge(x, "weak", "w", y);
    s.edge(g, "property", "z", z);
    s.edge(z, "property", "y", y);
    let h = s.graph();
    assert_eq!(h.dom(9), 11);
    assert_eq!([h.ret(7), h.ret(11), h.ret(3)], [1, 102, 113]);
    // Weak retainers are not listed either.
    let r: Vec<(u64, String)> = h
        .retainers(9)
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.edge_name))
        .collect();
    assert_eq!(r, [(11, "y".to_string())]);
}

#[test]
fn node_held_only_weakly_hangs_off_the_root_with_what_it_holds() {
    let (mut s, g, _) = Snap::with_global();
    let w = s.node("object", "W", 7, 5);
    let w2 = s.node("object", "W2", 9, 6);
    s.edge(g, "weak", "w", w);
    s.edge(w, "property", "c", w2);
    let h = s.graph();
    assert_eq!([h.dom(7), h.dom(9)], [1, 7]);
    assert_eq!([h.ret(3), h.ret(7), h.ret(9)], [10, 11, 6]);
    assert_eq!(h.total_size(), 21);
}

#[test]
fn cycles_and_unreachable_cliques() {
    let (mut s, g, _) = Snap::with_global();
    let p = s.node("object", "P", 7, 3);
    let q = s.node("object", "Q", 9, 4);
    s.edge(g, "property", "p", p);
    s.edge(p, "property", "q", q);
    s.edge(q, "property", "p", p);
    s.edge(p, "property", "self", p);
    // U <-> V, held by nothing else: each is visited on its own, under the root.
    let u = s.node("object", "U", 11, 5);
    let v = s.node("object", "V", 13, 6);
    s.edge(u, "property", "v", v);
    s.edge(v, "property", "u", u);
    let h = s.graph();
    assert_eq!([h.dom(7), h.dom(9), h.dom(11), h.dom(13)], [3, 7, 1, 1]);
    assert_eq!([h.ret(7), h.ret(9), h.ret(11), h.ret(13)], [7, 4, 5, 6]);
    assert_eq!([h.ret(3), h.total_size()], [17, 28]);
}

#[test]
fn shortcut_edges_retain_only_from_the_root() {
    let (mut s, g, _) = Snap::with_global();
    let s1 = s.node("object", "S", 7, 1);
    let t = s.node("object", "T", 9, 8);
    let m = s.node("object", "M", 11, 2);
    s.edge(g, "property", "s", s1);
    s.edge(s1, "shortcut", "t", t);
    s.edge(g, "property", "m", m);
    s.edge(m, "property", "t", t);
    let h = s.graph();
    // Were the shortcut a retainer, T would have two paths and the global as dominator.
    assert_eq!(h.dom(9), 11);
    assert_eq!([h.ret(7), h.ret(11)], [1, 10]);
    // The root's own shortcut is what makes the global a child of the root.
    assert_eq!(h.dom(3), 1);
}

#[test]
fn edges_from_non_page_objects_to_page_objects_do_not_retain() {
    let (mut s, g, gcr) = Snap::with_global();
    let a = s.node("object", "A", 7, 20);
    let b = s.node("object", "B", 9, 30);
    let k = s.node("object", "K", 11, 40);
    let hs = s.node("synthetic", "(Handle scope)", 13, 0);
    let n = s.node("object", "N", 15, 7);
    s.edge(g, "property", "a", a);
    s.edge(g, "property", "b", b);
    s.edge(a, "property", "k", k);
    s.edge(b, "property", "k", k);
    s.edge(gcr, "element", 1, hs);
    s.edge(hs, "element", 1, k); // page-owned target: ignored
    s.edge(hs, "element", 2, n); // not page-owned: retains
    let h = s.graph();
    assert_eq!(h.dom(11), 3);
    assert_eq!(h.dom(15), 13);
    assert_eq!([h.ret(13), h.ret(5), h.ret(3)], [7, 7, 100]);
    assert_eq!(h.total_size(), 107);
}

#[test]
fn weakmap_values_are_retained_by_the_key_not_the_table() {
    let (mut s, g, _) = Snap::with_global();
    let k = s.node("object", "Key", 7, 8);
    let wm = s.node("object", "WeakMap", 9, 16);
    let t = s.node("array", "", 11, 40);
    let v = s.node("object", "Val", 13, 100);
    s.edge(g, "property", "k", k);
    s.edge(g, "property", "wm", wm);
    s.edge(wm, "internal", "table", t);
    let pair = "part of key (Key @7) -> value (Val @13) pair in WeakMap (table @11)";
    s.edge(k, "internal", format!("1 / {pair}"), v);
    s.edge(t, "internal", format!("3 / {pair}"), v);
    let h = s.graph();
    assert_eq!(h.dom(13), 7);
    assert_eq!([h.ret(7), h.ret(9), h.ret(11)], [108, 56, 0]);
    // The table (an array owned by the WeakMap alone) is counted in the WeakMap.
    assert_eq!(
        [h.shallow(9), h.shallow(11), h.raw_self_size(h.ord(11))],
        [56, 0, 40]
    );
}

#[test]
fn owned_arrays_and_hidden_objects_count_in_their_owner() {
    let (mut s, g, gcr) = Snap::with_global();
    let o = s.node("object", "Foo", 7, 16);
    let e = s.node("array", "", 9, 100);
    let st = s.node("string", "hello", 11, 20);
    let o2 = s.node("object", "Foo", 13, 16);
    let shared = s.node("hidden", "system / Shared", 15, 30);
    let h2 = s.node("hidden", "system / RootOnly", 17, 50);
    s.edge(g, "property", "o", o);
    s.edge(g, "property", "o2", o2);
    s.edge(o, "internal", "elements", e);
    s.edge(e, "element", 0, st);
    s.edge(o, "internal", "x", shared);
    s.edge(o2, "internal", "x", shared);
    s.edge(gcr, "element", 1, h2); // owned by a synthetic node: keeps its size
    let h = s.graph();
    assert_eq!(
        [
            h.shallow(7),
            h.shallow(9),
            h.shallow(11),
            h.shallow(13),
            h.shallow(15),
            h.shallow(17)
        ],
        [116, 0, 20, 16, 30, 50]
    );
    assert_eq!(h.ret(7), 136);
    let sum = h.summary();
    assert_eq!(
        rows(&sum),
        [
            ("global".into(), 1, 10, 192),
            ("Foo".into(), 2, 132, 152),
            ("(system)".into(), 2, 80, 80),
            ("(string)".into(), 1, 20, 20),
        ]
    );
    assert_eq!(sum.total_size, 242);
}

#[test]
fn snapshots_without_user_roots_keep_raw_sizes() {
    // "Expose internals" snapshots: the root has only synthetic children.
    let mut s = Snap::new();
    let gcr = s.node("synthetic", "(GC roots)", 3, 0);
    let o = s.node("object", "Foo", 5, 16);
    let e = s.node("array", "", 7, 100);
    s.edge(0, "element", 1, gcr);
    s.edge(gcr, "element", 1, o);
    s.edge(o, "internal", "elements", e);
    let h = s.graph();
    assert_eq!([h.shallow(5), h.shallow(7), h.ret(5)], [16, 100, 116]);
}

#[test]
fn retainers_by_id_and_by_class() {
    let (mut s, g, _) = Snap::with_global();
    let m = s.node("object", "Map", 7, 32);
    let a = s.node("object", "Session", 9, 40);
    let b = s.node("object", "Session", 11, 40);
    s.edge(g, "property", "cache", m);
    s.edge(m, "element", 0, a);
    s.edge(m, "element", 1, b);
    s.edge(g, "property", "current", b);
    s.edge(g, "weak", "w", a);
    let h = s.graph();
    let r = h.retainers(11).unwrap();
    let got: Vec<(u64, &str, &str, &str, &str)> = r
        .iter()
        .map(|r| {
            (
                r.id,
                r.class_name.as_str(),
                r.node_type.as_str(),
                r.edge_type.as_str(),
                r.edge_name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (3, "global", "object", "property", "current"),
            (7, "Map", "object", "element", "1")
        ]
    );
    assert_eq!((r[1].self_size, r[1].retained_size), (32, 72));
    // The root's shortcut to the global is not a retainer worth showing.
    assert!(h.retainers(3).unwrap().is_empty());
    assert!(h.retainers(999).is_none());
    let groups: Vec<(String, String, String, u64)> = h
        .retainers_by_class("Session")
        .into_iter()
        .map(|g| (g.class_name, g.edge_type, g.edge_name, g.count))
        .collect();
    assert_eq!(
        groups,
        [
            ("Map".into(), "element".into(), "[]".into(), 2),
            ("global".into(), "property".into(), "current".into(), 1)
        ]
    );
    assert!(h.retainers_by_class("Nope").is_empty());
}

#[test]
fn retained_sizes_past_4_gib() {
    // The total no longer fits in 32 bits: retained sizes are kept in 64.
    let (mut s, g, _) = Snap::with_global();
    let a = s.node("object", "Big", 7, 4_000_000_000);
    let b = s.node("object", "Big", 9, 4_000_000_000);
    let c = s.node("object", "Small", 11, 5);
    s.edge(g, "property", "a", a);
    s.edge(a, "property", "b", b);
    s.edge(b, "property", "c", c);
    let graph = s.graph();
    assert_eq!(graph.total_size(), 8_000_000_015);
    assert_eq!(graph.retained_size(a as u32), 8_000_000_005);
    assert_eq!(graph.retained_size(b as u32), 4_000_000_005);
    let sum = graph.summary();
    assert_eq!(sum.total_size, 8_000_000_015);
    let big = row(&sum, "Big").unwrap();
    assert_eq!((big.count, big.self_size, big.retained_size), (2, 8_000_000_000, 8_000_000_005));
}
