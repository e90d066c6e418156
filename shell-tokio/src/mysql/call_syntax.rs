//! MySQL call syntax SQLite does not parse, rewritten into plain function calls:
//! `ISNULL(x)`, `INSERT(s, pos, len, new)`, `POSITION(a IN b)`, `SUBSTRING(s FROM n [FOR m])`,
//! `TRIM([BOTH|LEADING|TRAILING] [r] FROM s)`, `CONVERT(x, type)` / `CONVERT(x USING cs)`,
//! `TIMESTAMPDIFF(unit, a, b)` / `TIMESTAMPADD(unit, n, d)`, `EXTRACT(unit FROM d)`, and `CAST(x AS type)` for the
//! MySQL types whose conversion SQLite's affinities get wrong (SIGNED, UNSIGNED, DATE,
//! DATETIME, DECIMAL(p, s), CHAR). Arguments are rewritten recursively.

use sqlparser::tokenizer::Token;

use super::tokens::{is_space, kw};

/// The arguments of the call whose `(` is at `open` (token slices split at top-level
/// commas) and the index just after its `)`.
fn args(toks: &[Token], open: usize) -> Option<(Vec<&[Token]>, usize)> {
    let mut depth = 0;
    let mut start = open + 1;
    let mut out = Vec::new();
    for (j, t) in toks.iter().enumerate().skip(open) {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    out.push(&toks[start..j]);
                    return Some((out, j + 1));
                }
            }
            Token::Comma if depth == 1 => {
                out.push(&toks[start..j]);
                start = j + 1;
            }
            _ => {}
        }
    }
    None
}

/// Split `toks` at its first top-level keyword `word`.
fn split_kw<'a>(toks: &'a [Token], word: &str) -> Option<(&'a [Token], &'a [Token])> {
    let mut depth = 0i32;
    for (j, t) in toks.iter().enumerate() {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ if depth == 0 && kw(t).as_deref() == Some(word) => return Some((&toks[..j], &toks[j + 1..])),
            _ => {}
        }
    }
    None
}

/// The keywords of a slice (a type name, a unit).
fn words(toks: &[Token]) -> Vec<String> {
    toks.iter().filter(|t| !is_space(t)).map(|t| kw(t).unwrap_or_else(|| t.to_string())).collect()
}

/// `CAST(x AS type)` for a MySQL type name (`words`), if SQLite needs help with it.
fn cast(x: &str, ty: &[String]) -> Option<String> {
    let first = ty.first()?.as_str();
    Some(match first {
        "SIGNED" | "UNSIGNED" => format!("marmot_cast_int({x}, {})", (first == "UNSIGNED") as i32),
        "DATE" => format!("marmot_cast_date({x}, 0)"),
        "DATETIME" | "TIMESTAMP" => format!("marmot_cast_date({x}, 1)"),
        "DECIMAL" | "DEC" | "NUMERIC" | "FIXED" => {
            let scale = ty.iter().filter(|w| w.chars().all(|c| c.is_ascii_digit())).nth(1).map_or("0", |s| s.as_str());
            format!("marmot_cast_decimal({x}, {scale})")
        }
        "BINARY" => format!("CAST({x} AS TEXT)"),
        "CHAR" | "NCHAR" | "VARCHAR" => {
            // CHAR(n) keeps the first n characters.
            let length = ty.get(1).filter(|w| w.chars().all(|c| c.is_ascii_digit())).map_or("-1", |s| s.as_str());
            format!("marmot_cast_char({x}, {length})")
        }
        // MySQL's JSON printing of the document (SQLite would take `JSON` as a numeric
        // affinity and turn the text into 0).
        "JSON" => format!("json_extract({x}, '$')"),
        _ => return None,
    })
}

/// `GROUP_CONCAT([DISTINCT] a [, b …] [ORDER BY …] [SEPARATOR 's'])` as
/// `marmot_group_concat(a | CONCAT(a, b, …), 's', distinct [ORDER BY …])` (see
/// `aggregates`). The arguments arrive split at every comma, the ORDER BY's too.
fn group_concat(items: &[&[Token]], rw: impl Fn(&[Token]) -> String) -> Option<String> {
    let first_sig = |t: &[Token]| t.iter().position(|x| !is_space(x));
    // Where the ORDER BY starts: the item holding the top-level ORDER, and its position.
    let order_at = items.iter().enumerate().find_map(|(n, item)| {
        let mut depth = 0;
        item.iter().enumerate().find_map(|(p, t)| {
            match t {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                t if depth == 0 && kw(t).as_deref() == Some("ORDER") => return Some((n, p)),
                _ => {}
            }
            None
        })
    });
    let (value_items, mut tail): (Vec<&[Token]>, Vec<Token>) = match order_at {
        Some((n, p)) => {
            let mut values: Vec<&[Token]> = items[..n].to_vec();
            if first_sig(&items[n][..p]).is_some() {
                values.push(&items[n][..p]);
            }
            let mut tail = items[n][p..].to_vec();
            for more in &items[n + 1..] {
                tail.push(Token::Comma);
                tail.extend_from_slice(more);
            }
            (values, tail)
        }
        None => (items.to_vec(), Vec::new()),
    };
    let mut value_items = value_items;
    // SEPARATOR 's' ends the call: in the ORDER BY's tail if there is one, else in the last value.
    let mut separator = "','".to_string();
    let split_separator = |toks: &[Token]| -> Option<(usize, String)> {
        let at = toks.iter().position(|t| kw(t).as_deref() == Some("SEPARATOR"))?;
        let sep = toks[at + 1..].iter().find(|t| !is_space(t))?;
        Some((at, super::sql_text::print(sep)))
    };
    if let Some((at, sep)) = split_separator(&tail) {
        separator = sep;
        tail.truncate(at);
    } else if let Some(last) = value_items.last().copied() {
        if let Some((at, sep)) = split_separator(last) {
            separator = sep;
            let n = value_items.len() - 1;
            value_items[n] = &last[..at];
        }
    }
    let first = *value_items.first()?;
    let k = first_sig(first)?;
    let distinct = kw(&first[k]).as_deref() == Some("DISTINCT");
    if distinct {
        value_items[0] = &first[k + 1..];
    }
    let values: Vec<String> = value_items.iter().map(|v| rw(v)).collect();
    let value = if values.len() == 1 { values[0].clone() } else { format!("concat({})", values.join(", ")) };
    let order = if tail.is_empty() { String::new() } else { format!(" {}", rw(&tail)) };
    Some(format!("marmot_group_concat({value}, {separator}, {}{order})", i32::from(distinct)))
}

/// A TIMESTAMPDIFF / TIMESTAMPADD unit, ODBC's `SQL_TSI_` spelling too (`SQL_TSI_DAY`).
fn interval_unit(unit: &[Token]) -> String {
    let unit = words(unit).join("").to_ascii_uppercase();
    unit.strip_prefix("SQL_TSI_").map_or(unit.clone(), str::to_string)
}

/// If the word at `i` starts one of the calls above, its SQLite text and the index after it.
/// Its arguments are translated with `rewrite` (the translation this is part of: passed
/// in, so that this module does not depend on the one that calls it).
pub fn call(toks: &[Token], i: usize, rewrite: fn(&[Token]) -> String) -> Option<(String, usize)> {
    let rw = |toks: &[Token]| rewrite(toks).trim().to_string();
    let name = kw(&toks[i])?;
    if !matches!(
        name.as_str(),
        "ISNULL"
            | "INSERT"
            | "POSITION"
            | "SUBSTRING"
            | "SUBSTR"
            | "MID"
            | "TRIM"
            | "CONVERT"
            | "TIMESTAMPDIFF"
            | "TIMESTAMPADD"
            | "CAST"
            | "EXTRACT"
            | "COUNT"
            | "ROW"
            | "GROUP_CONCAT"
    ) {
        return None;
    }
    let open = (i + 1..toks.len()).find(|j| !is_space(&toks[*j]))?;
    if toks[open] != Token::LParen {
        return None;
    }
    let (a, end) = args(toks, open)?;
    let text = match (name.as_str(), a.as_slice()) {
        ("ISNULL", [x]) => format!("({} IS NULL)", rw(x)),
        ("INSERT", [s, p, l, n]) => format!("marmot_insert({}, {}, {}, {})", rw(s), rw(p), rw(l), rw(n)),
        ("POSITION", [x]) => {
            let (needle, hay) = split_kw(x, "IN")?;
            format!("instr({}, {})", rw(hay), rw(needle))
        }
        ("SUBSTRING" | "SUBSTR" | "MID", [x]) => {
            let (s, rest) = split_kw(x, "FROM")?;
            match split_kw(rest, "FOR") {
                Some((from, len)) => format!("substr({}, {}, {})", rw(s), rw(from), rw(len)),
                None => format!("substr({}, {})", rw(s), rw(rest)),
            }
        }
        ("TRIM", [x]) => {
            let (spec, s) = split_kw(x, "FROM")?;
            // [BOTH | LEADING | TRAILING] [remove] FROM s
            let first = spec.iter().position(|t| !is_space(t));
            let (func, rem) = match first.and_then(|i| kw(&spec[i])).as_deref() {
                Some("LEADING") => ("ltrim", &spec[first? + 1..]),
                Some("TRAILING") => ("rtrim", &spec[first? + 1..]),
                Some("BOTH") => ("trim", &spec[first? + 1..]),
                _ => ("trim", spec),
            };
            let rem = rw(rem);
            if rem.is_empty() {
                format!("{func}({})", rw(s))
            } else {
                format!("{func}({}, {rem})", rw(s))
            }
        }
        ("CONVERT", [x, ty]) => cast(&rw(x), &words(ty))?,
        ("CONVERT", [x]) => {
            let (v, _charset) = split_kw(x, "USING")?;
            rw(v)
        }
        ("TIMESTAMPDIFF", [unit, a, b]) => {
            format!("marmot_timestampdiff('{}', {}, {})", interval_unit(unit), rw(a), rw(b))
        }
        ("TIMESTAMPADD", [unit, n, d]) => format!("date_add({}, {}, '{}')", rw(d), rw(n), interval_unit(unit)),
        ("EXTRACT", [x]) => {
            let (unit, v) = split_kw(x, "FROM")?;
            format!("marmot_extract('{}', {})", words(unit).join(""), rw(v))
        }
        ("CAST", [x]) => {
            let (v, ty) = split_kw(x, "AS")?;
            cast(&rw(v), &words(ty))?
        }
        // COUNT(DISTINCT a, b): the distinct combinations none of which is NULL (SQLite's
        // DISTINCT aggregates take one argument: the combination as one JSON array).
        ("COUNT", [first, rest @ ..]) if !rest.is_empty() => {
            let k = first.iter().position(|t| !is_space(t))?;
            if kw(&first[k]).as_deref() != Some("DISTINCT") {
                return None;
            }
            let items: Vec<String> = std::iter::once(&first[k + 1..]).chain(rest.iter().copied()).map(rw).collect();
            let nulls: Vec<String> = items.iter().map(|x| format!("({x}) IS NULL")).collect();
            format!(
                "COUNT(DISTINCT CASE WHEN {} THEN NULL ELSE json_array({}) END)",
                nulls.join(" OR "),
                items.join(", ")
            )
        }
        ("GROUP_CONCAT", items) => group_concat(items, rw)?,
        // ROW(a, b): a row value, as SQLite writes it.
        ("ROW", items) if items.len() > 1 => {
            format!("({})", items.iter().map(|x| rw(x)).collect::<Vec<_>>().join(", "))
        }
        _ => return None,
    };
    Some((text, end))
}
