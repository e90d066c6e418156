//! `db.table` names across databases. Each database is its own SQLite file; a statement
//! that names another database runs on the connection of the database it writes (or,
//! for reads, the current one), with that database's qualifier removed, and every other
//! database it names attached under its own name.

use sqlparser::tokenizer::Token;

fn is_qualifier(tokens: &[Token], i: usize) -> bool {
    matches!(tokens.get(i), Some(Token::Word(_)))
        && matches!(tokens.get(i + 1), Some(Token::Period))
        && matches!(tokens.get(i + 2), Some(Token::Word(_)))
        && !matches!(i.checked_sub(1).and_then(|p| tokens.get(p)), Some(Token::Period))
}

/// The databases among `known` that qualify a name in the statement, in order of first use.
pub fn qualifiers(tokens: &[Token], known: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in 0..tokens.len() {
        if let (true, Token::Word(w)) = (is_qualifier(tokens, i), &tokens[i]) {
            if known.contains(&w.value) && !out.contains(&w.value) {
                out.push(w.value.clone());
            }
        }
    }
    out
}

/// The statement with `db.` removed wherever `db` qualifies a name.
pub fn strip(tokens: &[Token], db: &str) -> Vec<Token> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if is_qualifier(tokens, i) && matches!(&tokens[i], Token::Word(w) if w.value == db) {
            i += 2;
            continue;
        }
        out.push(tokens[i].clone());
        i += 1;
    }
    out
}

/// The unqualified words of a statement (neither qualifying a name nor qualified), lower
/// case: among them are the tables it names without a database.
pub fn unqualified_words(tokens: &[Token]) -> impl Iterator<Item = String> + '_ {
    (0..tokens.len()).filter_map(move |i| match &tokens[i] {
        Token::Word(w)
            if !matches!(tokens.get(i + 1), Some(Token::Period))
                && !matches!(i.checked_sub(1).and_then(|p| tokens.get(p)), Some(Token::Period)) =>
        {
            Some(w.value.to_lowercase())
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mysql::sql::{rewrite, tokenize};

    #[test]
    fn finds_and_strips_database_qualifiers() {
        let toks =
            tokenize("INSERT INTO shop.items SELECT a.id FROM `archive`.old AS a JOIN t ON t.id = a.id").unwrap();
        let known = vec!["shop".to_string(), "archive".to_string(), "t".to_string()];
        assert_eq!(qualifiers(&toks, &known), vec!["shop", "archive", "t"]);
        assert_eq!(
            rewrite(&strip(&toks, "shop")),
            "INSERT INTO items SELECT a.id FROM \"archive\".old AS a JOIN t ON t.id = a.id"
        );
        let nested = tokenize("SELECT shop.items.id FROM shop.items").unwrap();
        assert_eq!(rewrite(&strip(&nested, "shop")), "SELECT items.id FROM items");
    }
}
