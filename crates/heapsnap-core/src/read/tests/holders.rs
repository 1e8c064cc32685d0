//! Growth by holder on hand-built snapshots of "one process" at three moments.

use super::*;

/// What to put in snapshot `step` (0, 1, 2) of the test process.
struct Shape {
    /// Sessions in `MemoryStore.sessions` (a dictionary of strings, 40 B each).
    sessions: [u32; 3],
    /// Entries of `Cache.byId` (a Map of string key -> object value), and whether they are
    /// replaced by new ones between snapshots (a bounded cache that churns).
    map_entries: [u32; 3],
    map_churns: bool,
    /// Elements of the array a closure `handler` keeps in its variable `items`.
    items: [u32; 3],
    /// Bytes of the table of a Set of small integers (no entry is an object).
    small_int_set_table: [u32; 3],
}

/// Ids: fixed objects below 1000; per-snapshot objects from 1000 + 1000 * step (V8 gives
/// objects allocated later larger ids, never reusing one).
fn process(shape: &Shape, step: usize) -> HeapGraph {
    let (mut s, g, _) = Snap::with_global();
    let fresh = std::cell::Cell::new(1001 + 1000 * step as u32);
    let new_id = || {
        let id = fresh.get();
        fresh.set(id + 2);
        id
    };
    // global.store = new MemoryStore(); store.sessions = Object.create(null)
    let store = s.node("object", "MemoryStore", 101, 32);
    s.edge(g, "property", "store", store);
    let sessions = s.node("object", "Object", 103, 24);
    s.edge(store, "property", "sessions", sessions);
    // An object that appears in snapshot `born` keeps its id in the later ones.
    let stable = |counts: &[u32; 3], i: u32, first: u32, offset: u32, stride: u32| match counts.iter().position(|&c| c > i).unwrap() {
        0 => first + stride * i,
        born => 1001 + 1000 * born as u32 + offset + stride * i,
    };
    let n = shape.sessions[step];
    let props = s.node("array", "(object properties)", if step == 0 { 105 } else { new_id() }, 16 + 16 * n);
    s.edge(sessions, "internal", "properties", props);
    for i in 0..n {
        let json = s.node("string", &format!("{{\"cookie\":{i}}}"), stable(&shape.sessions, i, 201, 300, 2), 40);
        s.edge(sessions, "property", format!("sid{i}").as_str(), json);
        s.edge(props, "internal", (2 * i + 3).to_string().as_str(), json);
    }
    // global.cache = new Cache(); cache.byId = new Map()
    let cache = s.node("object", "Cache", 111, 32);
    s.edge(g, "property", "cache", cache);
    let map = s.node("object", "Map", 113, 32);
    s.edge(cache, "property", "byId", map);
    let m = shape.map_entries[step];
    let table = s.node("array", "", if step == 0 { 115 } else if shape.map_churns { 9901 + 2 * step as u32 } else { new_id() }, 16 + 24 * m);
    s.edge(map, "internal", "table", table);
    for i in 0..m {
        let key_id = if shape.map_churns { 9001 + 4 * i + 200 * step as u32 } else { stable(&shape.map_entries, i, 301, 400, 4) };
        let value_id = key_id + 2;
        let key = s.node("string", &format!("req{i}"), key_id, 24);
        let value = s.node("object", "Object", value_id, 64);
        // OrderedHashMap: key, value, chain per entry, after the buckets.
        s.edge(table, "internal", (9 + 3 * i).to_string().as_str(), key);
        s.edge(table, "internal", (10 + 3 * i).to_string().as_str(), value);
    }
    // function handler() {...} closing over `items`
    let handler = s.node("closure", "handler", 121, 32);
    s.edge(g, "property", "onRequest", handler);
    let ctx = s.node("object", "system / Context", 123, 24);
    s.edge(handler, "internal", "context", ctx);
    let items = s.node("object", "Array", 125, 16);
    s.edge(ctx, "context", "items", items);
    let k = shape.items[step];
    let elements = s.node("array", "(object elements)", if step == 0 { 127 } else { new_id() }, 16 + 8 * k);
    s.edge(items, "internal", "elements", elements);
    for i in 0..k {
        let item = s.node("object", "Object", stable(&shape.items, i, 501, 700, 2), 48);
        s.edge(items, "element", i, item);
        s.edge(elements, "internal", i.to_string().as_str(), item);
    }
    // global.seen = new Set() of small integers: only its table grows.
    let set = s.node("object", "Set", 131, 32);
    s.edge(g, "property", "seen", set);
    let table = s.node("array", "", if step == 0 { 133 } else { new_id() }, shape.small_int_set_table[step]);
    s.edge(set, "internal", "table", table);
    s.graph()
}

fn series(shape: &Shape) -> [HeapGraph; 3] {
    [process(shape, 0), process(shape, 1), process(shape, 2)]
}

fn run(graphs: &[HeapGraph]) -> Vec<GrowingHolder> {
    holders(&graphs.iter().collect::<Vec<_>>())
}

const LEAKING_STORE: Shape = Shape {
    sessions: [2, 10, 20],
    map_entries: [3, 3, 3],
    map_churns: true,
    items: [1, 1, 1],
    small_int_set_table: [64, 64, 64],
};

#[test]
fn the_growing_dictionary_is_named_by_its_holder_and_edge() {
    let graphs = series(&LEAKING_STORE);
    let rows = run(&graphs);
    // The bounded, churning Map and the steady array are not growth; the MemoryStore and the
    // global, whose retained sizes grew with the sessions, are not reported either.
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let h = &rows[0];
    assert_eq!(h.name, "MemoryStore.sessions");
    assert_eq!(h.class_name, "Object");
    assert_eq!(h.id, 103);
    assert_eq!(h.entries, [2, 10, 20]);
    assert_eq!(h.entries_growth, 18);
    // Own 24 B plus the properties store, 16 + 16 per entry.
    assert_eq!(h.size, [24 + 48, 24 + 176, 24 + 336]);
    assert_eq!(h.size_growth, 288);
    // 18 new session strings of 40 B.
    assert_eq!(h.added_retained_size, 18 * 40);
    assert_eq!(h.retained_size, 24 + 336 + 20 * 40);
    assert_eq!(h.growth_bytes(), 18 * 40 + 288);
    assert_eq!(h.retainer_path, ["(GC roots)", "global", "store (property)", "MemoryStore", "sessions (property)", "Object"]);
    // JSON is camelCase.
    let js = serde_json::to_value(h).unwrap();
    assert_eq!(js["entriesGrowth"], 18);
    assert_eq!(js["addedRetainedSize"], 720);
}

#[test]
fn grown_then_shrunk_or_flat_is_not_growth() {
    let shape = Shape { sessions: [2, 10, 5], items: [3, 3, 3], ..LEAKING_STORE };
    assert_eq!(run(&series(&shape)), []);
    // Entries up then flat: not growth in every interval either.
    let shape = Shape { sessions: [2, 10, 10], ..LEAKING_STORE };
    assert_eq!(run(&series(&shape)), []);
    // One snapshot: nothing to compare.
    assert_eq!(run(&series(&LEAKING_STORE)[..1]), []);
}

#[test]
fn ranked_by_the_bytes_the_growth_keeps_alive() {
    let shape = Shape {
        sessions: [2, 4, 6],
        map_entries: [1, 5, 40],
        map_churns: false,
        items: [1, 2, 3],
        small_int_set_table: [64, 128, 256],
    };
    let rows = run(&series(&shape));
    let names: Vec<(&str, u64, u64)> = rows.iter().map(|h| (h.name.as_str(), h.entries_growth, h.growth_bytes())).collect();
    assert_eq!(
        names,
        [
            // 39 new keys (24 B) and values (64 B); the table grew by 24 B per entry.
            ("Cache.byId", 39, 39 * (24 + 64) + 39 * 24),
            ("MemoryStore.sessions", 4, 4 * 40 + 4 * 16),
            // Only its table grew: its entries are small integers, not objects.
            ("global.seen", 0, 192),
            // A closure variable, named after the function.
            ("handler().items", 2, 2 * 48 + 2 * 8),
        ]
    );
    // A Map's entries: a key and its value count once.
    assert_eq!(rows[0].entries, [1, 5, 40]);
    assert_eq!(rows[0].class_name, "Map");
    // Two snapshots: the growth between them.
    let graphs = series(&shape);
    let two = holders(&[&graphs[0], &graphs[2]]);
    assert_eq!(two.len(), 4);
    assert_eq!(two[0].entries, [1, 40]);
}

#[test]
fn names_follow_the_path() {
    // A growing array inside a Map's value, held under a key that is not an identifier.
    let mk = |n: u32| {
        let (mut s, g, _) = Snap::with_global();
        let reg = s.node("object", "Object", 101, 24);
        s.edge(g, "property", "registry", reg);
        let map = s.node("object", "Map", 103, 32);
        s.edge(reg, "property", "by-user", map);
        let table = s.node("array", "", 105, 64);
        s.edge(map, "internal", "table", table);
        let list = s.node("object", "Array", 107, 16);
        s.edge(table, "internal", "9", list);
        for i in 0..n {
            let o = s.node("object", "Event", 1001 + 2 * i, 32);
            s.edge(list, "element", i, o);
        }
        s.graph()
    };
    let graphs = [mk(1), mk(2), mk(3)];
    let rows = run(&graphs);
    assert_eq!(rows.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(), ["global.registry[\"by-user\"][entry]"]);
    assert_eq!(rows[0].retainer_path.last().map(String::as_str), Some("Array"));
    // An array is named by where it is held too: a Map at `global.queue[0]`.
    let mk = |n: u32| {
        let (mut s, g, _) = Snap::with_global();
        let queue = s.node("object", "Array", 101, 16);
        s.edge(g, "property", "queue", queue);
        let map = s.node("object", "Map", 103, 32);
        s.edge(queue, "element", 0, map);
        let table = s.node("array", "", 1001 + 2 * n, 64 * n);
        s.edge(map, "internal", "table", table);
        s.graph()
    };
    let graphs = [mk(1), mk(2), mk(3)];
    assert_eq!(run(&graphs).iter().map(|h| h.name.as_str()).collect::<Vec<_>>(), ["global.queue[0]"]);
    // A property named by a number reads as an index.
    let mk = |n: u32| {
        let (mut s, g, _) = Snap::with_global();
        let by_port = s.node("object", "Object", 101, 16);
        s.edge(g, "property", "byPort", by_port);
        let list = s.node("object", "Array", 103, 16);
        s.edge(by_port, "property", "8080", list);
        for i in 0..n {
            let o = s.node("object", "Socket", 1001 + 2 * i, 32);
            s.edge(list, "element", i, o);
        }
        s.graph()
    };
    let graphs = [mk(1), mk(2), mk(3)];
    assert_eq!(run(&graphs).iter().map(|h| h.name.as_str()).collect::<Vec<_>>(), ["global.byPort[8080]"]);
    // A variable of an anonymous function's scope stands alone.
    let mk = |n: u32| {
        let (mut s, g, _) = Snap::with_global();
        let handler = s.node("closure", "", 101, 32);
        s.edge(g, "property", "onRequest", handler);
        let ctx = s.node("object", "system / Context", 103, 24);
        s.edge(handler, "internal", "context", ctx);
        let cache = s.node("object", "Map", 105, 32);
        s.edge(ctx, "context", "sessionCache", cache);
        let table = s.node("array", "", 1001 + 2 * n, 64 * n);
        s.edge(cache, "internal", "table", table);
        s.graph()
    };
    let graphs = [mk(1), mk(2), mk(3)];
    assert_eq!(run(&graphs).iter().map(|h| h.name.as_str()).collect::<Vec<_>>(), ["sessionCache"]);
}
