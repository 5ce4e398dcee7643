//! Numbers in server replies: an integral value goes out as a CBOR integer whatever its
//! spelling (as a DAX node writes DynamoDB's canonical strings), and the official Python
//! client's spelling (`str(Decimal)`) comes back out of the decoder.

use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType as T};
use xacct_dax_protocol::codec::{
    decode_get_item_response, encode_get_item_response, encode_values, KeyAttribute, KeySchema,
    MemoryCatalog,
};

fn reply(n: &str) -> (Vec<u8>, String) {
    let catalog = MemoryCatalog::default();
    catalog.insert_key_schema("t", KeySchema::hash_only(KeyAttribute::new("pk", T::S)));
    catalog.insert_attribute_list(100, vec!["n".into()]);
    let input = GetItemInput::builder()
        .table_name("t")
        .key("pk", AttributeValue::S("k".into()))
        .build()
        .unwrap();
    let output = GetItemOutput::builder()
        .item("pk", AttributeValue::S("k".into()))
        .item("n", AttributeValue::N(n.into()))
        .build();
    let mut frame = Vec::new();
    encode_get_item_response(&output, &input, None, &catalog, &mut frame).unwrap();
    let back = decode_get_item_response(&frame, &input, None, &catalog)
        .unwrap()
        .unwrap();
    let AttributeValue::N(back) = &back.item().unwrap()["n"] else {
        panic!("a number")
    };
    (frame, back.clone())
}

#[test]
fn integral_values_are_cbor_integers_in_replies() {
    for (n, cbor, spelled) in [
        ("1250", &[0x19, 0x04, 0xe2][..], "1250"),
        ("1.25E+3", &[0x19, 0x04, 0xe2][..], "1250"),
        ("-1.25E+3", &[0x39, 0x04, 0xe1][..], "-1250"),
        ("1E+2", &[0x18, 0x64][..], "100"),
        ("100.00", &[0x18, 0x64][..], "100"),
        ("1.5", &[0xc4, 0x82, 0x20, 0x0f][..], "1.5"),
        ("0.0000001", &[0xc4, 0x82, 0x26, 0x01][..], "1E-7"),
        ("1.2E-130", &[0xc4, 0x82, 0x38, 0x82, 0x0c][..], "1.2E-130"),
    ] {
        let (frame, back) = reply(n);
        assert!(
            frame.windows(cbor.len()).any(|w| w == cbor),
            "{n}: {cbor:02x?} in {frame:02x?}"
        );
        assert_eq!(back, spelled, "{n}");
    }
    // Beyond 64 bits: a bignum.
    let (frame, back) = reply("1.2E+130");
    assert!(frame.windows(3).any(|w| w == [0xc2, 0x58, 0x37]));
    assert_eq!(back, format!("12{}", "0".repeat(129)));
    // Clients keep the official client's bytes: a decimal fraction for `1.25E+3`.
    let catalog = MemoryCatalog::default();
    catalog.insert_attribute_list(100, vec!["n".into()]);
    let item = [("n".to_owned(), AttributeValue::N("1.25E+3".into()))].into();
    let values = encode_values(&item, None, &catalog).unwrap();
    assert!(
        values.ends_with(&[0xc4, 0x82, 0x01, 0x18, 0x7d]),
        "{values:02x?}"
    );
}
