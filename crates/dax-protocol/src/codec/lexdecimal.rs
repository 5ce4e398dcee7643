//! Lexicographic decimal ("lexdecimal"): the order-preserving byte encoding of numeric range
//! keys (docs/dax-protocol.md §5.6).
//!
//! Written by hand because it is DAX's own format: no crate implements it. It is checked
//! against the official Python client's `LexDecimal.encode` by the differential test
//! (`tests/dax_differential.rs`, 10 000+ random inputs) and against the Go client's vectors.
//!
//! For `±unscaled × 10^(−scale)` with the digits of `unscaled` as written (trailing zeros kept,
//! so `1.5` and `1.50` differ), `precision` = number of digits and `e = precision − scale`:
//! a header byte (or 5 bytes out of ±62), then base-1000 groups of the right-padded digits,
//! each packed into 10 bits (+12; negative numbers complemented), then a terminator that says
//! how many digits the last group really had.

use super::decimal::Decimal;
use super::error::CodecError;
use super::number::{format_decimal, parse_number};

/// Encodes a DynamoDB number string; appends to `out`.
pub(crate) fn encode(n: &str, out: &mut Vec<u8>) -> Result<(), CodecError> {
    encode_decimal(&parse_number(n)?, out)
}

pub(crate) fn encode_decimal(d: &Decimal, out: &mut Vec<u8>) -> Result<(), CodecError> {
    if d.is_zero() {
        out.push(0x80);
        return Ok(());
    }
    let precision = d.digits.len() as i64;
    let e = precision + d.exponent;
    let e = i32::try_from(e)
        .map_err(|_| CodecError::invalid("number", "exponent out of the lexdecimal range"))?;
    // Header.
    match (d.negative, (-0x3e..0x3e).contains(&e)) {
        (false, true) => out.push((0xc0 + e) as u8),
        (true, true) => out.push((0x3f - e) as u8),
        (false, false) => {
            out.push(if e < 0 { 0x81 } else { 0xfe });
            out.extend_from_slice(&((e as u32) ^ 0x8000_0000).to_be_bytes());
        }
        (true, false) => {
            out.push(if e < 0 { 0x7e } else { 0x01 });
            out.extend_from_slice(&((e as u32) ^ 0x7fff_ffff).to_be_bytes());
        }
    }
    // Digits: base-1000 groups of the right-padded digit string, then the terminator.
    let terminator: u16 = match precision % 3 {
        0 => 2,
        1 => 0,
        _ => 1,
    };
    let mut packer = BitPacker::new(out);
    let digits = d.digits.as_bytes();
    for chunk in digits.chunks(3) {
        let mut g: u16 = 0;
        for i in 0..3 {
            g = g * 10 + chunk.get(i).map_or(0, |c| u16::from(c - b'0'));
        }
        packer.push(if d.negative { 999 - g + 12 } else { g + 12 });
    }
    packer.push(if d.negative {
        1023 - terminator
    } else {
        terminator
    });
    packer.finish();
    Ok(())
}

struct BitPacker<'a> {
    out: &'a mut Vec<u8>,
    acc: u32,
    bits: u32,
}

impl<'a> BitPacker<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        BitPacker {
            out,
            acc: 0,
            bits: 0,
        }
    }

    fn push(&mut self, v: u16) {
        self.acc = (self.acc << 10) | u32::from(v);
        self.bits += 10;
        while self.bits >= 8 {
            self.bits -= 8;
            self.out.push((self.acc >> self.bits) as u8);
        }
        self.acc &= (1 << self.bits) - 1;
    }

    fn finish(self) {
        if self.bits > 0 {
            self.out.push((self.acc << (8 - self.bits)) as u8);
        }
    }
}

/// Decodes a whole lexdecimal byte string (the range part of a composite key) into a DynamoDB
/// number string with the digits as encoded.
pub(crate) fn decode(b: &[u8]) -> Result<String, CodecError> {
    let bad = |what: &str| CodecError::malformed(format!("lexdecimal: {what}"), 0);
    let (&header, mut rest) = b.split_first().ok_or_else(|| bad("empty"))?;
    let (negative, e): (bool, i64) = match header {
        0x00 | 0xff => return Err(bad("null marker is not a number")),
        0x7f | 0x80 => {
            return if rest.is_empty() {
                Ok("0".to_owned())
            } else {
                Err(bad("bytes after zero"))
            }
        }
        0x01 | 0x7e | 0x81 | 0xfe => {
            let raw: [u8; 4] = rest
                .get(..4)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| bad("truncated exponent"))?;
            rest = &rest[4..];
            let raw = u32::from_be_bytes(raw);
            let negative = header < 0x80;
            let e = if negative {
                raw ^ 0x7fff_ffff
            } else {
                raw ^ 0x8000_0000
            } as i32;
            (negative, i64::from(e))
        }
        h if h >= 0x82 => (false, i64::from(h) - 0xc0),
        h => (true, 0x3f - i64::from(h)),
    };
    let mut digits = String::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut terminated = false;
    for &byte in rest {
        acc = (acc << 8) | u32::from(byte);
        bits += 8;
        if bits < 10 {
            continue;
        }
        bits -= 10;
        let v = ((acc >> bits) & 0x3ff) as u16;
        acc &= (1 << bits) - 1;
        let v = if negative { 1023 - v } else { v };
        match v {
            0..=2 => {
                // Terminator: the last group held 1, 2 or 3 real digits.
                let keep = [1, 2, 3][usize::from(v)];
                if digits.len() < 3 {
                    return Err(bad("terminator before any digit"));
                }
                digits.truncate(digits.len() - 3 + keep);
                terminated = true;
                break;
            }
            12..=1011 => {
                if digits.len() >= 3 * 200 {
                    return Err(CodecError::LimitExceeded {
                        what: "lexdecimal digits",
                    });
                }
                digits.push_str(&format!("{:03}", v - 12));
            }
            _ => return Err(bad("invalid digit group")),
        }
    }
    if !terminated {
        return Err(bad("missing terminator"));
    }
    let lead = digits.bytes().take_while(|&c| c == b'0').count();
    if lead > 0 {
        return Err(bad("leading zero digit"));
    }
    let exponent = e - digits.len() as i64;
    Ok(format_decimal(negative, &digits, exponent))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &[(&str, &str)] = &[
        ("0", "80"),
        ("1", "c11c0000"),
        ("-1", "3ee3fff0"),
        ("1.5", "c1288010"),
        ("1.50", "c1288020"),
        ("10", "c21c0010"),
        ("100", "c31c0020"),
        ("42", "c26c0010"),
        ("3.14", "c1518020"),
        ("3.141", "c151870000"),
        ("3.14E11", "cc518020"),
        ("-3.14", "3eae7fd0"),
        ("-1.5", "3ed77fe0"),
        ("0.001", "be1c0000"),
        ("-0.001", "41e3fff0"),
        ("1E+100", "fe800000651c0000"),
        ("-1E-100", "7e80000062e3fff0"),
        ("-22234353.464363E-43534545", "7e829848c8c569c775705f7fe0"),
        (
            "123456789012345678901234567890123456",
            "e421dd4c8418596b2e44f690f8621dd40080",
        ),
    ];

    #[test]
    fn doc_and_go_vectors() {
        for (n, want) in VECTORS {
            let mut out = Vec::new();
            encode(n, &mut out).unwrap();
            assert_eq!(hex::encode(&out), *want, "{n}");
            let back = decode(&out).unwrap();
            let mut again = Vec::new();
            encode(&back, &mut again).unwrap();
            assert_eq!(again, out, "{n} -> {back}");
        }
    }

    #[test]
    fn order_is_numeric() {
        let ns = [
            "-1E+100", "-100", "-3.14", "-1", "-0.001", "0", "0.001", "1", "1.5", "3.14", "42",
            "1E+100",
        ];
        let enc: Vec<Vec<u8>> = ns
            .iter()
            .map(|n| {
                let mut v = Vec::new();
                encode(n, &mut v).unwrap();
                v
            })
            .collect();
        assert!(enc.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn hostile_input_is_an_error() {
        for h in [
            "",
            "00",
            "ff",
            "c1",
            "c1ffff",
            "fe0000",
            "8000",
            "c100000000",
        ] {
            let b = hex::decode(h).unwrap();
            assert!(decode(&b).is_err(), "{h}");
        }
    }
}
