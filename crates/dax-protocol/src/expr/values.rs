//! AttributeValue <-> CBOR for the value list of a compiled expression (docs/dax-protocol.md §5.2,
//! §5.3), byte for byte as the official Python client encodes it (its `AttributeValueEncoder` and
//! `CborEncoder.append_number`).
//!
//! Encoding goes through the codec's AttributeValue encoder after the client's checks on
//! expression values (below). The decoder here is still the expression module's own, for the
//! minicbor `Decoder` the decompiler walks trees with.
//!
//! Numbers: an `N` string without `.`, `e`, `E` is an integer (CBOR int, or tag 2/3 bignum
//! beyond 64 bits); otherwise it goes through Python's `decimal` with DynamoDB's context
//! (precision 38, exponents -128..126, every inexact or clamped result an error) and is written
//! as tag 4 `[exponent, mantissa]` with the trailing zeros the string had, except that an
//! exponent of 0 gives its trailing zeros to the exponent (`"100e0"` → `[2, 1]`), as Python's
//! `str(Decimal)` round trip does.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use minicbor::data::Type;
use minicbor::Decoder;

use crate::codec::decimal::{Decimal, Limits};
use crate::codec::number;

pub(crate) const TAG_POS_BIGNUM: u64 = 2;
pub(crate) const TAG_NEG_BIGNUM: u64 = 3;
pub(crate) const TAG_DECIMAL: u64 = 4;
pub(crate) const TAG_STRING_SET: u64 = 3321;
pub(crate) const TAG_NUMBER_SET: u64 = 3322;
pub(crate) const TAG_BINARY_SET: u64 = 3323;
pub(crate) const TAG_LIST_INDEX: u64 = 3324;

pub(crate) const MAJOR_UINT: u8 = 0;
pub(crate) const MAJOR_NINT: u8 = 1;
pub(crate) const MAJOR_BYTES: u8 = 2;
pub(crate) const MAJOR_TEXT: u8 = 3;
pub(crate) const MAJOR_ARRAY: u8 = 4;
pub(crate) const MAJOR_TAG: u8 = 6;

/// Writes a CBOR head in its shortest form.
pub(crate) fn head(out: &mut Vec<u8>, major: u8, val: u64) {
    let m = major << 5;
    match val {
        0..=23 => out.push(m | val as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, val as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(val as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(val as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&val.to_be_bytes());
        }
    }
}

pub(crate) fn text(out: &mut Vec<u8>, s: &str) {
    head(out, MAJOR_TEXT, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, MAJOR_BYTES, b.len() as u64);
    out.extend_from_slice(b);
}

/// Encodes `av` into a compiled expression's value list: the official client's checks on
/// expression values first, then the codec's AttributeValue encoder (one encoder for items and
/// expressions). The error is a reason for `ExpressionAttributeValues contains invalid value`.
pub(crate) fn encode(out: &mut Vec<u8>, av: &AttributeValue) -> Result<(), String> {
    check(av)?;
    crate::codec::encode_attribute_value(av, out).map_err(|e| e.to_string())
}

/// What the client rejects in expression values: empty sets, unknown types, and numbers its
/// decimal context cannot hold exactly.
fn check(av: &AttributeValue) -> Result<(), String> {
    const EMPTY: &str =
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes";
    match av {
        AttributeValue::N(n) => check_number(n),
        AttributeValue::Ss(v) | AttributeValue::Ns(v) if v.is_empty() => Err(EMPTY.to_owned()),
        AttributeValue::Bs(v) if v.is_empty() => Err(EMPTY.to_owned()),
        AttributeValue::Ns(v) => v.iter().try_for_each(|n| check_number(n)),
        AttributeValue::L(v) => v.iter().try_for_each(check),
        AttributeValue::M(m) => m.values().try_for_each(check),
        AttributeValue::S(_)
        | AttributeValue::B(_)
        | AttributeValue::Bool(_)
        | AttributeValue::Null(_)
        | AttributeValue::Ss(_)
        | AttributeValue::Bs(_) => Ok(()),
        _ => Err("unknown AttributeValue type".to_owned()),
    }
}

// ---------------------------------------------------------------------------- numbers

/// Parses a number string, syntax only (the codec's length limits apply when the value is
/// encoded).
pub(crate) fn parse_number(s: &str) -> Option<Decimal> {
    Decimal::parse(s, Limits::NONE).ok()
}

/// Python's DYNAMODB_CONTEXT (precision 38, Emax 126, Emin -128, so Etiny -165; traps on
/// Rounded, Inexact, Overflow, Underflow and Clamped): a decimal it cannot hold exactly is an
/// error in the client. Integers (no `.`, `e`, `E`) take Python's integer path: no limit.
fn check_number(s: &str) -> Result<(), String> {
    let d = parse_number(s).ok_or_else(|| format!("invalid number {s:?}"))?;
    if d.integer_form {
        return Ok(());
    }
    if d.is_zero() {
        if !(-165..=126).contains(&d.exponent) {
            return Err(format!("number {s:?} is out of the client's decimal range"));
        }
    } else {
        let adjusted = d.exponent.saturating_add(d.digits.len() as i64 - 1);
        if d.digits.len() > 38 || adjusted > 126 || d.exponent < -165 {
            return Err(format!(
                "number {s:?} cannot be represented exactly in 38 digits"
            ));
        }
    }
    Ok(())
}

/// Writes the integer ±`digits` (decimal, no sign): CBOR int when it fits, else a bignum.
pub(crate) fn int_digits(out: &mut Vec<u8>, negative: bool, digits: &str) {
    let mut magnitude = decimal_to_be_bytes(digits);
    if negative {
        // CBOR stores -1 - n.
        for byte in magnitude.iter_mut().rev() {
            let (v, borrow) = byte.overflowing_sub(1);
            *byte = v;
            if !borrow {
                break;
            }
        }
        trim_leading_zeros(&mut magnitude);
    }
    if magnitude.len() <= 8 {
        let mut buf = [0u8; 8];
        buf[8 - magnitude.len()..].copy_from_slice(&magnitude);
        head(
            out,
            if negative { MAJOR_NINT } else { MAJOR_UINT },
            u64::from_be_bytes(buf),
        );
    } else {
        head(
            out,
            MAJOR_TAG,
            if negative {
                TAG_NEG_BIGNUM
            } else {
                TAG_POS_BIGNUM
            },
        );
        bytes(out, &magnitude);
    }
}

fn trim_leading_zeros(b: &mut Vec<u8>) {
    let zeros = b.iter().take_while(|&&x| x == 0).count();
    b.drain(..zeros);
}

/// Decimal digits → minimal big-endian magnitude (empty for zero).
fn decimal_to_be_bytes(digits: &str) -> Vec<u8> {
    // Little-endian base-2^32 limbs.
    let mut limbs: Vec<u32> = Vec::with_capacity(digits.len() / 9 + 1);
    for chunk in digits.as_bytes().chunks(9) {
        let (mut mul, mut add) = (1u64, 0u64);
        for &c in chunk {
            mul *= 10;
            add = add * 10 + u64::from(c - b'0');
        }
        let mut carry = add;
        for limb in &mut limbs {
            let v = u64::from(*limb) * mul + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            limbs.push(carry as u32);
        }
    }
    let mut out: Vec<u8> = limbs.iter().rev().flat_map(|l| l.to_be_bytes()).collect();
    trim_leading_zeros(&mut out);
    out
}

/// Big-endian magnitude → decimal digits.
fn be_bytes_to_decimal(bytes: &[u8]) -> String {
    let mut limbs: Vec<u32> = Vec::new(); // big-endian base-2^32
    let pad = (4 - bytes.len() % 4) % 4;
    let padded: Vec<u8> = std::iter::repeat_n(0u8, pad)
        .chain(bytes.iter().copied())
        .collect();
    for c in padded.chunks(4) {
        limbs.push(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
    }
    let mut groups = Vec::new(); // base 10^9, least significant first
    while limbs.iter().any(|&l| l != 0) {
        let mut rem = 0u64;
        for limb in &mut limbs {
            let v = (rem << 32) | u64::from(*limb);
            *limb = (v / 1_000_000_000) as u32;
            rem = v % 1_000_000_000;
        }
        groups.push(rem as u32);
    }
    match groups.split_last() {
        None => "0".to_owned(),
        Some((top, rest)) => {
            let mut s = top.to_string();
            for g in rest.iter().rev() {
                s.push_str(&format!("{g:09}"));
            }
            s
        }
    }
}

// ---------------------------------------------------------------------------- decoding

/// Reads one AttributeValue (the inverse of [`encode`]); also accepts what other clients send
/// (floats, bignum mantissas, indefinite-length containers).
pub(crate) fn decode(d: &mut Decoder<'_>) -> Result<AttributeValue, String> {
    decode_at(d, 0)
}

/// Deepest nesting of `L` and `M` values [`decode`] follows (the codec's CBOR depth limit;
/// DynamoDB's own is 32).
pub(crate) const MAX_VALUE_DEPTH: usize = 48;

fn decode_at(d: &mut Decoder<'_>, depth: usize) -> Result<AttributeValue, String> {
    if depth > MAX_VALUE_DEPTH {
        return Err(format!(
            "values nested deeper than {MAX_VALUE_DEPTH} levels"
        ));
    }
    Ok(match d.datatype().map_err(|e| e.to_string())? {
        Type::String | Type::StringIndef => AttributeValue::S(read_text(d)?),
        Type::Bytes | Type::BytesIndef => AttributeValue::B(Blob::new(read_bytes(d)?)),
        Type::Bool => AttributeValue::Bool(d.bool().map_err(|e| e.to_string())?),
        Type::Null => {
            d.null().map_err(|e| e.to_string())?;
            AttributeValue::Null(true)
        }
        Type::Array | Type::ArrayIndef => {
            let mut items = Vec::new();
            for_each_item(d, |d| {
                items.push(decode_at(d, depth + 1)?);
                Ok(())
            })?;
            AttributeValue::L(items)
        }
        Type::Map | Type::MapIndef => {
            let mut map = std::collections::HashMap::new();
            let len = d.map().map_err(|e| e.to_string())?;
            let mut n = 0u64;
            loop {
                match len {
                    Some(len) if n == len => break,
                    None if d.datatype().map_err(|e| e.to_string())? == Type::Break => {
                        d.skip().map_err(|e| e.to_string())?;
                        break;
                    }
                    _ => {}
                }
                let k = read_text(d)?;
                map.insert(k, decode_at(d, depth + 1)?);
                n += 1;
            }
            AttributeValue::M(map)
        }
        Type::Tag => {
            let pos = d.position();
            let tag = d.tag().map_err(|e| e.to_string())?.as_u64();
            match tag {
                TAG_STRING_SET | TAG_NUMBER_SET | TAG_BINARY_SET => {
                    let mut ss = Vec::new();
                    let mut bs = Vec::new();
                    for_each_item(d, |d| {
                        match tag {
                            TAG_STRING_SET => ss.push(read_text(d)?),
                            TAG_NUMBER_SET => ss.push(read_number(d)?),
                            _ => bs.push(Blob::new(read_bytes(d)?)),
                        }
                        Ok(())
                    })?;
                    match tag {
                        TAG_STRING_SET => AttributeValue::Ss(ss),
                        TAG_NUMBER_SET => AttributeValue::Ns(ss),
                        _ => AttributeValue::Bs(bs),
                    }
                }
                _ => {
                    d.set_position(pos);
                    AttributeValue::N(read_number(d)?)
                }
            }
        }
        _ => AttributeValue::N(read_number(d)?),
    })
}

fn read_text(d: &mut Decoder<'_>) -> Result<String, String> {
    if d.datatype().map_err(|e| e.to_string())? == Type::StringIndef {
        let mut s = String::new();
        for chunk in d.str_iter().map_err(|e| e.to_string())? {
            s.push_str(chunk.map_err(|e| e.to_string())?);
        }
        return Ok(s);
    }
    d.str().map(str::to_owned).map_err(|e| e.to_string())
}

fn read_bytes(d: &mut Decoder<'_>) -> Result<Vec<u8>, String> {
    if d.datatype().map_err(|e| e.to_string())? == Type::BytesIndef {
        let mut v = Vec::new();
        for chunk in d.bytes_iter().map_err(|e| e.to_string())? {
            v.extend_from_slice(chunk.map_err(|e| e.to_string())?);
        }
        return Ok(v);
    }
    d.bytes().map(<[u8]>::to_vec).map_err(|e| e.to_string())
}

/// Calls `f` once per item of a definite or indefinite array.
pub(crate) fn for_each_item(
    d: &mut Decoder<'_>,
    mut f: impl FnMut(&mut Decoder<'_>) -> Result<(), String>,
) -> Result<u64, String> {
    let len = d.array().map_err(|e| e.to_string())?;
    let mut n = 0u64;
    loop {
        match len {
            Some(len) if n == len => return Ok(n),
            None if d.datatype().map_err(|e| e.to_string())? == Type::Break => {
                d.skip().map_err(|e| e.to_string())?;
                return Ok(n);
            }
            _ => {}
        }
        f(d)?;
        n += 1;
    }
}

/// An integer (int or bignum) as a signed decimal string.
pub(crate) fn read_integer(d: &mut Decoder<'_>) -> Result<String, String> {
    match d.datatype().map_err(|e| e.to_string())? {
        Type::Tag => {
            let tag = d.tag().map_err(|e| e.to_string())?.as_u64();
            let magnitude = read_bytes(d)?;
            // As the codec (2^1024 > 10^308): the conversion to decimal is quadratic.
            if magnitude.len() > 128 {
                return Err(format!(
                    "bignum of {} bytes is longer than 128",
                    magnitude.len()
                ));
            }
            match tag {
                TAG_POS_BIGNUM => Ok(be_bytes_to_decimal(&magnitude)),
                TAG_NEG_BIGNUM => {
                    // -1 - n
                    let mut m = magnitude;
                    let mut carry = true;
                    for byte in m.iter_mut().rev() {
                        let (v, c) = byte.overflowing_add(1);
                        *byte = v;
                        carry = c;
                        if !c {
                            break;
                        }
                    }
                    if carry {
                        m.insert(0, 1);
                    }
                    Ok(format!("-{}", be_bytes_to_decimal(&m)))
                }
                other => Err(format!("unexpected tag {other} for an integer")),
            }
        }
        _ => d
            .int()
            .map(|i| i128::from(i).to_string())
            .map_err(|e| e.to_string()),
    }
}

/// A number (int, bignum, decimal fraction or float) as a DynamoDB `N` string that encodes
/// back to the same bytes whenever the bytes are what the Python client writes: spelled as
/// the Python client spells it (`str(Decimal)`, see `codec::number::format_decimal`), except
/// that a decimal fraction with exponent 0 is `<mantissa>E0`.
pub(crate) fn read_number(d: &mut Decoder<'_>) -> Result<String, String> {
    match d.datatype().map_err(|e| e.to_string())? {
        Type::F16 | Type::F32 | Type::F64 => {
            let is_f64 = d.datatype().map_err(|e| e.to_string())? == Type::F64;
            let f = d.f64().map_err(|e| e.to_string())?;
            number::float_to_n(f, is_f64).ok_or_else(|| format!("number {f} is not finite"))
        }
        Type::Tag => {
            let pos = d.position();
            if d.tag().map_err(|e| e.to_string())?.as_u64() != TAG_DECIMAL {
                d.set_position(pos);
                return read_integer(d);
            }
            let mut parts = Vec::with_capacity(2);
            let n = for_each_item(d, |d| {
                parts.push(read_integer(d)?);
                Ok(())
            })?;
            if n != 2 {
                return Err("a decimal fraction must be [exponent, mantissa]".to_owned());
            }
            let exponent: i64 = parts[0]
                .parse()
                .ok()
                .filter(|e: &i64| e.unsigned_abs() <= number::MAX_DECODED_EXPONENT.unsigned_abs())
                .ok_or_else(|| format!("decimal exponent {} is out of range", parts[0]))?;
            let (negative, digits) = match parts[1].strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, parts[1].as_str()),
            };
            if exponent == 0 {
                // The Python spelling (`str(Decimal)`) of `[0, m]` is the integer `m`, which
                // compiles back to a CBOR integer: `E0` keeps it a decimal fraction.
                return Ok(format!("{}E0", parts[1]));
            }
            Ok(number::format_decimal(
                negative,
                digits.trim_start_matches('0'),
                exponent,
            ))
        }
        _ => read_integer(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(out: &mut Vec<u8>, n: &str) {
        encode(out, &AttributeValue::N(n.into())).unwrap();
    }

    fn hex(n: &str) -> String {
        let mut out = Vec::new();
        num(&mut out, n);
        out.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn numbers_match_the_doc_vectors() {
        assert_eq!(hex("18446744073709551615"), "1bffffffffffffffff");
        assert_eq!(hex("18446744073709551616"), "c249010000000000000000");
        assert_eq!(hex("-18446744073709551617"), "c349010000000000000000");
        assert_eq!(hex("-18446744073709551616"), "3bffffffffffffffff");
        assert_eq!(hex("1.50"), "c482211896");
        assert_eq!(hex("3.14E11"), "c4820919013a");
        assert_eq!(hex("-0.5"), "c4822024");
        assert_eq!(hex("0.0"), "c4822000");
        assert_eq!(hex("100e0"), "c4820201");
        assert_eq!(hex("-0"), "00");
        assert_eq!(hex("007"), "07");
    }

    #[test]
    fn numbers_decode_to_strings_that_reencode_identically() {
        for n in [
            "1.50",
            "3.14E11",
            "-0.5",
            "0.0",
            "1E-100",
            "-12345678901234567890123.5",
            "1E+5",
            "-7",
            "123456789012345678901234567890",
        ] {
            let mut out = Vec::new();
            num(&mut out, n);
            let back = read_number(&mut Decoder::new(&out)).unwrap();
            let mut again = Vec::new();
            num(&mut again, &back);
            assert_eq!(out, again, "{n} -> {back}");
        }
    }

    #[test]
    fn maps_are_sorted_and_sets_tagged() {
        let av = AttributeValue::M(
            [
                ("b".to_owned(), AttributeValue::N("1".into())),
                ("a".to_owned(), AttributeValue::Bool(true)),
            ]
            .into(),
        );
        let mut out = Vec::new();
        encode(&mut out, &av).unwrap();
        assert_eq!(out, [0xa2, 0x61, b'a', 0xf5, 0x61, b'b', 0x01]);
        let mut out = Vec::new();
        encode(
            &mut out,
            &AttributeValue::Bs(vec![Blob::new(vec![1]), Blob::new(vec![])]),
        )
        .unwrap();
        assert_eq!(out, [0xd9, 0x0c, 0xfb, 0x82, 0x41, 0x01, 0x40]);
        assert!(encode(&mut Vec::new(), &AttributeValue::Ss(vec![])).is_err());
    }
}
