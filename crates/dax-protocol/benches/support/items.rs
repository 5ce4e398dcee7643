//! The items the codec benches share.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::Blob;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}
pub(crate) fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.to_owned())
}

/// A typical small item (the fixtures' "rich" item: every type once).
pub(crate) fn small_item(pk: &str, sk: &str) -> Item {
    HashMap::from([
        ("pk".into(), s(pk)),
        ("sk".into(), n(sk)),
        ("str".into(), s("héllo world")),
        ("num".into(), n("-12.50")),
        (
            "bin".into(),
            AttributeValue::B(Blob::new(vec![0, 255, 7, 9])),
        ),
        ("bool".into(), AttributeValue::Bool(true)),
        ("nul".into(), AttributeValue::Null(true)),
        (
            "ss".into(),
            AttributeValue::Ss(vec!["a".into(), "b".into()]),
        ),
        (
            "ns".into(),
            AttributeValue::Ns(vec!["1".into(), "2.5".into()]),
        ),
        ("list".into(), AttributeValue::L(vec![s("x"), n("1")])),
        (
            "map".into(),
            AttributeValue::M(HashMap::from([
                ("k".into(), s("v")),
                ("n".into(), n("1.5")),
            ])),
        ),
    ])
}
