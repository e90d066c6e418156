//! Debezium change events: the envelope of the seed (`before`, `after`, `source`, `op`,
//! `ts_ms`) under a `schema` block that describes it, as Kafka Connect's JSON converter
//! writes them, so Debezium consumers read marmot's events unchanged.
//!
//! Types follow Debezium's MySQL connector with `decimal.handling.mode=string` and
//! `binary.handling.mode=base64`: integers are numbers, DECIMAL is a string (no float
//! rounding), BLOBs are base64 strings, temporal values the text MySQL shows. Each field
//! also carries the MySQL column type in `parameters."__debezium.source.column.type"` (as
//! Debezium's `column.propagate.source.type` does).

use base64::Engine as _;
use marmot_core::{ColumnValue, Op, RowChange, TxnId, Value};
use serde_json::{json, Map, Value as Json};

/// A column as the table declares it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Name.
    pub name: String,
    /// MySQL type as declared (`int`, `decimal(10,2)`, `varchar(20)`, …).
    pub mysql_type: String,
    /// Declared NOT NULL.
    pub not_null: bool,
    /// Part of the primary key.
    pub key: bool,
}

/// One event, ready for a sink.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// `{prefix}.{database}.{table}`.
    pub topic: String,
    /// The row's primary key as a JSON object (the Kafka key: events of one row share it).
    pub key: Vec<u8>,
    /// Unique per change (`{txn}:{database}:{index}`): brokers drop a republished copy.
    pub id: String,
    /// The JSON envelope.
    pub value: Vec<u8>,
}

/// The part of a topic name taken from a database or table name: characters that have a
/// meaning in NATS subjects or are not allowed in Kafka topics become `_`.
fn topic_part(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

/// The topic of a table's events.
pub fn topic(prefix: &str, database: &str, table: &str) -> String {
    format!("{prefix}.{}.{}", topic_part(database), topic_part(table))
}

/// Connect's type of a MySQL column type.
fn connect_type(mysql_type: &str) -> &'static str {
    let t = mysql_type.to_ascii_lowercase();
    let base = t.split(['(', ' ']).next().unwrap_or("");
    match base {
        "tinyint" if t.starts_with("tinyint(1)") => "boolean",
        "bool" | "boolean" => "boolean",
        "tinyint" | "smallint" => "int16",
        "mediumint" | "int" | "integer" if !t.contains("unsigned") => "int32",
        "mediumint" | "int" | "integer" | "bigint" | "year" => "int64",
        "float" => "float",
        "double" | "real" => "double",
        "blob" | "tinyblob" | "mediumblob" | "longblob" | "binary" | "varbinary" | "bit" => "bytes",
        _ => "string",
    }
}

/// A value as the field's Connect type wants it.
fn json_value(v: &Value, kind: &str) -> Json {
    let b64 = |b: &[u8]| Json::String(base64::engine::general_purpose::STANDARD.encode(b));
    match (v, kind) {
        (Value::Null, _) => Json::Null,
        (Value::Integer(i), "boolean") => Json::Bool(*i != 0),
        (Value::Integer(i), "string") => Json::String(i.to_string()),
        (Value::Integer(i), _) => json!(i),
        (Value::Real(r), "string") => Json::String(r.to_string()),
        (Value::Real(r), _) => serde_json::Number::from_f64(*r).map_or(Json::Null, Json::Number),
        (Value::Text(t), "bytes") => b64(t.as_bytes()),
        (Value::Text(t), _) => Json::String(t.clone()),
        (Value::Blob(b), "string") => String::from_utf8(b.clone()).map_or_else(|_| b64(b), Json::String),
        (Value::Blob(b), _) => b64(b),
    }
}

/// The Connect type of a column that the table no longer declares, from its value.
fn type_of_value(v: &Value) -> &'static str {
    match v {
        Value::Integer(_) => "int64",
        Value::Real(_) => "double",
        Value::Blob(_) => "bytes",
        Value::Null | Value::Text(_) => "string",
    }
}

fn kind_of<'a>(columns: &'a [Column], cv: &ColumnValue) -> (&'static str, Option<&'a Column>) {
    match columns.iter().find(|c| c.name == cv.column) {
        Some(c) => (connect_type(&c.mysql_type), Some(c)),
        None => (type_of_value(&cv.value), None),
    }
}

/// The scale of a `decimal(p,s)` / `numeric(p,s)` type (0 when only `p` is given).
fn decimal_scale(mysql_type: &str) -> Option<usize> {
    let t = mysql_type.to_ascii_lowercase();
    if !(t.starts_with("decimal") || t.starts_with("numeric")) {
        return None;
    }
    let args = t.split_once('(').and_then(|(_, rest)| rest.split_once(')')).map_or("", |(a, _)| a);
    Some(args.split_once(',').and_then(|(_, s)| s.trim().parse().ok()).unwrap_or(0))
}

fn row_json(row: &[ColumnValue], columns: &[Column]) -> Json {
    let mut m = Map::new();
    for cv in row {
        let (kind, col) = kind_of(columns, cv);
        // SQLite keeps a DECIMAL as a number (2.00 as the integer 2): show it with the
        // declared scale, as MySQL and Debezium's string mode do.
        let value = match (col.and_then(|c| decimal_scale(&c.mysql_type)), &cv.value) {
            (Some(0), Value::Integer(i)) => Json::String(i.to_string()),
            (Some(scale), Value::Integer(i)) => Json::String(format!("{i}.{}", "0".repeat(scale))),
            (Some(scale), Value::Real(r)) => Json::String(format!("{r:.scale$}")),
            _ => json_value(&cv.value, kind),
        };
        m.insert(cv.column.clone(), value);
    }
    Json::Object(m)
}

/// The `schema` of a row image: one field per column.
fn row_schema(row: &[ColumnValue], columns: &[Column], name: &str, field: &str) -> Json {
    let fields: Vec<Json> = row
        .iter()
        .map(|cv| {
            let (kind, col) = kind_of(columns, cv);
            let mut f = json!({"type": kind, "optional": !col.is_some_and(|c| c.not_null), "field": cv.column});
            if let Some(c) = col {
                f["parameters"] = json!({"__debezium.source.column.type": c.mysql_type.to_ascii_uppercase()});
            }
            f
        })
        .collect();
    json!({"type": "struct", "fields": fields, "optional": true, "name": name, "field": field})
}

fn source_schema() -> Json {
    let f = |kind: &str, optional: bool, field: &str| json!({"type": kind, "optional": optional, "field": field});
    json!({
        "type": "struct",
        "fields": [
            f("string", false, "version"), f("string", false, "connector"), f("string", false, "name"),
            f("int64", false, "ts_ms"), f("string", false, "db"), f("string", true, "table"),
            f("string", true, "txId"), f("int64", true, "node"), f("int64", true, "sequence"),
        ],
        "optional": false,
        "name": "io.debezium.connector.marmot.Source",
        "field": "source",
    })
}

/// Where a change comes from: its transaction and its place in this node's log.
#[derive(Clone, Copy, Debug)]
pub struct Origin {
    /// The transaction (its HLC wall time is the commit's `source.ts_ms`).
    pub txn: TxnId,
    /// The node that coordinated it.
    pub node: u64,
    /// Its position in the publishing node's log of the database.
    pub sequence: u64,
    /// The change's index within the transaction.
    pub index: usize,
}

/// The event of one row change. `columns`: the table as declared now; `now_ms`: the
/// envelope's `ts_ms` (when marmot published it).
pub fn event(prefix: &str, change: &RowChange, columns: &[Column], origin: Origin, now_ms: u64) -> Event {
    let topic = topic(prefix, &change.database, &change.table);
    let op = match change.op {
        Op::Insert => "c",
        Op::Update => "u",
        Op::Delete => "d",
    };
    let image = change.after.as_ref().or(change.before.as_ref()).map(|r| r.as_slice()).unwrap_or(&[]);
    let keyed: Vec<ColumnValue> =
        image.iter().filter(|cv| columns.iter().any(|c| c.key && c.name == cv.column)).cloned().collect();
    let key = if keyed.is_empty() {
        json!({"key": base64::engine::general_purpose::STANDARD.encode(&change.key.0)})
    } else {
        row_json(&keyed, columns)
    };
    let value_name = format!("{topic}.Value");
    let envelope = json!({
        "schema": {
            "type": "struct",
            "fields": [
                row_schema(image, columns, &value_name, "before"),
                row_schema(image, columns, &value_name, "after"),
                source_schema(),
                {"type": "string", "optional": false, "field": "op"},
                {"type": "int64", "optional": true, "field": "ts_ms"},
            ],
            "optional": false,
            "name": format!("{topic}.Envelope"),
        },
        "payload": {
            "before": change.before.as_ref().map(|r| row_json(r, columns)),
            "after": change.after.as_ref().map(|r| row_json(r, columns)),
            "source": {
                "version": env!("CARGO_PKG_VERSION"),
                "connector": "marmot",
                "name": "marmot",
                "ts_ms": origin.txn.wall,
                "db": change.database,
                "table": change.table,
                "txId": origin.txn.to_string(),
                "node": origin.node,
                "sequence": origin.sequence,
            },
            "op": op,
            "ts_ms": now_ms,
        },
    });
    Event {
        topic,
        key: serde_json::to_vec(&key).expect("JSON of JSON values"),
        id: format!("{}:{}:{}", origin.txn, change.database, origin.index),
        value: serde_json::to_vec(&envelope).expect("JSON of JSON values"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use marmot_core::{Hlc, RowKey};

    fn cv(c: &str, v: Value) -> ColumnValue {
        ColumnValue { column: c.into(), value: v }
    }

    fn columns() -> Vec<Column> {
        let c = |n: &str, t: &str, key: bool| Column { name: n.into(), mysql_type: t.into(), not_null: key, key };
        vec![
            c("id", "int", true),
            c("price", "decimal(8,2)", false),
            c("img", "blob", false),
            c("ok", "tinyint(1)", false),
        ]
    }

    fn update() -> RowChange {
        RowChange {
            database: "shop".into(),
            table: "items".into(),
            op: Op::Update,
            key: RowKey(vec![1]),
            before: Some(vec![
                cv("id", Value::Integer(7)),
                cv("price", Value::Text("1.50".into())),
                cv("img", Value::Null),
                cv("ok", Value::Integer(0)),
            ]),
            after: Some(vec![
                cv("id", Value::Integer(7)),
                cv("price", Value::Text("2.00".into())),
                cv("img", Value::Blob(vec![0, 255])),
                cv("ok", Value::Integer(1)),
            ]),
            schema_version: 1,
            read_version: None,
        }
    }

    fn origin() -> Origin {
        Origin { txn: Hlc { wall: 1_702_500_000_000, logical: 3, node: 2 }, node: 2, sequence: 9, index: 0 }
    }

    #[test]
    fn an_update_is_a_debezium_envelope_with_before_after_source_and_schema() {
        let e = event("marmot.cdc", &update(), &columns(), origin(), 1_702_500_000_050);
        assert_eq!(e.topic, "marmot.cdc.shop.items");
        assert_eq!(serde_json::from_slice::<Json>(&e.key).unwrap(), json!({"id": 7}));
        let v: Json = serde_json::from_slice(&e.value).unwrap();
        let p = &v["payload"];
        assert_eq!(p["op"], "u");
        assert_eq!(p["before"], json!({"id": 7, "price": "1.50", "img": null, "ok": false}));
        assert_eq!(p["after"], json!({"id": 7, "price": "2.00", "img": "AP8=", "ok": true}));
        assert_eq!(p["source"]["db"], "shop");
        assert_eq!(p["source"]["table"], "items");
        assert_eq!(p["source"]["connector"], "marmot");
        assert_eq!(p["source"]["ts_ms"], 1_702_500_000_000u64);
        assert_eq!(p["ts_ms"], 1_702_500_000_050u64);
        let after = &v["schema"]["fields"][1];
        assert_eq!(after["field"], "after");
        let types: Vec<&str> =
            after["fields"].as_array().unwrap().iter().map(|f| f["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["int32", "string", "bytes", "boolean"]);
        assert_eq!(after["fields"][1]["parameters"]["__debezium.source.column.type"], "DECIMAL(8,2)");
        assert_eq!(after["fields"][0]["optional"], false);
    }

    #[test]
    fn inserts_have_no_before_and_deletes_no_after() {
        let mut c = update();
        c.op = Op::Insert;
        c.before = None;
        let v: Json = serde_json::from_slice(&event("p", &c, &columns(), origin(), 0).value).unwrap();
        assert_eq!((v["payload"]["op"].as_str(), v["payload"]["before"].is_null()), (Some("c"), true));
        let mut d = update();
        d.op = Op::Delete;
        d.after = None;
        let e = event("p", &d, &columns(), origin(), 0);
        let v: Json = serde_json::from_slice(&e.value).unwrap();
        assert_eq!((v["payload"]["op"].as_str(), v["payload"]["after"].is_null()), (Some("d"), true));
        assert_eq!(serde_json::from_slice::<Json>(&e.key).unwrap(), json!({"id": 7}), "a delete is keyed like its row");
    }

    #[test]
    fn decimals_kept_as_numbers_show_their_declared_scale() {
        let mut c = update();
        c.after.as_mut().unwrap()[1].value = Value::Integer(2);
        c.before.as_mut().unwrap()[1].value = Value::Real(1.5);
        let v: Json = serde_json::from_slice(&event("p", &c, &columns(), origin(), 0).value).unwrap();
        assert_eq!(
            (v["payload"]["before"]["price"].as_str(), v["payload"]["after"]["price"].as_str()),
            (Some("1.50"), Some("2.00"))
        );
        assert_eq!(decimal_scale("DECIMAL(10)"), Some(0));
        assert_eq!(decimal_scale("varchar(10)"), None);
    }

    #[test]
    fn topic_names_keep_to_safe_characters() {
        assert_eq!(topic("marmot.cdc", "my db", "a.b*"), "marmot.cdc.my_db.a_b_");
    }
}
