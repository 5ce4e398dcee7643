//! Property: `compile(decompile(tree)) == tree` for trees compiled from generated expressions,
//! and `decompile` rejects malformed trees instead of printing something else.

mod expr_gen;

use bytes::Bytes;
use expr_gen::Gen;
use xacct_dax_protocol::expr::{
    compile, decompile, decompile_bare, CompiledExpressions, ExpressionKind,
};

#[test]
fn compile_of_decompile_is_the_identity_on_trees() {
    let mut gen = Gen::new(0x00de_c0de);
    let (mut checked, mut bare_names) = (0, 0);
    for _ in 0..6_000 {
        let case = gen.case();
        let Ok(tree) = compile(&case.exprs) else {
            continue;
        };
        let text = decompile(&tree).unwrap_or_else(|e| panic!("{e}\n{:?}", case.exprs));
        let again = compile(&text).unwrap_or_else(|e| panic!("{e}\n{:?}\n-> {text:?}", case.exprs));
        assert_eq!(again, tree, "{:?}\n-> {text:?}", case.exprs);
        // Generated placeholders only, each used.
        assert!(text
            .expression_attribute_names
            .keys()
            .all(|k| k.starts_with("#n")));
        assert!(text
            .expression_attribute_values
            .keys()
            .all(|k| k.starts_with(":v")));
        // The bare form: same tree, a placeholder only where a bare name would not parse.
        let bare = decompile_bare(&tree).unwrap_or_else(|e| panic!("{e}\n{:?}", case.exprs));
        let again = compile(&bare).unwrap_or_else(|e| panic!("{e}\n{:?}\n-> {bare:?}", case.exprs));
        assert_eq!(again, tree, "{:?}\n-> {bare:?}", case.exprs);
        assert!(bare.expression_attribute_names.len() <= text.expression_attribute_names.len());
        bare_names += text.expression_attribute_names.len() - bare.expression_attribute_names.len();
        checked += 1;
    }
    println!("round-tripped {checked} requests ({bare_names} names written bare)");
    assert!(
        bare_names > 1_000,
        "the generator should produce plain names: {bare_names}"
    );
    assert!(checked >= 2_000, "{checked}");
}

#[test]
fn malformed_trees_are_rejected() {
    let bad: [(ExpressionKind, &[u8]); 7] = [
        (
            ExpressionKind::Condition,
            &[0x83, 0x01, 0x82, 0x12, 0x61, b'a', 0x80],
        ), // a path is no condition
        (
            ExpressionKind::Condition,
            &[0x83, 0x02, 0x82, 0x0b, 0x82, 0x12, 0x61, b'a', 0x80],
        ), // version 2
        (
            ExpressionKind::Condition,
            &[0x83, 0x01, 0x82, 0x0b, 0x82, 0x11, 0x00, 0x80],
        ), // value 0 missing
        (
            ExpressionKind::Update,
            &[
                0x83, 0x01, 0x81, 0x83, 0x14, 0x82, 0x12, 0x61, b'a', 0x82, 0x12, 0x61, b'b', 0x80,
            ],
        ), // ADD a b
        (
            ExpressionKind::Projection,
            &[0x82, 0x01, 0x81, 0x82, 0x12, 0xd9, 0x0c, 0xfc, 0x00],
        ), // path starts with [0]
        (ExpressionKind::Projection, &[0x82, 0x01, 0x80, 0x00]), // trailing bytes
        (ExpressionKind::Filter, &[0x83, 0x01, 0x81, 0x10, 0x80]), // size()
    ];
    for (kind, bytes) in bad {
        let mut c = CompiledExpressions::default();
        c.set(kind, Some(Bytes::from_static(bytes)));
        let err = decompile(&c).expect_err(&format!("{bytes:02x?}"));
        assert!(err.is_malformed_tree(), "{err}");
        assert_eq!(err.kind(), Some(kind));
    }
}

#[test]
fn trees_from_other_clients_decompile_to_equivalent_text() {
    // Node numbers every use of a value anew (N9 in scripts/dax/README.md): [.., [17,0]], [.., [17,1]]], ["y","y"]
    let node = [
        0x83, 0x01, 0x82, 0x83, 0x13, 0x82, 0x12, 0x61, b'a', 0x82, 0x11, 0x00, 0x83, 0x13, 0x82,
        0x12, 0x61, b'b', 0x82, 0x11, 0x01, 0x82, 0x61, b'y', 0x61, b'y',
    ];
    let mut c = CompiledExpressions::default();
    c.set(ExpressionKind::Update, Some(Bytes::copy_from_slice(&node)));
    let text = decompile(&c).unwrap();
    assert_eq!(text.update.as_deref(), Some("SET #n0 = :v0, #n1 = :v1"));
    assert!(compile(&text).is_ok());
}
