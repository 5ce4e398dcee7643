//! The one parser of DynamoDB number strings (`N`), shared by the codec (numbers, lexdecimal
//! range keys) and the expression compiler (its checks on expression values and DynamoDB's
//! number limits).
//!
//! Syntax: `[+-]?(digits[.digits?] | .digits)([eE][+-]?digits)?`. The codec reads numbers with
//! [`Limits::CODEC`] (at most 400 digits, an exponent of at most 18 digits); the expression
//! checks with [`Limits::NONE`], where a longer exponent saturates instead of failing.

use std::fmt;

/// A number split into sign, significant digits and exponent: `±digits × 10^exponent`.
/// `digits` has no leading zeros (empty for zero) and keeps trailing zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    pub(crate) negative: bool,
    pub(crate) digits: String,
    pub(crate) exponent: i64,
    /// Written without `.`, `e` or `E` (an integer: the Python client's integer path, encoded as
    /// a CBOR integer rather than a decimal fraction).
    pub(crate) integer_form: bool,
}

/// Why a string is not a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// Neither integer nor fraction digits.
    NoDigits,
    /// `e`/`E` without digits, or with more than the limit.
    BadExponent,
    /// Something after the number.
    UnexpectedCharacter,
    /// More digits than the limit.
    TooManyDigits,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::NoDigits => "no digits",
            ParseError::BadExponent => "bad exponent",
            ParseError::UnexpectedCharacter => "unexpected character",
            ParseError::TooManyDigits => "too many digits",
        })
    }
}

/// Length limits applied while parsing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Most integer + fraction digits.
    pub(crate) max_digits: Option<usize>,
    /// Most exponent digits; without a limit the exponent saturates at `i64` bounds.
    pub(crate) max_exponent_digits: Option<usize>,
}

impl Limits {
    /// The codec's limits: DynamoDB allows 38 significant digits; 400 leaves room for zeros.
    pub(crate) const CODEC: Limits = Limits {
        max_digits: Some(400),
        max_exponent_digits: Some(18),
    };
    /// No limits (syntax only).
    pub(crate) const NONE: Limits = Limits {
        max_digits: None,
        max_exponent_digits: None,
    };
}

impl Decimal {
    pub(crate) fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Parses a DynamoDB number string.
    pub(crate) fn parse(s: &str, limits: Limits) -> Result<Decimal, ParseError> {
        let b = s.as_bytes();
        let digits_from = |mut i: usize| {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            i
        };
        let sign = |i: usize| match b.get(i) {
            Some(b'-') => (true, i + 1),
            Some(b'+') => (false, i + 1),
            _ => (false, i),
        };
        let (negative, int_start) = sign(0);
        let mut i = digits_from(int_start);
        let int_part = &s[int_start..i];
        let mut frac_part = "";
        let mut integer_form = true;
        if b.get(i) == Some(&b'.') {
            integer_form = false;
            let start = i + 1;
            i = digits_from(start);
            frac_part = &s[start..i];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(ParseError::NoDigits);
        }
        let mut exponent: i64 = 0;
        if matches!(b.get(i), Some(b'e' | b'E')) {
            integer_form = false;
            let (exp_negative, start) = sign(i + 1);
            i = digits_from(start);
            let exp_digits = &b[start..i];
            if exp_digits.is_empty()
                || limits
                    .max_exponent_digits
                    .is_some_and(|max| exp_digits.len() > max)
            {
                return Err(ParseError::BadExponent);
            }
            exponent = exp_digits.iter().fold(0i64, |e, &c| {
                e.saturating_mul(10).saturating_add(i64::from(c - b'0'))
            });
            if exp_negative {
                exponent = -exponent;
            }
        }
        if i != b.len() {
            return Err(ParseError::UnexpectedCharacter);
        }
        if limits
            .max_digits
            .is_some_and(|max| int_part.len() + frac_part.len() > max)
        {
            return Err(ParseError::TooManyDigits);
        }
        let mut digits = String::with_capacity(int_part.len() + frac_part.len());
        digits.push_str(int_part);
        digits.push_str(frac_part);
        let lead = digits.bytes().take_while(|&c| c == b'0').count();
        digits.drain(..lead);
        Ok(Decimal {
            negative,
            digits,
            exponent: exponent.saturating_sub(frac_part.len() as i64),
            integer_form,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Decimal, ParseError> {
        Decimal::parse(s, Limits::CODEC)
    }

    fn d(negative: bool, digits: &str, exponent: i64, integer_form: bool) -> Decimal {
        Decimal {
            negative,
            digits: digits.to_owned(),
            exponent,
            integer_form,
        }
    }

    #[test]
    fn splits_sign_digits_and_exponent() {
        assert_eq!(parse("42"), Ok(d(false, "42", 0, true)));
        assert_eq!(parse("-0"), Ok(d(true, "", 0, true)));
        assert_eq!(parse("007"), Ok(d(false, "7", 0, true)));
        assert_eq!(parse("1.50"), Ok(d(false, "150", -2, false)));
        assert_eq!(parse("+.5"), Ok(d(false, "5", -1, false)));
        assert_eq!(parse("5."), Ok(d(false, "5", 0, false)));
        assert_eq!(parse("3.14E11"), Ok(d(false, "314", 9, false)));
        assert_eq!(parse("-1e-3"), Ok(d(true, "1", -3, false)));
        assert_eq!(parse("100E+0"), Ok(d(false, "100", 0, false)));
        assert_eq!(parse("0.00"), Ok(d(false, "", -2, false)));
        assert!(parse("0.00").unwrap().is_zero());
    }

    #[test]
    fn rejects_garbage() {
        use ParseError::*;
        for (s, why) in [
            ("", NoDigits),
            ("-", NoDigits),
            (".", NoDigits),
            ("e5", NoDigits),
            ("1e", BadExponent),
            ("1e+", BadExponent),
            ("1ex", BadExponent),
            ("1.2.3", UnexpectedCharacter),
            ("NaN", NoDigits),
            ("Infinity", NoDigits),
            (" 1", NoDigits),
            ("1 ", UnexpectedCharacter),
            ("1_0", UnexpectedCharacter),
            ("0x10", UnexpectedCharacter),
        ] {
            assert_eq!(parse(s), Err(why), "{s:?}");
            assert_eq!(Decimal::parse(s, Limits::NONE), Err(why), "{s:?}");
        }
    }

    #[test]
    fn limits_apply_only_when_asked() {
        let long_exponent = format!("1e{}", "9".repeat(19));
        assert_eq!(parse(&long_exponent), Err(ParseError::BadExponent));
        assert_eq!(
            Decimal::parse(&long_exponent, Limits::NONE).map(|d| d.exponent),
            Ok(i64::MAX)
        );
        assert_eq!(
            parse("1e999999999999999999").map(|d| d.exponent),
            Ok(999_999_999_999_999_999)
        );
        let many_digits = "1".repeat(401);
        assert_eq!(parse(&many_digits), Err(ParseError::TooManyDigits));
        assert_eq!(
            Decimal::parse(&many_digits, Limits::NONE).map(|d| d.digits.len()),
            Ok(401)
        );
        // The exponent is checked before what follows it, the digit count last.
        assert_eq!(
            parse(&format!("{long_exponent}x")),
            Err(ParseError::BadExponent)
        );
        assert_eq!(
            parse(&format!("{many_digits}x")),
            Err(ParseError::UnexpectedCharacter)
        );
    }
}
