//! `LOAD DATA [LOCAL] INFILE`: the statement's options, and splitting a file into rows of
//! fields by them (MySQL's rules: terminators, optional enclosing quotes, the escape
//! character with `\N` for NULL, `IGNORE n LINES`, a column list).

use sqlparser::tokenizer::Token;

use super::tokens::{is_space, kw, text};

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

/// Where a field stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// At a field terminator: the line goes on.
    Field,
    /// At a line terminator.
    Line,
    /// At the end of the bytes given: the line may go on in bytes not seen yet.
    Data,
}

/// Splits a file that arrives in pieces into rows, as [`LoadData::rows`] would split
/// the whole: only complete lines are taken until the last piece.
#[derive(Debug)]
pub struct RowReader {
    spec: LoadData,
    line_no: usize,
}

impl RowReader {
    /// The rows of the complete lines at the start of `data` and how many bytes they
    /// took; with `at_end`, `data` is the rest of the file and every line is taken.
    pub fn take(&mut self, data: &[u8], at_end: bool) -> (Vec<Vec<Field>>, usize) {
        let spec = &self.spec;
        let mut rows = Vec::new();
        let mut pos = 0;
        while pos < data.len() {
            let mut start = pos;
            // LINES STARTING BY: skip to after the prefix (lines without it are skipped).
            if !spec.line_start.is_empty() {
                match find(&data[pos..], &spec.line_start) {
                    Some(at) => start += at + spec.line_start.len(),
                    None if at_end => return (rows, data.len()),
                    // The prefix may begin in the last bytes.
                    None => return (rows, data.len().saturating_sub(spec.line_start.len() - 1).max(pos)),
                }
            }
            let (fields, next, end) = spec.line(data, start);
            if end == End::Data && !at_end {
                break;
            }
            pos = next.min(data.len());
            self.line_no += 1;
            if self.line_no > spec.ignore_lines {
                rows.push(fields);
            }
        }
        (rows, pos)
    }
}

/// A file fed in pieces as it arrives, given back in batches of rows: a big file is
/// loaded a batch at a time, never held whole.
#[derive(Debug)]
pub struct Feed {
    reader: RowReader,
    buf: Vec<u8>,
    rows: Vec<Vec<Field>>,
    batch: usize,
}

/// Bytes gathered before they are split into rows.
const FEED_CHUNK: usize = 64 * 1024;

impl Feed {
    /// A feed of `spec`'s file giving batches of `batch` rows (0: everything at the end).
    pub fn new(spec: &LoadData, batch: usize) -> Self {
        Feed { reader: spec.reader(), buf: Vec::new(), rows: Vec::new(), batch }
    }

    /// Take the next piece of the file; the batches (of exactly `batch` rows) it completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Vec<Vec<Field>>> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= FEED_CHUNK {
            let (rows, used) = self.reader.take(&self.buf, false);
            self.buf.drain(..used);
            self.rows.extend(rows);
        }
        let mut batches = Vec::new();
        while self.batch > 0 && self.rows.len() >= self.batch {
            let rest = self.rows.split_off(self.batch);
            batches.push(std::mem::replace(&mut self.rows, rest));
        }
        batches
    }

    /// The file ended: the rows not given yet.
    pub fn finish(&mut self) -> Vec<Vec<Field>> {
        let (rows, _) = self.reader.take(&self.buf, true);
        self.buf = Vec::new();
        self.rows.extend(rows);
        std::mem::take(&mut self.rows)
    }
}

impl LoadData {
    /// Split `data` into rows of fields.
    pub fn rows(&self, data: &[u8]) -> Vec<Vec<Field>> {
        self.reader().take(data, true).0
    }

    /// A reader of this statement's file in pieces.
    pub fn reader(&self) -> RowReader {
        RowReader { spec: self.clone(), line_no: 0 }
    }

    /// One line starting at `pos`: its fields, where the next line starts, and how it ended.
    fn line(&self, data: &[u8], mut pos: usize) -> (Vec<Field>, usize, End) {
        let mut fields = Vec::new();
        loop {
            let (field, next, end) = self.field(data, pos);
            fields.push(field);
            pos = next;
            if end != End::Field || pos >= data.len() {
                let end = if end == End::Field { End::Data } else { end };
                return (fields, pos, end);
            }
        }
    }

    /// One field at `pos`: its value, where the next starts, and where it stopped.
    fn field(&self, data: &[u8], mut pos: usize) -> (Field, usize, End) {
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
                        return (Some(value), after + self.field_end.len(), End::Field);
                    }
                    if data[after..].starts_with(&self.line_end) {
                        return (Some(value), after + self.line_end.len(), End::Line);
                    }
                    if after >= data.len() {
                        return (Some(value), after + self.line_end.len(), End::Data);
                    }
                }
                value.push(c);
                pos += 1;
                continue;
            }
            if data[pos..].starts_with(&self.field_end) {
                return (self.unquoted(value, was_escaped_n), pos + self.field_end.len(), End::Field);
            }
            if data[pos..].starts_with(&self.line_end) {
                return (self.unquoted(value, was_escaped_n), pos + self.line_end.len(), End::Line);
            }
            value.push(c);
            pos += 1;
        }
        (if enclosed.is_some() { Some(value) } else { self.unquoted(value, was_escaped_n) }, pos, End::Data)
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
    fn a_file_in_pieces_splits_as_the_whole_does() {
        let s = spec(
            "LOAD DATA LOCAL INFILE 'x' INTO TABLE t FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' \
             LINES STARTING BY '>' TERMINATED BY '\r\n' IGNORE 1 LINES",
        );
        let data: &[u8] = b">h,h\r\n>1,\"a\r\nb\"\r\nskip\r\n>2,x\\\r\ny\r\n>3,\"q\"\"\",\\N\r\n>4,last";
        let whole = s.rows(data);
        assert_eq!(whole.len(), 4, "{:?}", show(whole));
        // Every way of cutting the file in two, and one byte at a time.
        for cut in 0..=data.len() {
            let mut reader = s.reader();
            let (mut rows, used) = reader.take(&data[..cut], false);
            let (rest, _) = reader.take(&data[used..], true);
            rows.extend(rest);
            assert_eq!(rows, whole, "cut at {cut}");
        }
        let (mut reader, mut buf, mut rows) = (s.reader(), Vec::new(), Vec::new());
        for b in data {
            buf.push(*b);
            let (got, used) = reader.take(&buf, false);
            rows.extend(got);
            buf.drain(..used);
        }
        rows.extend(reader.take(&buf, true).0);
        assert_eq!(rows, whole);
        // Fed in pieces: batches of 1,000 rows as the bytes come in, the rest at the end.
        let big: Vec<u8> = (0..50_000).flat_map(|i| format!("{i},v{i}\n").into_bytes()).collect();
        let s = spec("LOAD DATA LOCAL INFILE 'x' INTO TABLE t FIELDS TERMINATED BY ','");
        let mut feed = Feed::new(&s, 1000);
        let mut batches = Vec::new();
        for piece in big.chunks(4000) {
            batches.extend(feed.push(piece));
        }
        let last = feed.finish();
        assert!(batches.len() > 40 && batches.iter().all(|b| b.len() == 1000), "{}", batches.len());
        let all: Vec<Vec<Field>> = batches.into_iter().flatten().chain(last).collect();
        assert_eq!(all, s.rows(&big));
    }

    #[test]
    fn bad_statements_say_why() {
        let bad = parse(&super::super::sql::tokenize("LOAD DATA INFILE 'f' INTO t").unwrap()).unwrap();
        assert!(bad.unwrap_err().contains("INTO TABLE"));
        assert!(parse(&super::super::sql::tokenize("SELECT 1").unwrap()).is_none());
    }
}
