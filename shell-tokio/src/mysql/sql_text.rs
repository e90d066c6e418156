//! SQL text to and from sqlparser's MySQL tokens: tokenizing, splitting into statements,
//! printing a token as SQLite text, quoting, and finding parentheses and commas. Below
//! every rewrite pass and [`super::sql::rewrite`] that runs them, so the passes need not
//! know the rewrite.

use sqlparser::dialect::MySqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace, Word};

use super::tokens::is_space;

/// A tokenizing error, with sqlparser's message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("You have an error in your SQL syntax: {0}")]
pub struct SyntaxError(pub String);

/// First code point of the range raw (non-UTF-8) query bytes are mapped to.
const RAW_BASE: u32 = 0xF700;

/// Decode a query's bytes to text without losing any: valid UTF-8 stays as it is, each
/// byte of an invalid sequence becomes a private-use code point (U+F700 + byte), which
/// [`print`] turns back into the exact bytes inside an `X'…'` literal.
pub fn decode_query(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).expect("valid prefix"));
                let n = e.error_len().unwrap_or(bad.len());
                for b in &bad[..n] {
                    out.push(char::from_u32(RAW_BASE + *b as u32).expect("private-use char"));
                }
                rest = &bad[n..];
            }
        }
    }
    out
}

pub(crate) fn has_raw(s: &str) -> bool {
    s.chars().any(|c| (RAW_BASE..RAW_BASE + 256).contains(&(c as u32)))
}

/// The exact bytes of a decoded string (inverse of [`decode_query`]).
pub(crate) fn raw_bytes(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        let u = c as u32;
        if (RAW_BASE..RAW_BASE + 256).contains(&u) {
            out.push((u - RAW_BASE) as u8);
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    out
}

/// A blob literal.
pub fn hex_literal(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2 + 3);
    s.push_str("X'");
    for b in bytes {
        s.push_str(&format!("{b:02X}"));
    }
    s.push('\'');
    s
}

/// Tokenize MySQL text.
pub fn tokenize(sql: &str) -> Result<Vec<Token>, SyntaxError> {
    Tokenizer::new(&MySqlDialect {}, sql).with_unescape(true).tokenize().map_err(|e| SyntaxError(e.to_string()))
}

/// Split tokens into statements at top-level semicolons, dropping comments and empty
/// statements.
pub fn split(tokens: Vec<Token>) -> Vec<Vec<Token>> {
    let mut out = Vec::new();
    let mut cur: Vec<Token> = Vec::new();
    for t in tokens {
        match t {
            Token::SemiColon => {
                if cur.iter().any(|t| !is_space(t)) {
                    out.push(std::mem::take(&mut cur));
                } else {
                    cur.clear();
                }
            }
            Token::Whitespace(Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)) => {
                cur.push(Token::Whitespace(Whitespace::Space))
            }
            Token::EOF => {}
            t => cur.push(t),
        }
    }
    if cur.iter().any(|t| !is_space(t)) {
        out.push(cur);
    }
    out
}

/// An SQL string literal.
pub fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// An SQL identifier.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A word as SQLite text: quoted if it was.
pub(crate) fn word(w: &Word) -> String {
    match w.quote_style {
        Some(_) => quote_ident(&w.value),
        None => w.value.clone(),
    }
}

/// Print one token as SQLite text.
pub(crate) fn print(t: &Token) -> String {
    match t {
        Token::Word(w) => word(w),
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) | Token::NationalStringLiteral(s) => {
            // Bytes that are not UTF-8, or a NUL (which would end SQLite's statement text),
            // are binary data: a blob literal keeps them exact.
            if has_raw(s) || s.contains('\0') {
                hex_literal(&raw_bytes(s))
            } else {
                quote_str(s)
            }
        }
        Token::HexStringLiteral(s) => format!("X'{s}'"),
        // A bit-value literal (b'101'): its number, as a BIT column keeps it.
        Token::SingleQuotedByteStringLiteral(bits)
            if !bits.is_empty() && bits.len() <= 63 && bits.bytes().all(|b| b == b'0' || b == b'1') =>
        {
            i64::from_str_radix(bits, 2).map_or_else(|_| "0".to_string(), |n| n.to_string())
        }
        Token::Whitespace(_) => " ".to_string(),
        other => other.to_string(),
    }
}

/// Whether `w` (upper case) is an INTERVAL unit, simple (`DAY`) or compound (`DAY_HOUR`).
pub(crate) fn is_interval_unit(w: &str) -> bool {
    matches!(w, "MICROSECOND" | "SECOND" | "MINUTE" | "HOUR" | "DAY" | "WEEK" | "MONTH" | "QUARTER" | "YEAR")
        || super::intervals::compound_parts(w).is_some()
}

/// The index of the `)` closing the `(` at `open`.
pub(crate) fn matching_paren(toks: &[&Token], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Split tokens at top-level commas.
pub fn split_commas<'a>(toks: &[&'a Token]) -> Vec<Vec<&'a Token>> {
    let mut parts = vec![Vec::new()];
    let mut depth = 0;
    for t in toks {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => {
                parts.push(Vec::new());
                continue;
            }
            _ => {}
        }
        parts.last_mut().expect("nonempty").push(*t);
    }
    parts
}

/// `toks` (significant tokens, their spacing lost) with a space between each two, so that
/// a part of a statement passed through as written keeps its words apart:
/// `CONSTRAINT c CHECK (a = 1 OR b > 2)`, not `CONSTRAINTcCHECK(a=1ORb>2)`.
pub(crate) fn spaced(toks: &[&Token]) -> Vec<Token> {
    let mut out = Vec::with_capacity(toks.len() * 2);
    for (i, t) in toks.iter().enumerate() {
        if i > 0 {
            out.push(Token::Whitespace(Whitespace::Space));
        }
        out.push((*t).clone());
    }
    out
}
