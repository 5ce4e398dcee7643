//! DynamoDB numbers (`N` strings) ⇄ DAX CBOR numbers (docs §5.3).
//!
//! The `N` string is the source of truth. Integers without `.`/`e`/`E` travel as CBOR ints
//! (major 0/1, up to ±2^64) or bignums (tags 2/3); everything else as a decimal fraction
//! (tag 4, `[exponent, mantissa]`) that keeps trailing zeros (`1.50` stays `[-2, 150]`). This is
//! the Python client's form; Node sends some decimals as float64 and integers above 2^53 as
//! bignums, so the decoder accepts ints, bignums, decimals (int or bignum mantissa) and
//! float16/32/64. Decoded numbers are written back in plain notation with the exact digits
//! (`1.50`, `-0.5`), using `<digits>E<exp>` only for positive exponents (`314E9`) and very
//! small magnitudes, so that re-encoding gives the same digits (this matters for
//! lexdecimal range keys, where `1.5` and `1.50` differ).

use num_bigint::BigUint;

use super::cbor::{Reader, Writer};
use super::error::CodecError;

const TAG_POS_BIGNUM: u64 = 2;
const TAG_NEG_BIGNUM: u64 = 3;
const TAG_DECIMAL: u64 = 4;

/// Longest digit string accepted in an `N` (DynamoDB allows 38 significant digits).
const MAX_DIGITS: usize = 400;
/// Longest bignum magnitude accepted on decode (2^1024 > 10^308).
const MAX_BIGNUM_BYTES: usize = 128;
/// Beyond this many leading zeros after the point, `E` notation is used.
const MAX_PLAIN_ZEROS: usize = 40;

/// A number split into sign, significant digits and exponent: `±digits × 10^exponent`.
/// `digits` has no leading zeros (empty for zero) and keeps trailing zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    pub(crate) negative: bool,
    pub(crate) digits: String,
    pub(crate) exponent: i64,
    /// Written without `.`, `e` or `E` (encoded as an integer, not a decimal fraction).
    pub(crate) integer_form: bool,
}

impl Decimal {
    pub(crate) fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Parses a DynamoDB number string (`[+-]digits[.digits][(e|E)[+-]digits]`).
    pub(crate) fn parse(s: &str) -> Result<Decimal, CodecError> {
        let bad = |why: &str| CodecError::invalid("number", format!("{s:?}: {why}"));
        let b = s.as_bytes();
        let mut i = 0;
        let negative = match b.first() {
            Some(b'-') => {
                i = 1;
                true
            }
            Some(b'+') => {
                i = 1;
                false
            }
            _ => false,
        };
        let int_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let int_part = &s[int_start..i];
        let mut frac_part = "";
        let mut integer_form = true;
        if i < b.len() && b[i] == b'.' {
            integer_form = false;
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            frac_part = &s[start..i];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad("no digits"));
        }
        let mut exp: i64 = 0;
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            integer_form = false;
            i += 1;
            let exp_neg = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let digits = &s[start..i];
            if digits.is_empty() || digits.len() > 18 {
                return Err(bad("bad exponent"));
            }
            exp = digits.parse::<i64>().map_err(|_| bad("bad exponent"))?;
            if exp_neg {
                exp = -exp;
            }
        }
        if i != b.len() {
            return Err(bad("unexpected character"));
        }
        if int_part.len() + frac_part.len() > MAX_DIGITS {
            return Err(bad("too many digits"));
        }
        let mut digits = String::with_capacity(int_part.len() + frac_part.len());
        digits.push_str(int_part);
        digits.push_str(frac_part);
        let lead = digits.bytes().take_while(|&c| c == b'0').count();
        digits.drain(..lead);
        let exponent = exp - frac_part.len() as i64;
        Ok(Decimal {
            negative,
            digits,
            exponent,
            integer_form,
        })
    }
}

/// `±digits × 10^exponent` as a DynamoDB number string with the digits kept exactly.
pub(crate) fn format_decimal(negative: bool, digits: &str, exponent: i64) -> String {
    if digits.is_empty() || digits.bytes().all(|c| c == b'0') {
        // Zero keeps its scale ("0.00") so that it round-trips; its sign does not matter.
        return match exponent {
            e if e < 0 && (-e) as usize <= MAX_PLAIN_ZEROS => {
                format!("0.{}", "0".repeat((-e) as usize))
            }
            0 => "0".to_owned(),
            e => format!("0E{e}"),
        };
    }
    let sign = if negative { "-" } else { "" };
    match exponent {
        0 => format!("{sign}{digits}"),
        e if e > 0 => format!("{sign}{digits}E{e}"),
        e => {
            let k = e.unsigned_abs() as usize;
            if digits.len() > k {
                let (a, b) = digits.split_at(digits.len() - k);
                format!("{sign}{a}.{b}")
            } else if k - digits.len() <= MAX_PLAIN_ZEROS {
                format!("{sign}0.{}{digits}", "0".repeat(k - digits.len()))
            } else {
                format!("{sign}{digits}E{e}")
            }
        }
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
    let d = Decimal::parse(n)?;
    write_decimal(w, &d);
    Ok(())
}

pub(crate) fn write_decimal(w: &mut Writer<'_>, d: &Decimal) {
    if d.integer_form {
        write_integer(w, d.negative, &d.digits);
        return;
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

/// A CBOR integer or bignum as (negative, magnitude digits).
fn read_integer(r: &mut Reader<'_>) -> Result<(bool, String), CodecError> {
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
                TAG_POS_BIGNUM => Ok((false, digits_of(&mag))),
                TAG_NEG_BIGNUM => {
                    mag += 1u8;
                    Ok((true, digits_of(&mag)))
                }
                t => Err(CodecError::malformed(
                    format!("unexpected tag {t} in a number"),
                    at,
                )),
            }
        }
        _ => {
            let i = i128::from(r.int()?);
            let digits = if i == 0 {
                String::new()
            } else {
                i.unsigned_abs().to_string()
            };
            Ok((i < 0, digits))
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
    use minicbor::data::Type;
    let at = r.position();
    match r.datatype()? {
        Type::F16 | Type::F32 | Type::F64 => {
            let ty = r.datatype()?;
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
                let exponent = r.i64()?;
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
                Ok(format_decimal(negative, &digits, exponent))
            } else {
                let (negative, digits) = read_integer(r)?;
                Ok(format_decimal(negative, &digits, 0))
            }
        }
        _ => {
            let (negative, digits) = read_integer(r)?;
            Ok(format_decimal(negative, &digits, 0))
        }
    }
}

/// The shortest decimal that round-trips the float (as Node produced it from the `N` string).
fn float_to_n(f: f64, is_f64: bool) -> Option<String> {
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
        assert_eq!(dec("c4820919013a"), "314E9");
        assert_eq!(dec("c249010000000000000000"), "18446744073709551616");
        assert_eq!(dec("c349010000000000000000"), "-18446744073709551617");
        assert_eq!(dec("3bffffffffffffffff"), "-18446744073709551616");
        assert_eq!(dec("fb4004000000000000"), "2.5");
        assert_eq!(dec("fb3e7ad7f29abcaf48"), "0.0000001");
        assert_eq!(dec("f93e00"), "1.5");
        assert_eq!(dec("fa3dcccccd"), "0.1");
        assert_eq!(dec("c48229c248112210f47de98115"), "123456789.0123456789");
        assert_eq!(dec("c4822000"), "0.0");
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "", "-", ".", "1e", "1.2.3", "NaN", "Infinity", " 1", "1_0", "0x10",
        ] {
            assert!(Decimal::parse(s).is_err(), "{s:?}");
        }
        let b = hex::decode("fb7ff0000000000000").unwrap();
        assert!(read_number(&mut Reader::new(&b)).is_err());
    }
}
