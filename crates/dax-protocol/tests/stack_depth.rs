//! No input can overflow the stack: every recursive walk (the expression parser and compiler,
//! `decompile` of received trees, the value decoders) stops at a depth limit with a typed error.
//!
//! Each input runs on a thread with a 2 MiB stack (a tokio worker's), so a stack overflow
//! aborts this test process instead of passing quietly on the main thread's 8 MiB stack.

use aws_sdk_dynamodb::types::AttributeValue;
use xacct_dax_protocol::codec::{decode_attribute_value, ProjectionPaths};
use xacct_dax_protocol::expr::{
    compile, decompile, decompile_bare, CompiledExpressions, ExprError, ExpressionKind, Expressions,
};

/// Runs `f` on a thread with a tokio worker's 2 MiB stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no panic")
}

fn filter(text: String) -> Result<(), ExprError> {
    on_small_stack(move || {
        compile(
            &Expressions::new()
                .filter(text)
                .value(":v", AttributeValue::S("x".into())),
        )
        .map(drop)
    })
}

#[test]
fn twenty_thousand_or_clauses_are_a_validation_error() {
    let text = vec!["a = :v"; 20_000].join(" OR ");
    let err = filter(text).unwrap_err();
    assert_eq!(err.rule(), "expression-length", "{err}");
}

#[test]
fn three_hundred_thousand_nots_are_a_validation_error() {
    let text = format!("{}a = :v", "NOT ".repeat(300_000));
    let err = filter(text).unwrap_err();
    assert_eq!(err.rule(), "expression-length", "{err}");
}

#[test]
fn a_hundred_thousand_parentheses_are_a_validation_error() {
    let text = format!("{}a = :v{}", "(".repeat(100_000), ")".repeat(100_000));
    let err = filter(text).unwrap_err();
    assert_eq!(err.rule(), "expression-length", "{err}");
}

/// Within 4 KB: about 4,000 levels of `(`, 1,000 of `NOT`, 500 `OR`s; and up to 64 KB.
#[test]
fn deep_nesting_within_four_kilobytes_is_bounded() {
    let parens = format!("{}a = :v{}", "(".repeat(2_000), ")".repeat(2_000));
    let err = filter(parens).unwrap_err();
    assert_eq!(err.rule(), "nesting-depth", "{err}");
    assert!(
        err.to_string().starts_with("Invalid FilterExpression: "),
        "{err}"
    );

    let open = format!("{}a = :v", "(".repeat(4_000));
    assert!(filter(open).is_err());

    let nots = format!("{}a = :v", "NOT ".repeat(1_000));
    assert_eq!(filter(nots).unwrap_err().rule(), "nesting-depth");

    let not_groups = format!("{}a = :v{}", "NOT (".repeat(600), ")".repeat(600));
    assert_eq!(filter(not_groups).unwrap_err().rule(), "nesting-depth");

    // A long flat OR chain is not nesting: DynamoDB takes it, so do we (and back).
    let ors = vec!["a=:v"; 500].join(" OR ");
    assert!(ors.len() <= 4096);
    on_small_stack(move || {
        let compiled = compile(
            &Expressions::new()
                .filter(ors)
                .value(":v", AttributeValue::S("x".into())),
        )
        .expect("a flat OR chain compiles");
        let text = decompile_bare(&compiled).expect("and decompiles");
        // (Decompiled, it is longer than 4 KB: `a = :v0` for `a=:v`.)
        assert_eq!(text.filter.unwrap().matches(" OR ").count(), 499);
    });

    // Up to 64 KB an expression is parsed before the 4 KB rule (the official client's checks
    // report first): a 7,000-link chain is still no deeper on the stack than one link.
    for op in [" OR ", " AND "] {
        let chain = vec!["a=:v"; 7_000].join(op);
        assert!(chain.len() < 64 * 1024);
        assert_eq!(filter(chain).unwrap_err().rule(), "expression-length");
    }
    let deep = format!("{}a = :v{}", "(".repeat(30_000), ")".repeat(30_000));
    assert_eq!(filter(deep).unwrap_err().rule(), "nesting-depth");

    // Nesting just under the limit still works, on a 2 MiB stack; one more level does not.
    let fine = format!("{}a = :v{}", "NOT (".repeat(50), ")".repeat(50));
    filter(fine).expect("50 NOT groups are fine");
    let fine = format!("{}a = :v", "NOT ".repeat(100));
    filter(fine).expect("100 NOTs are fine");
    let too_deep = format!("{}a = :v", "NOT ".repeat(101));
    assert_eq!(filter(too_deep).unwrap_err().rule(), "nesting-depth");
    let fine = format!("a = {}:v{}", "(".repeat(99), ")".repeat(99));
    assert_eq!(filter(fine).unwrap_err().rule(), "redundant-parentheses");
}

/// CBOR array head for `n` items.
fn array(out: &mut Vec<u8>, n: u64) {
    head(out, 4, n);
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
    }
}

/// `[1, [8, [8, … [0, [18, "a"], [17, 0]] …]], ["x"]]`: `depth` nested NOT nodes.
fn nested_nots(depth: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(depth * 2 + 32);
    array(&mut b, 3);
    b.push(0x01);
    for _ in 0..depth {
        b.extend([0x82, 0x08]);
    }
    b.extend([0x83, 0x00, 0x82, 0x12, 0x61, b'a', 0x82, 0x11, 0x00]);
    b.extend([0x81, 0x61, b'x']);
    b
}

fn decompile_filter(bytes: Vec<u8>, bare: bool) -> Result<Expressions, ExprError> {
    on_small_stack(move || {
        let c = CompiledExpressions::new().with(ExpressionKind::Filter, bytes);
        if bare {
            decompile_bare(&c)
        } else {
            decompile(&c)
        }
    })
}

#[test]
fn a_million_nested_nots_from_the_network_are_a_malformed_tree() {
    for bare in [false, true] {
        let err = decompile_filter(nested_nots(1_000_000), bare).unwrap_err();
        assert_eq!(err.rule(), "malformed-tree", "{err}");
    }
    // A few levels are fine.
    let text = decompile_filter(nested_nots(3), true).unwrap();
    assert_eq!(text.filter.as_deref(), Some("NOT NOT NOT a = :v0"));
}

#[test]
fn deep_values_inside_a_compiled_expression_are_a_malformed_tree() {
    // [1, [0, [18, "a"], [17, 0]], [[[[…]]]]]: the value list holds one deeply nested L.
    for (open, depth) in [(0x81u8, 1_000_000usize), (0xa1, 500_000)] {
        let mut b = vec![
            0x83, 0x01, 0x83, 0x00, 0x82, 0x12, 0x61, b'a', 0x82, 0x11, 0x00, 0x81,
        ];
        for _ in 0..depth {
            b.push(open);
            if open == 0xa1 {
                b.extend([0x61, b'k']);
            }
        }
        b.push(0xf6);
        let err = decompile_filter(b, true).unwrap_err();
        assert_eq!(err.rule(), "malformed-tree", "{err}");
    }
}

#[test]
fn deep_values_from_the_network_are_a_decode_error() {
    for open in [0x81u8, 0x9f, 0xa1] {
        let mut b = Vec::new();
        for _ in 0..1_000_000 {
            b.push(open);
            if open == 0xa1 {
                b.extend([0x61, b'k']);
            }
        }
        b.push(0xf6);
        let r = on_small_stack(move || decode_attribute_value(&b).map(drop));
        assert!(r.is_err());
    }
    // [1, [[18, "a", "a", …]]] with deep garbage inside a path element.
    let mut b = vec![0x82, 0x01, 0x81, 0x82, 0x12];
    b.extend(std::iter::repeat_n(0x81, 1_000_000));
    b.push(0x00);
    assert!(on_small_stack(move || ProjectionPaths::from_compiled(&b).map(drop)).is_err());
}

/// `[1, [7, [7, [7, … LEAF, LEAF] LEAF] LEAF], ["x"]]`: OR nested on the left, which the
/// printer recurses into.
fn left_nested_ors(depth: usize) -> Vec<u8> {
    let leaf = [0x83, 0x00, 0x82, 0x12, 0x61, b'a', 0x82, 0x11, 0x00];
    let mut b = vec![0x83, 0x01];
    for _ in 0..depth {
        b.extend([0x83, 0x07]);
    }
    b.extend(leaf);
    for _ in 0..depth {
        b.extend(leaf);
    }
    b.extend([0x81, 0x61, b'x']);
    b
}

/// `[1, [0, size(size(…size(a)…)), :v], ["x"]]`.
fn nested_sizes(depth: usize) -> Vec<u8> {
    let mut b = vec![0x83, 0x01, 0x83, 0x00];
    for _ in 0..depth {
        b.extend([0x82, 0x10]);
    }
    b.extend([0x82, 0x12, 0x61, b'a', 0x82, 0x11, 0x00, 0x81, 0x61, b'x']);
    b
}

/// Just inside the limits, the deepest trees still decompile on a 2 MiB stack.
#[test]
fn trees_at_the_limits_decompile_on_a_small_stack() {
    let text = decompile_filter(left_nested_ors(190), true).unwrap();
    assert_eq!(text.filter.unwrap().matches(" OR ").count(), 190);
    let text = decompile_filter(nested_sizes(190), true).unwrap();
    assert_eq!(text.filter.unwrap().matches("size(").count(), 190);
    let text = decompile_filter(nested_nots(990), true).unwrap();
    assert_eq!(text.filter.unwrap().matches("NOT ").count(), 990);
}

#[test]
fn left_nested_trees_from_the_network_are_a_malformed_tree() {
    let err = decompile_filter(left_nested_ors(100_000), true).unwrap_err();
    assert_eq!(err.rule(), "malformed-tree", "{err}");
    let err = decompile_filter(nested_sizes(100_000), true).unwrap_err();
    assert_eq!(err.rule(), "malformed-tree", "{err}");
}
