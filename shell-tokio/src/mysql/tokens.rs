//! Telling sqlparser's MySQL tokens apart: space, keywords, words and strings. Shared by
//! the translation and every statement the front end recognises before translating it.

use sqlparser::tokenizer::Token;

/// Whether a token is white space.
pub fn is_space(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_))
}

/// The significant (non-space) tokens.
pub fn significant(tokens: &[Token]) -> Vec<&Token> {
    tokens.iter().filter(|t| !is_space(t)).collect()
}

/// Upper-cased keyword text of a token if it is an unquoted word.
pub fn kw(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

/// The value of a word or string token (identifiers, names in `SHOW … LIKE 'x'`).
pub fn text(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) => Some(w.value.clone()),
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) | Token::NationalStringLiteral(s) => {
            Some(s.clone())
        }
        Token::Number(n, _) => Some(n.clone()),
        _ => None,
    }
}

/// Tokens as MySQL text that tokenizes back to the same tokens (quotes inside a string
/// doubled, which sqlparser's own printing does not do).
pub fn mysql_text(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(|t| match t {
            Token::SingleQuotedString(s) => format!("'{}'", s.replace('\'', "''")),
            Token::DoubleQuotedString(s) => format!("\"{}\"", s.replace('"', "\"\"")),
            t => t.to_string(),
        })
        .collect()
}
