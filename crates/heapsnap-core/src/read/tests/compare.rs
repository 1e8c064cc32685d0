//! diff (two snapshots) and leaks (three snapshots) on hand-built snapshots of "one process".

use super::*;

/// (class, countDelta, sizeDelta, added, removed)
fn diff_rows(d: &Diff) -> Vec<(String, i64, i64, u64, u64)> {
    d.constructors
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.count_delta,
                c.size_delta,
                c.added,
                c.removed,
            )
        })
        .collect()
}

#[test]
fn diff_by_id_and_by_class() {
    let (mut a, g, _) = Snap::with_global();
    for (id, name, size) in [(7, "Foo", 10), (9, "Foo", 10), (11, "Bar", 5)] {
        let n = a.node("object", name, id, size);
        a.edge(g, "property", format!("x{id}").as_str(), n);
    }
    let (mut b, g, _) = Snap::with_global();
    for (id, name, size) in [(7, "Foo", 10), (13, "Foo", 12), (15, "Baz", 7)] {
        let n = b.node("object", name, id, size);
        b.edge(g, "property", format!("x{id}").as_str(), n);
    }
    let (a, b) = (a.graph(), b.graph());
    let d = diff(&a, &b);
    assert_eq!(d.added_ids, [13, 15]);
    assert_eq!(d.removed_ids, [9, 11]);
    assert_eq!(
        diff_rows(&d),
        [
            ("Baz".into(), 1, 7, 1, 0),
            ("Foo".into(), 0, 2, 1, 1),
            ("Bar".into(), -1, -5, 0, 1)
        ]
    );
    let foo = &d.constructors[1];
    assert_eq!((foo.added_size, foo.removed_size), (12, 10));
    // Same snapshot twice: nothing changed.
    let same = diff(&b, &b);
    assert!(
        same.constructors.is_empty() && same.added_ids.is_empty() && same.removed_ids.is_empty()
    );
    // JSON field names are camelCase.
    let js = serde_json::to_value(&d).unwrap();
    assert_eq!(js["constructors"][0]["countDelta"], 1);
    assert_eq!(js["addedIds"], serde_json::json!([13, 15]));
}

#[test]
fn diff_classifies_the_base_with_the_other_snapshots_shapes() {
    // In A only one plain object has {a, b} (no interface); in B two do. DevTools names A's
    // objects with B's interfaces, so the old object is not "removed from Object".
    let mk = |ids: &[u32]| {
        let (mut s, g, _) = Snap::with_global();
        for &id in ids {
            let o = s.node("object", "Object", id, 16);
            s.edge(g, "property", format!("o{id}").as_str(), o);
            let v = s.node("number", "heap number", id + 1000, 8);
            s.edge(o, "property", "a", v);
            s.edge(o, "property", "b", v);
        }
        s.graph()
    };
    let (a, b) = (mk(&[7]), mk(&[7, 9]));
    assert_eq!(a.class(7), "Object");
    let d = diff(&a, &b);
    assert_eq!(
        diff_rows(&d),
        [
            ("{a, b}".into(), 1, 16, 1, 0),
            ("(number)".into(), 1, 8, 1, 0)
        ]
    );
    assert_eq!(d.added_ids, [9, 1009]);
}

/// One snapshot of the leaking process: global.cache (a Map) holds Sessions in its table.
fn leak_snap(sessions: &[(u32, Option<u32>)], extra: &[(u32, &str)]) -> HeapGraph {
    leak_snap_traced(sessions, extra, &[])
}

/// `leak_snap`, with allocation traces: `(session id, trace node id)` for the traced sessions.
fn leak_snap_traced(sessions: &[(u32, Option<u32>)], extra: &[(u32, &str)], traced: &[(u32, u32)]) -> HeapGraph {
    let (mut s, g, _) = Snap::with_global();
    if !traced.is_empty() {
        s.allocation_traces();
    }
    let m = s.node("object", "Map", 7, 32);
    let t = s.node("array", "", 9, 64);
    s.edge(g, "property", "cache", m);
    s.edge(m, "internal", "table", t);
    for (i, &(id, user)) in sessions.iter().enumerate() {
        let n = s.node("object", "Session", id, 40);
        if let Some(&(_, trace)) = traced.iter().find(|&&(session, _)| session == id) {
            s.allocated_at(n, trace);
        }
        s.edge(t, "element", i as u32, n);
        if let Some(u) = user {
            let un = s.node("object", "User", u, 24);
            s.edge(n, "property", "user", un);
        }
    }
    for &(id, name) in extra {
        let n = s.node("object", name, id, 8);
        s.edge(g, "property", format!("e{id}").as_str(), n);
    }
    // Internal noise that is new in every snapshot must not be reported.
    let code_id = if sessions.len() == 1 { 901 } else { 951 }; // new in B, alive in C
    let code = s.node("code", "(compiled code)", code_id, 99);
    s.edge(g, "internal", "code", code);
    s.graph()
}

#[test]
fn leaks_are_new_in_b_and_still_alive_in_c_with_the_retainer_path() {
    // The Map's `table (internal) -> (array) -> [1] (element)` hop is shown as one `[entry]`.
    let a = leak_snap(&[(11, None)], &[]);
    let b = leak_snap(&[(11, None), (13, Some(15)), (17, None)], &[(19, "Tmp")]);
    let c = leak_snap(&[(11, None), (13, Some(15))], &[(21, "New")]);
    let l = leaks(&a, &b, &c);
    let got: Vec<(&str, u64, u64, u64, u64)> = l
        .iter()
        .map(|g| {
            (
                g.name.as_str(),
                g.count,
                g.size,
                g.retained_size,
                g.representative_id,
            )
        })
        .collect();
    // The new User is reached through the new Session: it is reported under it.
    assert_eq!(got, [("Session", 1, 40, 64, 13)]);
    assert_eq!(l[0].holds, [HeldObjects { name: "User".into(), count: 1, size: 24 }]);
    assert_eq!(
        l[0].retainer_path,
        [
            "(GC roots)",
            "global",
            "cache (property)",
            "Map",
            "[entry] (internal)",
            "Session"
        ]
    );
    // Nothing new survived from B to C when C == A.
    assert!(leaks(&a, &b, &a).is_empty());
    // An id of B on another object in C: V8 gave a dead B object's id (its address) to one
    // allocated after B, which is no leak from between A and B.
    let b_number = leak_snap(&[(11, None), (13, Some(15))], &[(23, "heap number")]);
    let c_reused = leak_snap(&[(11, None), (13, Some(15))], &[(23, "Path")]);
    let names: Vec<(String, u64)> = leaks(&a, &b_number, &c_reused).into_iter().map(|g| (g.name, g.count)).collect();
    assert_eq!(names, [("Session".to_string(), 1)]);
    assert_eq!(leaks(&a, &b_number, &b_number).iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["Session", "heap number"]);
    let js = serde_json::to_value(&l).unwrap();
    assert_eq!(js[0]["retainerPath"][1], "global");
}

#[test]
fn leak_stacks_come_from_b_where_c_lost_the_trace() {
    // Node 18's V8 forgets the trace of an object that moved after a snapshot gave it an
    // id: session 13 is traced in B but not in C, session 17 in both.
    const AT: u32 = Snap::ALLOCATED_IN_MAKE_SESSION;
    let a = leak_snap_traced(&[(11, None)], &[], &[(11, AT)]);
    let b = leak_snap_traced(&[(11, None), (13, None), (17, None)], &[], &[(13, AT), (17, AT)]);
    let c = leak_snap_traced(&[(11, None), (13, None), (17, None)], &[], &[(11, 0), (17, AT)]);
    assert!(c.has_allocation_traces());
    assert_eq!(c.allocation_stack(c.ord(13)), None, "C alone has no stack for 13");
    let l = leaks(&a, &b, &c);
    assert_eq!(l.len(), 1);
    let stacks: Vec<(u64, u64, Vec<(&str, u32, u32)>)> = l[0]
        .allocation_stacks
        .iter()
        .map(|s| (s.count, s.size, s.frames.iter().map(|f| (f.function_name.as_str(), f.line, f.column)).collect()))
        .collect();
    assert_eq!(stacks, [(2, 80, vec![("makeSession", 7, 12), ("main", 1, 1)])]);
    // Without traces: no stacks.
    assert!(leaks(&leak_snap(&[(11, None)], &[]), &leak_snap(&[(11, None), (13, None)], &[]), &leak_snap(&[(11, None), (13, None)], &[]))[0]
        .allocation_stacks
        .is_empty());
}

#[test]
fn leak_groups_count_nested_members_once_and_pick_the_largest_as_representative() {
    // B and C: global.list -> L1 -> L2 -> L3 (a linked list of new "Item"s), plus a lone Item.
    let snap = |with_items: bool| {
        let (mut s, g, _) = Snap::with_global();
        if with_items {
            let l1 = s.node("object", "Item", 7, 10);
            let l2 = s.node("object", "Item", 9, 20);
            let l3 = s.node("object", "Item", 11, 30);
            let lone = s.node("object", "Item", 13, 100);
            s.edge(g, "property", "list", l1);
            s.edge(l1, "property", "next", l2);
            s.edge(l2, "property", "next", l3);
            s.edge(g, "property", "lone", lone);
        }
        s.graph()
    };
    let (a, b, c) = (snap(false), snap(true), snap(true));
    let l = leaks(&a, &b, &c);
    assert_eq!(l.len(), 1);
    let item = &l[0];
    assert_eq!(
        (
            item.count,
            item.size,
            item.retained_size,
            item.representative_id
        ),
        (4, 160, 160, 13)
    );
    assert_eq!(
        item.retainer_path,
        ["(GC roots)", "global", "lone (property)", "Item"]
    );
}

/// The retainer path of the `Leak` object (id 999) that `build(.., true)` adds: A is built
/// without it, B and C with it. `build` gets the snapshot, `global` and `(GC roots)`.
fn leak_path(build: impl Fn(&mut Snap, usize, usize, bool)) -> Vec<String> {
    let snap = |with_leak: bool| {
        let (mut s, g, gcr) = Snap::with_global();
        build(&mut s, g, gcr, with_leak);
        s.graph()
    };
    let (a, b, c) = (snap(false), snap(true), snap(true));
    let l = leaks(&a, &b, &c);
    let leak = l.iter().find(|g| g.name == "Leak").expect("Leak group");
    assert_eq!(leak.representative_id, 999);
    leak.retainer_path.clone()
}

#[test]
fn retainer_path_takes_a_longer_property_chain_over_an_internal_edge() {
    // global.holder -internal-> Leak is 2 hops; global.a.b.leak is 3, all properties.
    let path = leak_path(|s, g, _, with_leak| {
        let holder = s.node("object", "Holder", 11, 16);
        let a = s.node("object", "A", 13, 16);
        let b = s.node("object", "B", 15, 16);
        s.edge(g, "property", "holder", holder);
        s.edge(g, "property", "a", a);
        s.edge(a, "property", "b", b);
        if with_leak {
            let leak = s.node("object", "Leak", 999, 40);
            // Also a weak edge straight from the global object: never part of a path.
            s.edge(g, "weak", "w", leak);
            s.edge(holder, "internal", "secret", leak);
            s.edge(b, "property", "leak", leak);
        }
    });
    assert_eq!(
        path,
        ["(GC roots)", "global", "a (property)", "A", "b (property)", "B", "leak (property)", "Leak"]
    );
}

#[test]
fn retainer_path_avoids_hidden_edges_and_system_objects() {
    // global.x -hidden-> (system) -> Leak (2 hops through V8 internals) vs global.p.q (2
    // property hops and an element).
    let path = leak_path(|s, g, _, with_leak| {
        let x = s.node("object", "X", 11, 16);
        let sys = s.node("hidden", "system / PropertyCell", 13, 16);
        let p = s.node("object", "P", 15, 16);
        let arr = s.node("object", "Array", 17, 16);
        s.edge(g, "property", "x", x);
        s.edge(x, "hidden", 0u32, sys);
        s.edge(g, "property", "p", p);
        s.edge(p, "property", "q", arr);
        if with_leak {
            let leak = s.node("object", "Leak", 999, 40);
            s.edge(sys, "property", "value", leak);
            s.edge(arr, "element", 3u32, leak);
        }
    });
    assert_eq!(
        path,
        ["(GC roots)", "global", "p (property)", "P", "q (property)", "Array", "[3] (element)", "Leak"]
    );
}

/// global.setTimeout is a closure from `script`, whose context holds `timerListMap` -> Leak;
/// global.app.services.cache is a Map holding Leak: one hop longer.
fn timers_or_app(script: &'static str) -> Vec<String> {
    leak_path(move |s, g, _, with_leak| {
        let f = s.node("closure", "setTimeout", 11, 32);
        let sfi = s.node("code", "setTimeout", 13, 32);
        let scr = s.node("code", script, 15, 32);
        let ctx = s.node("object", "system / Context", 17, 32);
        let timers = s.node("object", "Object", 19, 16);
        s.edge(g, "property", "setTimeout", f);
        s.edge(f, "internal", "shared", sfi);
        s.edge(sfi, "internal", "script_or_debug_info", scr);
        s.edge(f, "internal", "context", ctx);
        s.edge(ctx, "context", "timerListMap", timers);
        let app = s.node("object", "App", 21, 16);
        let services = s.node("object", "Services", 23, 16);
        let map = s.node("object", "Map", 25, 32);
        let table = s.node("array", "", 27, 64);
        s.edge(g, "property", "app", app);
        s.edge(app, "property", "services", services);
        s.edge(services, "property", "cache", map);
        s.edge(map, "internal", "table", table);
        if with_leak {
            let leak = s.node("object", "Leak", 999, 40);
            s.edge(timers, "property", "x", leak);
            s.edge(table, "internal", "5", leak);
        }
    })
}

#[test]
fn retainer_path_goes_around_node_internals_to_the_users_map() {
    // setTimeout is Node's (script `node:timers`): its context is internal, the path through
    // it is shorter in hops but costs more than the user's properties.
    assert_eq!(
        timers_or_app("node:timers"),
        [
            "(GC roots)",
            "global",
            "app (property)",
            "App",
            "services (property)",
            "Services",
            "cache (property)",
            "Map",
            "[entry] (internal)",
            "Leak"
        ]
    );
    // The same shape from user code: a closure's context is the user's scope, followed.
    assert_eq!(
        timers_or_app("/srv/app/server.js"),
        [
            "(GC roots)",
            "global",
            "setTimeout (property)",
            "setTimeout()",
            "context (internal)",
            "system / Context",
            "timerListMap (context)",
            "Object",
            "x (property)",
            "Leak"
        ]
    );
}

#[test]
fn retainer_path_prefers_user_roots_and_handles_over_the_stack() {
    // (Stack roots) -> Leak is 2 hops; global.a.b.c.leak is 4. The stack is what happened to
    // run at snapshot time: the global path is shown.
    let stack_or = |global_path: bool, handle: bool| {
        leak_path(move |s, g, gcr, with_leak| {
            let stack = s.node("synthetic", "(Stack roots)", 7, 0);
            s.edge(gcr, "element", 1u32, stack);
            let handles = s.node("synthetic", "(Global handles)", 9, 0);
            s.edge(gcr, "element", 2u32, handles);
            let mut last = g;
            for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
                let o = s.node("object", "O", 11 + 2 * i as u32, 16);
                s.edge(last, "property", name, o);
                last = o;
            }
            let wrap = s.node("object", "Wrap", 21, 16);
            if handle {
                s.edge(handles, "internal", "5", wrap);
            }
            if with_leak {
                let leak = s.node("object", "Leak", 999, 40);
                s.edge(stack, "internal", "3", leak);
                if global_path {
                    s.edge(last, "property", "leak", leak);
                }
                s.edge(wrap, "property", "owner", leak);
            }
        })
    };
    assert_eq!(
        stack_or(true, false),
        [
            "(GC roots)",
            "global",
            "a (property)",
            "O",
            "b (property)",
            "O",
            "c (property)",
            "O",
            "leak (property)",
            "Leak"
        ]
    );
    // Held by a global handle (a native wrapper's JS object): that path, not the stack.
    assert_eq!(
        stack_or(false, true),
        ["(GC roots)", "[2] (element)", "(Global handles)", "5 (internal)", "Wrap", "owner (property)", "Leak"]
    );
    // Only the stack holds it: the stack path.
    assert_eq!(
        stack_or(false, false),
        ["(GC roots)", "[1] (element)", "(Stack roots)", "3 (internal)", "Leak"]
    );
}

#[test]
fn retainer_path_follows_a_user_closures_scope_chain() {
    // handler() closes over an inner scope whose `previous` is the module scope holding
    // `cache`: 6 hops of user structure, preferred to global.h.p -internal-> Leak (3 hops).
    let path = leak_path(|s, g, _, with_leak| {
        let f = s.node("closure", "handler", 11, 32);
        let sfi = s.node("code", "handler", 13, 32);
        let scr = s.node("code", "/srv/app/server.js", 15, 32);
        let inner = s.node("object", "system / Context", 17, 32);
        let outer = s.node("object", "system / Context", 19, 32);
        let map = s.node("object", "Map", 21, 32);
        let table = s.node("array", "", 23, 64);
        s.edge(g, "property", "handler", f);
        s.edge(f, "internal", "shared", sfi);
        s.edge(sfi, "internal", "script_or_debug_info", scr);
        s.edge(f, "internal", "context", inner);
        s.edge(inner, "internal", "previous", outer);
        s.edge(outer, "context", "cache", map);
        s.edge(map, "internal", "table", table);
        let h = s.node("object", "H", 25, 16);
        let h2 = s.node("object", "H2", 27, 16);
        s.edge(g, "property", "h", h);
        s.edge(h, "property", "p", h2);
        if with_leak {
            let leak = s.node("object", "Leak", 999, 40);
            s.edge(h2, "internal", "slot", leak);
            s.edge(table, "internal", "7", leak);
        }
    });
    assert_eq!(
        path,
        [
            "(GC roots)",
            "global",
            "handler (property)",
            "handler()",
            "context (internal)",
            "system / Context",
            "previous (internal)",
            "system / Context",
            "cache (context)",
            "Map",
            "[entry] (internal)",
            "Leak"
        ]
    );
}
