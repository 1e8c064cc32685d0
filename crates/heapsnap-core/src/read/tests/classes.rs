//! DevTools' class names (the Summary view's rows).

use super::*;

#[test]
fn class_names_follow_devtools() {
    let (mut s, g, _) = Snap::with_global();
    let mut id = 7;
    let mut add = |s: &mut Snap, ty: &'static str, name: &str, size: u32| {
        let n = s.node(ty, name, id, size);
        s.edge(g, "property", format!("p{id}").as_str(), n);
        id += 2;
        n
    };
    add(&mut s, "closure", "foo", 32); // 7
    add(&mut s, "regexp", "ab+c", 32); // 9
    add(&mut s, "code", "(shared function info)", 40); // 11
    add(&mut s, "hidden", "system / Context", 24); // 13
    add(&mut s, "string", "hello", 20); // 15
    add(&mut s, "number", "heap number", 16); // 17
    add(&mut s, "concatenated string", "ab", 32); // 19
    add(&mut s, "symbol", "symbol", 24); // 21
    add(&mut s, "object shape", "system / Map", 80); // 23
    add(&mut s, "bigint", "bigint", 16); // 25
    add(&mut s, "object", "Session", 40); // 27
    add(&mut s, "native", "<div id=\"x\" class=\"y\">", 100); // 29
    add(&mut s, "native", "Node / Foo", 10); // 31
    let h = s.graph();
    let names: Vec<&str> = (7..=31).step_by(2).map(|i| h.class(i)).collect();
    assert_eq!(
        names,
        [
            "Function",
            "RegExp",
            "(compiled code)",
            "(system)",
            "(string)",
            "(number)",
            "(concatenated string)",
            "(symbol)",
            "(object shape)",
            "(bigint)",
            "Session",
            "<div>",
            "Node / Foo"
        ]
    );
    assert_eq!(h.class(3), "global");
    assert_eq!(h.class(5), "(synthetic)");
    // Raw names stay available.
    assert_eq!(h.node_name(h.ord(7)), "foo");
    assert_eq!(h.node_type_name(h.ord(7)), "closure");
}

#[test]
fn plain_objects_are_named_by_shared_shape() {
    let (mut s, g, _) = Snap::with_global();
    let mk = |s: &mut Snap, id: u32, props: &[&str]| {
        let o = s.node("object", "Object", id, 16);
        s.edge(g, "property", format!("o{id}").as_str(), o);
        let v = s.node("number", "heap number", id + 1000, 8);
        for p in props {
            s.edge(o, "property", *p, v);
        }
        s.edge(o, "property", "__proto__", v);
    };
    mk(&mut s, 7, &["a", "b"]);
    mk(&mut s, 9, &["b", "a"]); // same set, other order: another candidate name, seen once
    mk(&mut s, 11, &["a", "b"]);
    mk(&mut s, 13, &["a", "b", "c"]); // has {a, b}: takes that name
    mk(&mut s, 15, &["z"]); // matches nothing: stays Object
    mk(&mut s, 17, &["x,y", "q"]);
    mk(&mut s, 19, &["x,y", "q"]);
    let h = s.graph();
    let names: Vec<&str> = [7, 9, 11, 13, 15, 17, 19]
        .iter()
        .map(|&i| h.class(i))
        .collect();
    assert_eq!(
        names,
        [
            "{a, b}",
            "{a, b}",
            "{a, b}",
            "{a, b}",
            "Object",
            "{\"x,y\", q}",
            "{\"x,y\", q}"
        ]
    );
    let sum = h.summary();
    assert_eq!(
        (
            row(&sum, "{a, b}").unwrap().count,
            row(&sum, "{a, b}").unwrap().self_size
        ),
        (4, 64)
    );
}

#[test]
fn detached_dom_nodes_get_a_prefix() {
    let (mut s, g, _) = Snap::with_global();
    let d = s.node("native", "<div id=\"gone\">", 7, 100);
    let c = s.node("native", "<span>", 9, 50);
    let a = s.node("native", "<p class=\"x\">", 11, 60);
    let ac = s.node("native", "<b>", 13, 10);
    let js = s.node("object", "Holder", 15, 16);
    s.detachedness(d, 2);
    s.detachedness(a, 1);
    s.edge(g, "property", "h", js);
    s.edge(js, "property", "d", d);
    s.edge(d, "property", "child", c); // reached from a detached node only: detached too
    s.edge(js, "property", "a", a);
    s.edge(a, "property", "child", ac); // from an attached node: attached
    s.edge(d, "property", "sibling", ac); // attached wins
    let h = s.graph();
    let names: Vec<&str> = [7, 9, 11, 13, 15].iter().map(|&i| h.class(i)).collect();
    assert_eq!(
        names,
        ["Detached <div>", "Detached <span>", "<p>", "<b>", "Holder"]
    );
    assert_eq!(h.detachedness(h.ord(7)), 2);
}

#[test]
fn same_named_classes_from_different_places_are_separate_rows() {
    let (mut s, g, _) = Snap::with_global();
    for (id, loc) in [
        (7, Some((1, 2, 3))),
        (9, Some((1, 2, 3))),
        (11, Some((4, 5, 6))),
        (13, None),
    ] {
        let o = s.node("object", "Foo", id, 10 + id);
        s.edge(g, "property", format!("f{id}").as_str(), o);
        if let Some((sc, l, c)) = loc {
            s.location(o, sc, l, c);
        }
    }
    let h = s.graph();
    let sum = h.summary();
    type Row = (Option<(u32, u32, u32)>, u64, u64);
    let foo: Vec<Row> = sum
        .constructors
        .iter()
        .filter(|c| c.name == "Foo")
        .map(|c| {
            (
                c.location.map(|l| (l.script_id, l.line, l.column)),
                c.count,
                c.self_size,
            )
        })
        .collect();
    assert_eq!(
        foo,
        [
            (Some((1, 2, 3)), 2, 36),
            (None, 1, 23),
            (Some((4, 5, 6)), 1, 21)
        ]
    );
    // JSON carries the location in camelCase, and none when absent.
    let js = serde_json::to_value(&sum).unwrap();
    let rows = js["constructors"].as_array().unwrap();
    assert!(rows
        .iter()
        .any(|r| r["location"] == serde_json::json!({"scriptId": 1, "line": 2, "column": 3})));
    assert!(rows
        .iter()
        .any(|r| r["name"] == "Foo" && r.get("location").is_none()));
    assert_eq!(js["totalSize"], 10 + 17 + 19 + 21 + 23);
}
