//! `LOAD DATA [LOCAL] INFILE`: the statement's options, and splitting a file into rows of
//! fields by them (MySQL's rules: terminators, optional enclosing quotes, the escape
//! character with `\N` for NULL, `IGNORE n LINES`, a column list).

use sqlparser::tokenizer::Token;

use super::sql::{is_space, kw, text};

/// What to do with a row whose key exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnDuplicate {
    /// Fail with 1062 (the default for a server-side file).
    Error,
    /// Replace the existing row.
    Replace,
    /// Keep the existing row (the default with LOCAL).
    Ignore,
}

/// A parsed `LOAD DATA` statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadData {
    /// `LOCAL`: the client sends the file.
    pub local: bool,
    /// The file name as written.
    pub file: String,
    /// Target table, and its database when qualified.
    pub table: String,
    /// `db.` of a qualified table name.
    pub database: Option<String>,
    /// REPLACE / IGNORE / neither.
    pub on_duplicate: OnDuplicate,
    /// `FIELDS TERMINATED BY` (default tab).
    pub field_end: Vec<u8>,
    /// `[OPTIONALLY] ENCLOSED BY` (default none).
    pub enclosed: Option<u8>,
    /// `ESCAPED BY` (default backslash; empty = none).
    pub escaped: Option<u8>,
    /// `LINES STARTING BY` (default empty).
    pub line_start: Vec<u8>,
    /// `LINES TERMINATED BY` (default newline).
    pub line_end: Vec<u8>,
    /// `IGNORE n LINES`.
    pub ignore_lines: usize,
    /// The column list (empty: every column in order).
    pub columns: Vec<String>,
}

/// Parse `LOAD DATA …`; `None` if the statement is something else.
pub fn parse(toks: &[Token]) -> Option<Result<LoadData, String>> {
    let sig: Vec<&Token> = toks.iter().filter(|t| !is_space(t)).collect();
    if kw(sig.first()?).as_deref() != Some("LOAD") || kw(sig.get(1)?).as_deref() != Some("DATA") {
        return None;
    }
    Some(parse_sig(&sig[2..]))
}

fn bytes_of(t: &Token) -> Result<Vec<u8>, String> {
    match t {
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => Ok(super::sql::raw_bytes(s)),
        other => Err(format!("a quoted string was expected, not {other}")),
    }
}

fn parse_sig(sig: &[&Token]) -> Result<LoadData, String> {
    let mut i = 0;
    let word = |i: usize| sig.get(i).and_then(|t| kw(t)).unwrap_or_default();
    while matches!(word(i).as_str(), "LOW_PRIORITY" | "CONCURRENT") {
        i += 1;
    }
    let local = word(i) == "LOCAL";
    if local {
        i += 1;
    }
    if word(i) != "INFILE" {
        return Err("LOAD DATA [LOCAL] INFILE 'file' INTO TABLE t is the form supported".into());
    }
    let file = sig.get(i + 1).and_then(|t| text(t)).ok_or("a file name was expected after INFILE")?;
    i += 2;
    let mut on_duplicate = if local { OnDuplicate::Ignore } else { OnDuplicate::Error };
    match word(i).as_str() {
        "REPLACE" => {
            on_duplicate = OnDuplicate::Replace;
            i += 1;
        }
        "IGNORE" => {
            on_duplicate = OnDuplicate::Ignore;
            i += 1;
        }
        _ => {}
    }
    if word(i) != "INTO" || word(i + 1) != "TABLE" {
        return Err("INTO TABLE was expected".into());
    }
    i += 2;
    let mut table = sig.get(i).and_then(|t| text(t)).ok_or("a table name was expected")?;
    let mut database = None;
    i += 1;
    if sig.get(i) == Some(&&Token::Period) {
        database = Some(table);
        table = sig.get(i + 1).and_then(|t| text(t)).ok_or("a table name was expected after the period")?;
        i += 2;
    }
    let mut spec = LoadData {
        local,
        file,
        table,
        database,
        on_duplicate,
        field_end: b"\t".to_vec(),
        enclosed: None,
        escaped: Some(b'\\'),
        line_start: Vec::new(),
        line_end: b"\n".to_vec(),
        ignore_lines: 0,
        columns: Vec::new(),
    };
    let mut section = "";
    while i < sig.len() {
        let w = word(i);
        match w.as_str() {
            "CHARACTER" | "CHARSET" => {
                // CHARACTER SET x / CHARSET x: everything is UTF-8 here.
                i += if w == "CHARACTER" { 3 } else { 2 };
            }
            "FIELDS" | "COLUMNS" | "LINES" => {
                section = if w == "LINES" { "LINES" } else { "FIELDS" };
                i += 1;
            }
            "TERMINATED" | "STARTING" | "ENCLOSED" | "ESCAPED" | "OPTIONALLY" => {
                if w == "OPTIONALLY" {
                    i += 1;
                }
                let what = word(i);
                if word(i + 1) != "BY" {
                    return Err(format!("BY was expected after {what}"));
                }
                let value = bytes_of(sig.get(i + 2).ok_or("a string was expected after BY")?)?;
                match (section, what.as_str()) {
                    ("LINES", "TERMINATED") => spec.line_end = value,
                    ("LINES", "STARTING") => spec.line_start = value,
                    (_, "TERMINATED") => spec.field_end = value,
                    (_, "ENCLOSED") => spec.enclosed = value.first().copied(),
                    (_, "ESCAPED") => spec.escaped = value.first().copied(),
                    _ => return Err(format!("{what} BY does not belong in {section}")),
                }
                i += 3;
            }
            "IGNORE" => {
                let n = sig.get(i + 1).and_then(|t| text(t)).and_then(|n| n.parse().ok()).ok_or("IGNORE n LINES")?;
                spec.ignore_lines = n;
                i += 3;
            }
            _ if *sig[i] == Token::LParen => {
                i += 1;
                while i < sig.len() && *sig[i] != Token::RParen {
                    if *sig[i] != Token::Comma {
                        spec.columns.push(text(sig[i]).ok_or("a column name was expected")?);
                    }
                    i += 1;
                }
                i += 1;
            }
            "SET" => return Err("LOAD DATA … SET is not supported yet".into()),
            _ => return Err(format!("unexpected {} in LOAD DATA", sig[i])),
        }
    }
    if spec.field_end.is_empty() || spec.line_end.is_empty() {
        return Err("empty FIELDS or LINES TERMINATED BY is not supported".into());
    }
    Ok(spec)
}

/// A field's value: `None` is NULL.
pub type Field = Option<Vec<u8>>;

impl LoadData {
    /// Split `data` into rows of fields.
    pub fn rows(&self, data: &[u8]) -> Vec<Vec<Field>> {
        let mut rows = Vec::new();
        let mut pos = 0;
        let mut line_no = 0;
        while pos < data.len() {
            // LINES STARTING BY: skip to after the prefix (lines without it are skipped).
            if !self.line_start.is_empty() {
                match find(&data[pos..], &self.line_start) {
                    Some(at) => pos += at + self.line_start.len(),
                    None => break,
                }
            }
            let (fields, next) = self.line(data, pos);
            pos = next;
            line_no += 1;
            if line_no > self.ignore_lines {
                rows.push(fields);
            }
        }
        rows
    }

    /// One line starting at `pos`: its fields and where the next line starts.
    fn line(&self, data: &[u8], mut pos: usize) -> (Vec<Field>, usize) {
        let mut fields = Vec::new();
        loop {
            let (field, next, end_of_line) = self.field(data, pos);
            fields.push(field);
            pos = next;
            if end_of_line || pos >= data.len() {
                return (fields, pos);
            }
        }
    }

    /// One field at `pos`: its value, where the next starts, and whether the line ended.
    fn field(&self, data: &[u8], mut pos: usize) -> (Field, usize, bool) {
        let enclosed = self.enclosed.filter(|q| data.get(pos) == Some(q));
        if enclosed.is_some() {
            pos += 1;
        }
        let mut value = Vec::new();
        let mut was_escaped_n = false;
        while pos < data.len() {
            let c = data[pos];
            if Some(c) == self.escaped && pos + 1 < data.len() {
                let e = data[pos + 1];
                if e == b'N' && value.is_empty() && enclosed.is_none() {
                    was_escaped_n = true;
                }
                value.push(match e {
                    b'0' => 0,
                    b'b' => 8,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'Z' => 26,
                    other => other,
                });
                pos += 2;
                continue;
            }
            if let Some(q) = enclosed {
                if c == q {
                    if data.get(pos + 1) == Some(&q) {
                        // A doubled quote inside quotes is one quote.
                        value.push(q);
                        pos += 2;
                        continue;
                    }
                    let after = pos + 1;
                    if data[after..].starts_with(&self.field_end) {
                        return (Some(value), after + self.field_end.len(), false);
                    }
                    if data[after..].starts_with(&self.line_end) || after >= data.len() {
                        return (Some(value), after + self.line_end.len(), true);
                    }
                }
                value.push(c);
                pos += 1;
                continue;
            }
            if data[pos..].starts_with(&self.field_end) {
                return (self.unquoted(value, was_escaped_n), pos + self.field_end.len(), false);
            }
            if data[pos..].starts_with(&self.line_end) {
                return (self.unquoted(value, was_escaped_n), pos + self.line_end.len(), true);
            }
            value.push(c);
            pos += 1;
        }
        (if enclosed.is_some() { Some(value) } else { self.unquoted(value, was_escaped_n) }, pos, true)
    }

    /// An unenclosed value: `\N` (alone) is NULL, and so is the word NULL when fields
    /// may be enclosed.
    fn unquoted(&self, value: Vec<u8>, was_escaped_n: bool) -> Field {
        if (was_escaped_n && value == b"N") || (self.enclosed.is_some() && value == b"NULL") {
            None
        } else {
            Some(value)
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(sql: &str) -> LoadData {
        parse(&super::super::sql::tokenize(sql).unwrap()).expect("LOAD DATA").expect("parses")
    }

    fn show(rows: Vec<Vec<Field>>) -> Vec<Vec<String>> {
        rows.into_iter()
            .map(|r| {
                r.into_iter().map(|f| f.map_or("NULL".into(), |v| String::from_utf8_lossy(&v).into_owned())).collect()
            })
            .collect()
    }

    #[test]
    fn csv_with_quotes_escapes_nulls_and_a_header() {
        let s = spec(
            "LOAD DATA LOCAL INFILE '/tmp/x.csv' INTO TABLE shop.items FIELDS TERMINATED BY ',' \
             OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES (id, name, note)",
        );
        assert!(s.local);
        assert_eq!((s.database.as_deref(), s.table.as_str()), (Some("shop"), "items"));
        assert_eq!(s.columns, vec!["id", "name", "note"]);
        assert_eq!(s.on_duplicate, OnDuplicate::Ignore);
        let data = b"id,name,note\n1,\"a, b\",\\N\n2,\"say \"\"hi\"\"\",NULL\n3,tab\\there,\"\"\n";
        assert_eq!(
            show(s.rows(data)),
            vec![vec!["1", "a, b", "NULL"], vec!["2", "say \"hi\"", "NULL"], vec!["3", "tab\there", ""],]
        );
    }

    #[test]
    fn defaults_are_tabs_and_newlines() {
        let s = spec("LOAD DATA INFILE 'f.tsv' REPLACE INTO TABLE t");
        assert!(!s.local);
        assert_eq!(s.on_duplicate, OnDuplicate::Replace);
        assert_eq!(show(s.rows(b"1\tx\n2\t\\N")), vec![vec!["1", "x"], vec!["2", "NULL"]]);
    }

    #[test]
    fn bad_statements_say_why() {
        let bad = parse(&super::super::sql::tokenize("LOAD DATA INFILE 'f' INTO t").unwrap()).unwrap();
        assert!(bad.unwrap_err().contains("INTO TABLE"));
        assert!(parse(&super::super::sql::tokenize("SELECT 1").unwrap()).is_none());
    }
}
