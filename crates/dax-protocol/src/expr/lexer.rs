//! Tokens of the DynamoDB expression language, as the official clients' grammar
//! (`DynamoDbGrammar.g4` + `Tokens.g4`) splits them.
//!
//! * whitespace: space, tab, CR, LF (skipped); any other character that starts no token is a
//!   one-character `Unknown` token, so lexing never fails: bad input surfaces as a syntax error
//!   at the first token the parser cannot use;
//! * keywords `IN BETWEEN NOT AND OR SET ADD DELETE REMOVE`, case-insensitive, win over
//!   identifiers of the same length; the longest match wins otherwise (`SETx` is an identifier);
//! * identifiers `[A-Za-z][A-Za-z0-9_]*`, `#[A-Za-z0-9_]+`, `:[A-Za-z0-9_]+`;
//! * list indexes `0|[1-9][0-9]*` (so `01` is two tokens);
//! * string literals in `"…"` or `'…'` where a quote may be escaped with a backslash (longest
//!   match). The grammar has no use for them; they exist so that the error names them whole.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    Comma,
    LParen,
    RParen,
    Dot,
    LBracket,
    RBracket,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    In,
    Between,
    Not,
    And,
    Or,
    Set,
    Add,
    Delete,
    Remove,
    Index,
    Id,
    NameSub,
    ValueSub,
    StringLiteral,
    Unknown,
    Eof,
}

/// One token: its kind, its text and where it starts (1-based line, 0-based character column,
/// as the official clients report positions).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    pub(crate) tok: Tok,
    pub(crate) text: &'a str,
    pub(crate) line: u32,
    pub(crate) column: u32,
}

const KEYWORDS: [(&str, Tok); 9] = [
    ("IN", Tok::In),
    ("BETWEEN", Tok::Between),
    ("NOT", Tok::Not),
    ("AND", Tok::And),
    ("OR", Tok::Or),
    ("SET", Tok::Set),
    ("ADD", Tok::Add),
    ("DELETE", Tok::Delete),
    ("REMOVE", Tok::Remove),
];

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Splits `src` into tokens; the last one is always `Eof`.
pub(crate) fn lex(src: &str) -> Vec<Token<'_>> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::with_capacity(src.len() / 3 + 2);
    let (mut i, mut line, mut column) = (0usize, 1u32, 0u32);
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let tok = match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                if b == b'\n' {
                    line += 1;
                    column = 0;
                } else {
                    column += 1;
                }
                i += 1;
                continue;
            }
            b',' => one(&mut i, Tok::Comma),
            b'(' => one(&mut i, Tok::LParen),
            b')' => one(&mut i, Tok::RParen),
            b'.' => one(&mut i, Tok::Dot),
            b'[' => one(&mut i, Tok::LBracket),
            b']' => one(&mut i, Tok::RBracket),
            b'=' => one(&mut i, Tok::Eq),
            b'+' => one(&mut i, Tok::Plus),
            b'-' => one(&mut i, Tok::Minus),
            b'<' => match bytes.get(i + 1) {
                Some(b'>') => two(&mut i, Tok::Ne),
                Some(b'=') => two(&mut i, Tok::Le),
                _ => one(&mut i, Tok::Lt),
            },
            b'>' => match bytes.get(i + 1) {
                Some(b'=') => two(&mut i, Tok::Ge),
                _ => one(&mut i, Tok::Gt),
            },
            b'#' | b':' if bytes.get(i + 1).is_some_and(|&c| is_word_byte(c)) => {
                i += 1;
                while i < bytes.len() && is_word_byte(bytes[i]) {
                    i += 1;
                }
                if b == b'#' {
                    Tok::NameSub
                } else {
                    Tok::ValueSub
                }
            }
            b'0' => one(&mut i, Tok::Index),
            b'1'..=b'9' => {
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                Tok::Index
            }
            b'A'..=b'Z' | b'a'..=b'z' => {
                while i < bytes.len() && is_word_byte(bytes[i]) {
                    i += 1;
                }
                let word = &src[start..i];
                KEYWORDS
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(word))
                    .map_or(Tok::Id, |&(_, t)| t)
            }
            b'"' | b'\'' => match string_literal_end(bytes, i) {
                Some(end) => {
                    i = end;
                    Tok::StringLiteral
                }
                None => one(&mut i, Tok::Unknown),
            },
            _ => {
                // One character, however many bytes it takes.
                i += src[i..].chars().next().map_or(1, char::len_utf8);
                Tok::Unknown
            }
        };
        let text = &src[start..i];
        tokens.push(Token {
            tok,
            text,
            line,
            column,
        });
        // Literals may span lines; everything else is on one line.
        for c in text.chars() {
            if c == '\n' {
                line += 1;
                column = 0;
            } else {
                column += 1;
            }
        }
    }
    tokens.push(Token {
        tok: Tok::Eof,
        text: "<EOF>",
        line,
        column,
    });
    tokens
}

fn one(i: &mut usize, tok: Tok) -> Tok {
    *i += 1;
    tok
}

fn two(i: &mut usize, tok: Tok) -> Tok {
    *i += 2;
    tok
}

/// End (exclusive) of the longest string literal opened by the quote at `open`: every quote
/// inside must be preceded by a backslash; the closing quote may be too.
fn string_literal_end(bytes: &[u8], open: usize) -> Option<usize> {
    let quote = bytes[open];
    let mut end = None;
    let mut i = open + 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            end = Some(i + 1);
            if i == open + 1 || bytes[i - 1] != b'\\' {
                break;
            }
        }
        i += 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(Tok, &str)> {
        lex(s).iter().map(|t| (t.tok, t.text)).collect()
    }

    #[test]
    fn splits_like_the_official_grammar() {
        assert_eq!(
            kinds("a.b[01] <> :x_1"),
            vec![
                (Tok::Id, "a"),
                (Tok::Dot, "."),
                (Tok::Id, "b"),
                (Tok::LBracket, "["),
                (Tok::Index, "0"),
                (Tok::Index, "1"),
                (Tok::RBracket, "]"),
                (Tok::Ne, "<>"),
                (Tok::ValueSub, ":x_1"),
                (Tok::Eof, "<EOF>"),
            ]
        );
        assert_eq!(
            kinds("SETx set")[..2],
            [(Tok::Id, "SETx"), (Tok::Set, "set")]
        );
        assert_eq!(
            kinds("#a-b")[..3],
            [(Tok::NameSub, "#a"), (Tok::Minus, "-"), (Tok::Id, "b")]
        );
        assert_eq!(
            kinds("_ # é")[..3],
            [
                (Tok::Unknown, "_"),
                (Tok::Unknown, "#"),
                (Tok::Unknown, "é")
            ]
        );
        assert_eq!(kinds(r#""a\\" x""#)[0], (Tok::StringLiteral, r#""a\\" x""#));
        assert_eq!(
            kinds("'it''s'")[..2],
            [(Tok::StringLiteral, "'it'"), (Tok::StringLiteral, "'s'")]
        );
        assert_eq!(kinds("\"a")[0], (Tok::Unknown, "\""));
    }

    #[test]
    fn positions_count_characters_per_line() {
        let toks = lex("é a\n  b");
        assert_eq!((toks[1].line, toks[1].column), (1, 2));
        assert_eq!((toks[2].line, toks[2].column), (2, 2));
        assert_eq!((toks[3].line, toks[3].column), (2, 3));
    }
}
