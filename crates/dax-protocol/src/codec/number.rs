//! DynamoDB numbers (`N` strings) ⇄ DAX CBOR numbers (docs/dax-protocol.md §5.3).
//!
//! The `N` string is the source of truth. Integers without `.`/`e`/`E` travel as CBOR ints
//! (major 0/1, up to ±2^64) or bignums (tags 2/3); everything else as a decimal fraction
//! (tag 4, `[exponent, mantissa]`) that keeps trailing zeros (`1.50` stays `[-2, 150]`). This is
//! the Python client's form; Node sends some decimals as float64 and integers above 2^53 as
//! bignums, so the decoder accepts ints, bignums, decimals (int or bignum mantissa) and
//! float16/32/64. Decoded numbers are spelled as the official Python client spells them
//! (`str(Decimal)`, the to-scientific-string rule: `1.50`, `-1.25E+3`, `1E-7`; integers in
//! plain digits), with the exact digits, so that re-encoding gives the same digits (this
//! matters for lexdecimal range keys, where `1.5` and `1.50` differ). Server replies
//! ([`Writer::server`]) write every integral value as a CBOR integer, as a DAX node does.

use num_bigint::BigUint;

use super::cbor::{Reader, Writer};
use super::decimal::{Decimal, Limits};
use super::error::CodecError;

const TAG_POS_BIGNUM: u64 = 2;
const TAG_NEG_BIGNUM: u64 = 3;
const TAG_DECIMAL: u64 = 4;

/// Longest bignum magnitude accepted on decode (2^1024 > 10^308).
const MAX_BIGNUM_BYTES: usize = 128;
/// Most digits an integral number written as a CBOR integer may have (server side, see
/// [`write_decimal`]): DynamoDB's largest, 9.9…9E+125, has 126.
const MAX_INTEGRAL_DIGITS: usize = 400;

/// Parses a DynamoDB number string with the codec's limits.
pub(crate) fn parse_number(n: &str) -> Result<Decimal, CodecError> {
    Decimal::parse(n, Limits::CODEC)
        .map_err(|why| CodecError::invalid("number", format!("{n:?}: {why}")))
}

/// Largest decimal exponent magnitude accepted on decode. DynamoDB's numbers need about ±170
/// (38 digits, magnitudes 1E-130 to 1E+126); anything near `i64`'s bounds is hostile, and
/// keeping exponents small keeps every exponent computation below far from overflow.
pub(crate) const MAX_DECODED_EXPONENT: i64 = 1_000_000_000;

/// `±digits × 10^exponent` as the official Python client spells a decimal: the General
/// Decimal Arithmetic *to-scientific-string* rule (Python's `str(Decimal)`, Java's
/// `BigDecimal.toString()`), with the digits kept exactly (`1.50` stays `1.50`).
///
/// With `adjusted = exponent + (digits − 1)`: if `exponent ≤ 0` and `adjusted ≥ −6`, plain
/// notation (`1.5`, `0.0000125`, `1250`); otherwise one digit before the point and an
/// explicit exponent sign (`-1.25E+3`, `9.9E+125`, `1E-7`). Zero is `0` with its scale
/// (`0.00`, `0E+2`, `0E-7`); its sign is dropped (DynamoDB has no negative zero).
///
/// `exponent` must be within ±[`MAX_DECODED_EXPONENT`] (callers check; saturating arithmetic
/// keeps anything else from overflowing).
pub(crate) fn format_decimal(negative: bool, digits: &str, exponent: i64) -> String {
    let zero = digits.is_empty() || digits.bytes().all(|c| c == b'0');
    let digits = if zero { "0" } else { digits };
    let sign = if negative && !zero { "-" } else { "" };
    let len = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    let adjusted = exponent.saturating_add(len - 1);
    // Built with push_str into one exact-size allocation (no formatting machinery: this runs
    // for every number of every decoded item).
    if exponent <= 0 && adjusted >= -6 {
        if exponent == 0 {
            let mut out = String::with_capacity(sign.len() + digits.len());
            out.push_str(sign);
            out.push_str(digits);
            return out;
        }
        // -exponent <= len + 6 here, so it fits in usize.
        let scale = exponent.unsigned_abs() as usize;
        return if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            let mut out = String::with_capacity(sign.len() + digits.len() + 1);
            out.push_str(sign);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
            out
        } else {
            let zeros = scale - digits.len();
            let mut out = String::with_capacity(sign.len() + 2 + zeros + digits.len());
            out.push_str(sign);
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', zeros));
            out.push_str(digits);
            out
        };
    }
    let (first, rest) = digits.split_at(1);
    let point = if rest.is_empty() { "" } else { "." };
    let exp_sign = if adjusted >= 0 { "+" } else { "-" };
    let exp = SmallDigits::of(u128::from(adjusted.unsigned_abs()));
    let exp = match exp.as_str() {
        "" => "0",
        e => e,
    };
    let mut out = String::with_capacity(sign.len() + digits.len() + point.len() + 2 + exp.len());
    out.push_str(sign);
    out.push_str(first);
    out.push_str(point);
    out.push_str(rest);
    out.push('E');
    out.push_str(exp_sign);
    out.push_str(exp);
    out
}

/// The decimal digits of an integer up to `u128::MAX` (39 digits), on the stack; no digits at
/// all for zero (as `format_decimal` takes it).
struct SmallDigits {
    buf: [u8; 40],
    start: usize,
}

impl SmallDigits {
    fn of(v: u128) -> Self {
        let mut buf = [b'0'; 40];
        let mut start = buf.len();
        match u64::try_from(v) {
            // The common case, without 128-bit divisions.
            Ok(mut v) => {
                while v != 0 {
                    start -= 1;
                    buf[start] = b'0' + (v % 10) as u8;
                    v /= 10;
                }
            }
            Err(_) => {
                let mut v = v;
                while v != 0 {
                    start -= 1;
                    buf[start] = b'0' + (v % 10) as u8;
                    v /= 10;
                }
            }
        }
        SmallDigits { buf, start }
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits are ever written.
        std::str::from_utf8(&self.buf[self.start..]).unwrap_or_default()
    }
}

/// The magnitude digits [`read_integer`] returns: on the stack for CBOR integers, a `String`
/// for bignums; empty for zero.
enum IntDigits {
    Small(SmallDigits),
    Big(String),
}

impl IntDigits {
    fn as_str(&self) -> &str {
        match self {
            IntDigits::Small(d) => d.as_str(),
            IntDigits::Big(s) => s,
        }
    }
}

/// Checks a decoded decimal exponent against [`MAX_DECODED_EXPONENT`].
fn checked_exponent(exponent: i64, at: usize) -> Result<i64, CodecError> {
    if (-MAX_DECODED_EXPONENT..=MAX_DECODED_EXPONENT).contains(&exponent) {
        Ok(exponent)
    } else {
        Err(CodecError::malformed(
            format!("decimal exponent {exponent} is out of range"),
            at,
        ))
    }
}

/// Writes `±digits` as a CBOR int or bignum (Python's `append_int`).
fn write_integer(w: &mut Writer<'_>, negative: bool, digits: &str) {
    if digits.is_empty() {
        w.u64(0);
        return;
    }
    if digits.len() <= 38 {
        if let Ok(mag) = digits.parse::<u128>() {
            // Major type 0 up to 2^64 - 1, major type 1 down to -2^64.
            match (negative, u64::try_from(mag), u64::try_from(mag - 1)) {
                (false, Ok(m), _) => {
                    w.u64(m);
                    return;
                }
                (true, _, Ok(m)) => {
                    w.neg(m);
                    return;
                }
                _ => {}
            }
        }
    }
    // Beyond 64 bits: bignum of the magnitude (tag 2) or of magnitude - 1 (tag 3).
    let mut mag = BigUint::parse_bytes(digits.as_bytes(), 10).unwrap_or_default();
    if negative {
        mag -= 1u8;
        w.tag(TAG_NEG_BIGNUM);
    } else {
        w.tag(TAG_POS_BIGNUM);
    }
    w.bytes(&mag.to_bytes_be());
}

/// Encodes a DynamoDB number string as the Python client does.
pub(crate) fn write_number(w: &mut Writer<'_>, n: &str) -> Result<(), CodecError> {
    let d = parse_number(n)?;
    write_decimal(w, &d);
    Ok(())
}

pub(crate) fn write_decimal(w: &mut Writer<'_>, d: &Decimal) {
    if d.integer_form {
        write_integer(w, d.negative, &d.digits);
        return;
    }
    if w.integral_as_int {
        if let Some(digits) = integral_digits(d) {
            write_integer(w, d.negative, &digits);
            return;
        }
    }
    // Python's client keeps the digits as written, except at exponent 0, where its
    // `str(Decimal)` round trip hands the trailing zeros to the exponent: "100e0" -> [2, 1],
    // while "120.0e0" (exponent -1) stays [-1, 1200].
    let (digits, exponent) = if d.exponent == 0 {
        let trimmed = d.digits.trim_end_matches('0');
        (trimmed, (d.digits.len() - trimmed.len()) as i64)
    } else {
        (d.digits.as_str(), d.exponent)
    };
    w.tag(TAG_DECIMAL).array(2).i64(exponent);
    write_integer(w, d.negative, digits);
}

/// The digits of `d` as an integer, if its value is integral (`1.25E+3` → `1250`, `1.0` → `1`,
/// `0.00` → ``) and has at most [`MAX_INTEGRAL_DIGITS`] digits.
fn integral_digits(d: &Decimal) -> Option<String> {
    if d.is_zero() {
        return Some(String::new());
    }
    if d.exponent >= 0 {
        let zeros = usize::try_from(d.exponent).ok()?;
        if d.digits.len().checked_add(zeros)? > MAX_INTEGRAL_DIGITS {
            return None;
        }
        return Some(format!("{}{}", d.digits, "0".repeat(zeros)));
    }
    let drop = usize::try_from(d.exponent.unsigned_abs()).ok()?;
    let (int, frac) = d.digits.split_at(d.digits.len().checked_sub(drop)?);
    (frac.bytes().all(|c| c == b'0') && !int.is_empty()).then(|| int.to_owned())
}

/// A CBOR integer or bignum as (negative, magnitude digits).
fn read_integer(r: &mut Reader<'_>) -> Result<(bool, IntDigits), CodecError> {
    use minicbor::data::Type;
    match r.datatype()? {
        Type::Tag => {
            let at = r.position();
            let tag = r.tag()?;
            let bytes = r.bytes()?;
            if bytes.len() > MAX_BIGNUM_BYTES {
                return Err(CodecError::LimitExceeded {
                    what: "bignum length",
                });
            }
            let mut mag = BigUint::from_bytes_be(&bytes);
            match tag {
                TAG_POS_BIGNUM => Ok((false, IntDigits::Big(digits_of(&mag)))),
                TAG_NEG_BIGNUM => {
                    mag += 1u8;
                    Ok((true, IntDigits::Big(digits_of(&mag))))
                }
                t => Err(CodecError::malformed(
                    format!("unexpected tag {t} in a number"),
                    at,
                )),
            }
        }
        _ => {
            let i = i128::from(r.int()?);
            Ok((i < 0, IntDigits::Small(SmallDigits::of(i.unsigned_abs()))))
        }
    }
}

fn digits_of(mag: &BigUint) -> String {
    let s = mag.to_str_radix(10);
    if s == "0" {
        String::new()
    } else {
        s
    }
}

/// Decodes any number form a DAX peer sends into a DynamoDB number string.
pub(crate) fn read_number(r: &mut Reader<'_>) -> Result<String, CodecError> {
    let ty = r.datatype()?;
    read_number_of(r, ty)
}

/// [`read_number`] when the caller already knows the next item's type.
pub(crate) fn read_number_of(
    r: &mut Reader<'_>,
    ty: minicbor::data::Type,
) -> Result<String, CodecError> {
    use minicbor::data::Type;
    let at = r.position();
    match ty {
        Type::F16 | Type::F32 | Type::F64 => {
            let f = r.f64()?;
            float_to_n(f, ty == Type::F64)
                .ok_or_else(|| CodecError::malformed("non-finite number", at))
        }
        Type::Tag => {
            // Peek the tag without consuming: decimals and bignums both start with one.
            let mut probe = Reader::new(&r.input()[at..]);
            if probe.tag()? == TAG_DECIMAL {
                r.tag()?;
                let mut seq = r.array()?;
                if !r.next(&mut seq)? {
                    return Err(CodecError::malformed(
                        "decimal needs [exponent, mantissa]",
                        at,
                    ));
                }
                let exponent_at = r.position();
                let exponent = checked_exponent(r.i64()?, exponent_at)?;
                if !r.next(&mut seq)? {
                    return Err(CodecError::malformed(
                        "decimal needs [exponent, mantissa]",
                        at,
                    ));
                }
                let (negative, digits) = read_integer(r)?;
                if r.next(&mut seq)? {
                    return Err(CodecError::malformed(
                        "decimal has more than 2 elements",
                        at,
                    ));
                }
                Ok(format_decimal(negative, digits.as_str(), exponent))
            } else {
                let (negative, digits) = read_integer(r)?;
                Ok(format_decimal(negative, digits.as_str(), 0))
            }
        }
        _ => {
            // A plain CBOR integer: its digits are the number (exponent 0).
            let i = i128::from(r.int()?);
            let digits = SmallDigits::of(i.unsigned_abs());
            let digits = match digits.as_str() {
                "" => "0",
                d => d,
            };
            let mut out = String::with_capacity(digits.len() + 1);
            if i < 0 {
                out.push('-');
            }
            out.push_str(digits);
            Ok(out)
        }
    }
}

/// The shortest decimal that round-trips the float (as Node produced it from the `N` string).
pub(crate) fn float_to_n(f: f64, is_f64: bool) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    // f16/f32 values widened to f64 print their own shortest form, not the f64's.
    let sci = if is_f64 {
        format!("{f:e}")
    } else {
        format!("{:e}", f as f32)
    };
    let (mantissa, exp) = sci.split_once('e')?;
    let exp: i64 = exp.parse().ok()?;
    let negative = mantissa.starts_with('-');
    let mantissa = mantissa.trim_start_matches('-');
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits = format!("{int}{frac}");
    let lead = digits.bytes().take_while(|&c| c == b'0').count();
    digits.drain(..lead);
    Some(format_decimal(negative, &digits, exp - frac.len() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(n: &str) -> String {
        let mut out = Vec::new();
        write_number(&mut Writer::new(&mut out), n).unwrap();
        hex::encode(out)
    }

    fn dec(hex_in: &str) -> String {
        let b = hex::decode(hex_in).unwrap();
        let mut r = Reader::new(&b);
        let s = read_number(&mut r).unwrap();
        r.finish().unwrap();
        s
    }

    #[test]
    fn doc_vectors() {
        assert_eq!(enc("18446744073709551615"), "1bffffffffffffffff");
        assert_eq!(enc("18446744073709551616"), "c249010000000000000000");
        assert_eq!(enc("-18446744073709551617"), "c349010000000000000000");
        assert_eq!(enc("-18446744073709551616"), "3bffffffffffffffff");
        assert_eq!(enc("1.50"), "c482211896");
        assert_eq!(enc("3.14E11"), "c4820919013a");
        assert_eq!(enc("-0.5"), "c4822024");
        assert_eq!(enc("0.0"), "c4822000");
        assert_eq!(enc("42"), "182a");
        assert_eq!(enc("-0"), "00");
    }

    /// At exponent 0 the official client moves trailing zeros into the exponent (checked
    /// against `CborEncoder.append_number` of amazon-dax-client 2.1.0).
    #[test]
    fn exponent_zero_gives_trailing_zeros_to_the_exponent() {
        assert_eq!(enc("100e0"), "c4820201");
        assert_eq!(enc("100E+0"), "c4820201");
        assert_eq!(enc("1e0"), "c4820001");
        assert_eq!(enc("120.0e0"), "c482201904b0"); // exponent -1: digits kept
    }

    #[test]
    fn decodes_every_form() {
        assert_eq!(dec("c482211896"), "1.50");
        assert_eq!(dec("c4820919013a"), "3.14E+11");
        assert_eq!(dec("c249010000000000000000"), "18446744073709551616");
        assert_eq!(dec("c349010000000000000000"), "-18446744073709551617");
        assert_eq!(dec("3bffffffffffffffff"), "-18446744073709551616");
        assert_eq!(dec("fb4004000000000000"), "2.5");
        assert_eq!(dec("fb3e7ad7f29abcaf48"), "1E-7");
        assert_eq!(dec("f93e00"), "1.5");
        assert_eq!(dec("fa3dcccccd"), "0.1");
        assert_eq!(dec("c48229c248112210f47de98115"), "123456789.0123456789");
        assert_eq!(dec("c4822000"), "0.0");
    }

    fn dec_err(hex_in: &str) -> CodecError {
        let b = hex::decode(hex_in).unwrap();
        read_number(&mut Reader::new(&b)).unwrap_err()
    }

    /// The official Python client's spelling (`str(Decimal)`, the General Decimal Arithmetic
    /// to-scientific-string rule), checked against Python 3.11's `decimal`.
    #[test]
    fn decimals_are_spelled_as_to_scientific_string() {
        for (negative, digits, exponent, want) in [
            (true, "125", 1, "-1.25E+3"),
            (false, "99", 124, "9.9E+125"),
            (false, "15", -1, "1.5"),
            (false, "1", -7, "1E-7"),
            (false, "1", -6, "0.000001"),
            (false, "125", -8, "0.00000125"),
            (false, "125", -9, "1.25E-7"),
            (false, "1", 0, "1"),
            (false, "1", 2, "1E+2"),
            (false, "100", 0, "100"),
            (false, "150", -2, "1.50"),
            (true, "5", -1, "-0.5"),
            (false, "", -1, "0.0"),
            (false, "", 0, "0"),
            (false, "", 2, "0E+2"),
            (false, "", -7, "0E-7"),
            (true, "", -2, "0.00"),
            (false, "1234567890123", -3, "1234567890.123"),
            (false, "1", -130, "1E-130"),
            (false, "1", MAX_DECODED_EXPONENT, "1E+1000000000"),
            (true, "12", -MAX_DECODED_EXPONENT, "-1.2E-999999999"),
        ] {
            assert_eq!(format_decimal(negative, digits, exponent), want);
        }
        // Even out of range it cannot overflow (callers reject these first).
        assert_eq!(
            format_decimal(false, "12", i64::MAX),
            "1.2E+9223372036854775807"
        );
        assert_eq!(
            format_decimal(false, "12", i64::MIN),
            "1.2E-9223372036854775807"
        );
        assert_eq!(
            format_decimal(false, "", i64::MIN),
            "0E-9223372036854775808"
        );
    }

    #[test]
    fn decoded_decimals_use_the_python_spelling() {
        assert_eq!(dec("c482013830"), "-4.9E+2"); // [1, -49]
        assert_eq!(dec("c48201387c"), "-1.25E+3"); // [1, -125]
        assert_eq!(dec("c482187c1863"), "9.9E+125"); // [124, 99]
        assert_eq!(dec("c4822601"), "1E-7"); // [-7, 1]
        assert_eq!(dec("c482200f"), "1.5"); // [-1, 15]
        assert_eq!(dec("c4820201"), "1E+2"); // [2, 1]
        assert_eq!(dec("1904e2"), "1250"); // integers stay plain
        assert_eq!(dec("c48202c2410f"), "1.5E+3"); // bignum mantissa
    }

    /// Exponent -2^63 (and anything near the `i64` bounds) is a decode error, not an overflow.
    #[test]
    fn extreme_exponents_are_a_decode_error() {
        for hex_in in [
            "c4823b7fffffffffffffff01", // [-2^63, 1]
            "c4823b7fffffffffffffff00", // [-2^63, 0] (zero)
            "c4823b7fffffffffffffff387c",
            "c4821b7fffffffffffffff01",     // [2^63 - 1, 1]
            "c4823b7fffffffffffffffc2410f", // bignum mantissa
            "c4823bffffffffffffffff01",     // -2^64: not an i64
            "c4821a3b9aca0101",             // [1_000_000_001, 1]
        ] {
            let e = dec_err(hex_in);
            assert!(
                e.to_string().contains("out of range")
                    || e.to_string().contains("i64")
                    || !e.to_string().is_empty(),
                "{e}"
            );
        }
        assert_eq!(dec("c4821a3b9aca0001"), "1E+1000000000");
        assert_eq!(dec("c4823a3b9ac9ff01"), "1E-1000000000");
    }

    /// Server replies write integral values as CBOR integers, whatever the spelling; clients
    /// keep the Python client's bytes.
    #[test]
    fn server_replies_write_integral_values_as_integers() {
        let server = |n: &str| {
            let mut out = Vec::new();
            write_number(&mut Writer::server(&mut out), n).unwrap();
            hex::encode(out)
        };
        assert_eq!(server("1250"), "1904e2");
        assert_eq!(server("1.25E+3"), "1904e2");
        assert_eq!(server("-1.25E+3"), "3904e1");
        assert_eq!(server("1E+2"), "1864");
        assert_eq!(server("100e0"), "1864");
        assert_eq!(server("1.0"), "01");
        assert_eq!(server("0.00"), "00");
        assert_eq!(server("1E+20"), "c249056bc75e2d63100000");
        assert_eq!(server("1.5"), "c482200f");
        assert_eq!(server("1.25E+1"), "c48220187d");
        assert_eq!(server("1E-7"), "c4822601");
        // Beyond 400 digits: a decimal fraction.
        assert_eq!(server("1E+500"), "c4821901f401");
        assert_eq!(enc("1.25E+3"), "c48201187d");
        assert_eq!(enc("1250"), "1904e2");
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "", "-", ".", "1e", "1.2.3", "NaN", "Infinity", " 1", "1_0", "0x10",
        ] {
            assert!(parse_number(s).is_err(), "{s:?}");
        }
        let b = hex::decode("fb7ff0000000000000").unwrap();
        assert!(read_number(&mut Reader::new(&b)).is_err());
    }
}
