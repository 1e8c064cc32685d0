//! The viewer's queries on hand-built graphs: DevTools' distances, pages of instances, the
//! order of retainers, object details, new objects between two snapshots.

use super::*;

fn ids(page: &Page<NodeRow>) -> Vec<u64> {
    page.rows.iter().map(|r| r.id).collect()
}

#[test]
fn distances_count_hops_from_the_user_roots_then_from_the_root() {
    let (mut s, g, gcr) = Snap::with_global();
    let a = s.node("object", "A", 7, 10);
    let b = s.node("object", "B", 9, 10);
    let w = s.node("object", "W", 11, 10);
    let internal = s.node("hidden", "system / Thing", 13, 10);
    let lost = s.node("object", "Lost", 15, 10);
    let roots_child = s.node("synthetic", "(Strong roots)", 17, 0);
    s.edge(g, "property", "a", a);
    s.edge(a, "property", "b", b);
    // Weak edges are not followed: W is reached only from V8's roots.
    s.edge(g, "weak", "w", w);
    s.edge(gcr, "element", 1, roots_child);
    s.edge(roots_child, "element", 1, internal);
    s.edge(internal, "internal", "w", w);
    let _ = lost;
    let h = s.graph();
    let d = |id| h.distance(h.ord(id));
    assert_eq!([d(3), d(7), d(9)], [1, 2, 3]);
    // The root restarts at BASE_SYSTEM_DISTANCE once the user roots are done.
    assert_eq!(d(1), BASE_SYSTEM_DISTANCE);
    assert_eq!([d(5), d(17), d(13), d(11)], [BASE_SYSTEM_DISTANCE + 1, BASE_SYSTEM_DISTANCE + 2, BASE_SYSTEM_DISTANCE + 3, BASE_SYSTEM_DISTANCE + 4]);
    assert_eq!(d(15), NO_DISTANCE);
    // A class's distance is its nearest counted object's.
    let rows = h.class_rows();
    let row = |name: &str| rows.iter().find(|r| r.class.name == name).unwrap().distance;
    assert_eq!([row("A"), row("B"), row("W")], [2, 3, BASE_SYSTEM_DISTANCE + 4]);
    assert_eq!(rows.into_iter().map(|r| r.class).collect::<Vec<_>>(), h.summary().constructors, "the Summary's rows, in its order");
}

#[test]
fn a_weakmap_value_is_as_far_as_its_key() {
    // V8 writes two edges to a WeakMap value: from the table (first here, and nearer) and
    // from the key. DevTools puts off the first one seen, so the value's distance is the key's + 1.
    let (mut s, g, _) = Snap::with_global();
    let map = s.node("object", "WeakMap", 7, 10);
    let table = s.node("array", "", 9, 10);
    let holder = s.node("object", "Holder", 11, 10);
    let key = s.node("object", "Key", 13, 10);
    let value = s.node("object", "Value", 15, 10);
    s.edge(g, "property", "map", map);
    s.edge(map, "internal", "table", table);
    s.edge(g, "property", "holder", holder);
    s.edge(holder, "property", "key", key);
    let name = |n: u32| format!("{n} / part of key (Key @13) -> value (Value @15) pair in WeakMap (table @9)");
    s.edge(table, "internal", name(1), value);
    s.edge(key, "internal", name(2), value);
    let h = s.graph();
    let d = |id| h.distance(h.ord(id));
    assert_eq!([d(9), d(13), d(15)], [3, 3, 4]);
}

#[test]
fn instances_come_in_sorted_pages_that_do_not_overlap() {
    let (mut s, g, _) = Snap::with_global();
    let arr = s.node("object", "Array", 7, 8);
    s.edge(g, "property", "list", arr);
    // Five Items of sizes 50, 10, 40, 20, 30 (ids 21..29), and one of size 0 (not counted).
    for (i, size) in [50, 10, 40, 20, 30, 0].into_iter().enumerate() {
        let item = s.node("object", "Item", 21 + 2 * i as u32, size);
        s.edge(arr, "element", i as u32, item);
    }
    let h = s.graph();
    let key = h.class_rows().iter().find(|r| r.class.name == "Item").unwrap().key;
    let req = |sort, descending, offset, limit| PageRequest { sort, descending, offset, limit };
    let first = h.instances(key, &req(SortBy::RetainedSize, true, 0, 2)).unwrap();
    assert_eq!((first.total, ids(&first)), (5, vec![21, 25]));
    let second = h.instances(key, &req(SortBy::RetainedSize, true, 2, 2)).unwrap();
    assert_eq!((second.offset, ids(&second)), (2, vec![29, 27]));
    let last = h.instances(key, &req(SortBy::RetainedSize, true, 4, 2)).unwrap();
    assert_eq!(ids(&last), [23]);
    assert!(h.instances(key, &req(SortBy::Id, false, 5, 2)).unwrap().rows.is_empty());
    assert_eq!(ids(&h.instances(key, &req(SortBy::Id, false, 0, 10)).unwrap()), [21, 23, 25, 27, 29]);
    assert_eq!(ids(&h.instances(key, &req(SortBy::SelfSize, false, 0, 3)).unwrap()), [23, 27, 29]);
    assert!(h.instances(9999, &req(SortBy::Id, false, 0, 1)).is_none());
    let row = h.find_row(21).unwrap();
    assert_eq!((row.class_name.as_str(), row.self_size, row.retained_size, row.distance, row.dominated), ("Item", 50, 50, 3, 0));
}

#[test]
fn retainers_list_the_preferred_holder_first_and_weak_edges_last() {
    let (mut s, g, gcr) = Snap::with_global();
    let target = s.node("object", "Target", 7, 10);
    let cache = s.node("object", "Cache", 9, 10);
    let weak_ref = s.node("object", "WeakRef", 11, 10);
    let handles = s.node("synthetic", "(Global handles)", 13, 0);
    let far = s.node("object", "Far", 15, 10);
    s.edge(gcr, "element", 1, handles);
    s.edge(handles, "element", 1, target);
    s.edge(g, "property", "cache", cache);
    s.edge(cache, "property", "target", target);
    s.edge(g, "property", "ref", weak_ref);
    s.edge(weak_ref, "weak", "target", target);
    s.edge(g, "property", "far", far);
    s.edge(far, "property", "x", cache);
    let h = s.graph();
    let page = h.retainer_edges(7, 0, 10).unwrap();
    let got: Vec<(String, u64, bool, bool)> = page.rows.iter().map(|e| (e.edge_name.clone(), e.node.id, e.weak, e.preferred)).collect();
    assert_eq!(
        got,
        [
            ("target".to_string(), 9, false, true),
            ("1".to_string(), 13, false, false),
            ("target".to_string(), 11, true, false),
        ]
    );
    assert_eq!(page.total, 3);
    assert_eq!(h.retainer_edges(7, 1, 1).unwrap().rows[0].node.id, 13);
    // Hiding the cache (DevTools' "ignore this retainer"): it is not entered, so the cache
    // sorts after every holder still connected to the roots, at the unreachable distance,
    // and no longer leads as the preferred one.
    let hidden = h.distances_ignoring(&[9, 424242]);
    let page = h.retainer_edges_ignoring(7, 0, 10, &hidden).unwrap();
    let got: Vec<(u64, bool, i64)> = page.rows.iter().map(|e| (e.node.id, e.preferred, e.node.distance)).collect();
    assert_eq!(got, [(13, false, BASE_SYSTEM_DISTANCE + 2), (9, false, BASE_UNREACHABLE_DISTANCE + 2), (11, false, 2)]);
    let edges = h.outgoing_edges(9, 0, 10).unwrap();
    assert_eq!((edges.total, edges.rows[0].edge_name.as_str(), edges.rows[0].node.id), (1, "target", 7));
    let dominated = h.dominated_rows(None, 0, 10).unwrap();
    assert_eq!(dominated.rows[0].id, 3, "global first: it retains the most");
}

#[test]
fn details_read_maps_closures_emitters_and_strings() {
    let (mut s, g, _) = Snap::with_global();
    // A Map of two entries: 17 slots (3 header, 2 buckets, 4 entries of 3), 152 bytes on a
    // 64-bit heap; entry 0 is "a" -> Obj, entry 1 has a small-integer key (no edge) -> "v".
    let map = s.node("object", "Map", 7, 32);
    let table = s.node("array", "", 9, 152);
    let key_a = s.node("string", "a", 11, 16);
    let obj = s.node("object", "Obj", 13, 16);
    let val = s.node("string", "v", 15, 16);
    s.edge(g, "property", "map", map);
    s.edge(map, "internal", "table", table);
    s.edge(table, "internal", "5", key_a);
    s.edge(table, "internal", "6", obj);
    s.edge(table, "internal", "9", val);
    // A closure over `secret`, whose enclosing scope has `outer`.
    let f = s.node("closure", "useIt", 17, 32);
    let ctx = s.node("object", "system / Context", 19, 16);
    let prev = s.node("object", "system / Context", 21, 16);
    let secret = s.node("object", "Secret", 23, 16);
    let outer = s.node("object", "Outer", 25, 16);
    let sfi = s.node("code", "useIt", 27, 16);
    let script = s.node("code", "/app/main.js", 29, 16);
    s.edge(g, "property", "f", f);
    s.edge(f, "internal", "context", ctx);
    s.edge(f, "internal", "shared", sfi);
    s.edge(sfi, "internal", "script_or_debug_info", script);
    s.edge(ctx, "context", "secret", secret);
    s.edge(ctx, "internal", "previous", prev);
    s.edge(prev, "context", "outer", outer);
    s.location(f, 4, 9, 2);
    // An EventEmitter with two `data` listeners and one `end`.
    let em = s.node("object", "EventEmitter", 31, 32);
    let events = s.node("object", "Object", 33, 16);
    let list = s.node("object", "Array", 35, 16);
    let (on1, on2, end) = (s.node("closure", "onData", 37, 32), s.node("closure", "onMore", 39, 32), s.node("closure", "onEnd", 41, 32));
    s.edge(g, "property", "em", em);
    s.edge(em, "property", "_events", events);
    s.edge(events, "property", "data", list);
    s.edge(events, "property", "end", end);
    s.edge(list, "element", 0, on1);
    s.edge(list, "element", 1, on2);
    // A long string value (kept whole here: these hand-built files put the strings before the
    // meta, where the parser cannot tell values from names; the prefix is checked below).
    let long = s.node("string", &"é".repeat(300), 43, 632);
    s.edge(g, "property", "long", long);
    let h = s.graph();

    let d = h.details(7).unwrap();
    let entries = d.entries.unwrap();
    assert_eq!((entries.kind.as_str(), entries.count), ("Map", 2));
    let pairs: Vec<(Option<u64>, Option<u64>)> = entries.rows.iter().map(|e| (e.key.as_ref().map(|k| k.id), e.value.as_ref().map(|v| v.id))).collect();
    assert_eq!(pairs, [(Some(11), Some(13)), (None, Some(15))]);

    let d = h.details(17).unwrap();
    let vars: Vec<(&str, u32, u64)> = d.context.iter().map(|b| (b.name.as_str(), b.depth, b.value.id)).collect();
    assert_eq!(vars, [("secret", 0, 23), ("outer", 1, 25)]);
    let src = d.source.unwrap();
    assert_eq!((src.script_id, src.line, src.column, src.url.as_deref()), (4, 10, 3, Some("/app/main.js")));

    let d = h.details(31).unwrap();
    let listeners: Vec<(&str, Vec<u64>)> = d.listeners.iter().map(|l| (l.event.as_str(), l.functions.iter().map(|f| f.id).collect())).collect();
    assert_eq!(listeners, [("data", vec![37, 39]), ("end", vec![41])]);

    let d = h.details(43).unwrap().string.unwrap();
    assert_eq!((d.length, d.complete, d.value.chars().count()), (Some(300), true, 300));
    assert!(h.details(12345).is_none());
    // A value the parser cuts keeps its length (in UTF-16 units, as JS counts).
    let mut t = StringTable::default();
    t.push_value(&"é".repeat(300));
    t.push_value("short");
    assert!(t.is_cut(0) && !t.is_cut(1));
    assert_eq!((t.js_length(0), t.js_length(1)), (300, 5));
    assert!(t.get(0).ends_with('…') && t.get(0).len() <= 104);
}

#[test]
fn new_objects_are_those_whose_id_the_base_does_not_have_in_that_class() {
    let build = |items: &[u32]| {
        let (mut s, g, _) = Snap::with_global();
        let arr = s.node("object", "Array", 7, 8);
        s.edge(g, "property", "list", arr);
        for (i, &id) in items.iter().enumerate() {
            let item = s.node("object", "Item", id, 16);
            s.edge(arr, "element", i as u32, item);
        }
        s.graph()
    };
    let a = build(&[21, 23, 25]);
    let b = build(&[23, 25, 27, 29]);
    let req = PageRequest { sort: SortBy::Id, descending: false, offset: 0, limit: 10 };
    assert_eq!(ids(&objects_not_in(&a, &b, "Item", None, &req)), [27, 29]);
    assert_eq!(ids(&objects_not_in(&b, &a, "Item", None, &req)), [21]);
    assert_eq!(objects_not_in(&a, &b, "Nothing", None, &req).total, 0);
    let d = diff(&a, &b);
    let item = d.constructors.iter().find(|c| c.name == "Item").unwrap();
    assert_eq!((item.added, item.removed), (2, 1), "the diff's counts");
}
