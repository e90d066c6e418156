//! A JSON document as MySQL's functions see it: object members in their order (MariaDB
//! keeps them as written), printed with MySQL's `", "` and `": "`, addressed by MySQL
//! paths (`$.a."b c"[2]`, `[last]`, `.*`, `[*]`).

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, members in order.
    Object(Vec<(String, Json)>),
}

/// One leg of a MySQL JSON path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `.key` / `."key"`.
    Member(String),
    /// `[n]`.
    Index(usize),
    /// `[last]` / `[last - n]`.
    Last(usize),
    /// `.*`.
    AnyMember,
    /// `[*]`.
    AnyElement,
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
        Ok(Json::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
        Ok(Json::Number(n.into()))
    }
    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Json, E> {
        serde_json::Number::from_f64(n).map(Json::Number).ok_or_else(|| E::custom("not a finite number"))
    }
    fn visit_str<E>(self, s: &str) -> Result<Json, E> {
        Ok(Json::String(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Json, E> {
        Ok(Json::String(s))
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members: Vec<(String, Json)> = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Json>()? {
            // A repeated key: the last one stands, in the first one's place.
            match members.iter_mut().find(|(key, _)| *key == k) {
                Some(slot) => slot.1 = v,
                None => members.push((k, v)),
            }
        }
        Ok(Json::Object(members))
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

fn number_eq(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x == y,
        _ => a.as_f64() == b.as_f64(),
    }
}

impl Json {
    /// Parse JSON text (`None` if it is not JSON).
    pub fn parse(text: &str) -> Option<Json> {
        serde_json::from_str(text).ok()
    }

    /// MySQL's printed form: `{"a": 1, "b": [1, 2]}`.
    pub fn to_mysql(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(&n.to_string()),
            Json::String(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
            Json::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&serde_json::to_string(k).unwrap_or_default());
                    out.push_str(": ");
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// JSON_TYPE's name for it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "NULL",
            Json::Bool(_) => "BOOLEAN",
            Json::Number(n) if n.is_i64() || n.is_u64() => "INTEGER",
            Json::Number(_) => "DOUBLE",
            Json::String(_) => "STRING",
            Json::Array(_) => "ARRAY",
            Json::Object(_) => "OBJECT",
        }
    }

    /// JSON_LENGTH: members of an object, elements of an array, 1 for a scalar.
    pub fn length(&self) -> usize {
        match self {
            Json::Array(items) => items.len(),
            Json::Object(members) => members.len(),
            _ => 1,
        }
    }

    /// Every value `path` reaches.
    pub fn select(&self, path: &[Step]) -> Vec<&Json> {
        let mut current = vec![self];
        for step in path {
            let mut next = Vec::new();
            for j in current {
                match (step, j) {
                    (Step::Member(k), Json::Object(m)) => {
                        next.extend(m.iter().filter(|(key, _)| key == k).map(|(_, v)| v))
                    }
                    (Step::AnyMember, Json::Object(m)) => next.extend(m.iter().map(|(_, v)| v)),
                    (Step::Index(i), Json::Array(a)) => next.extend(a.get(*i)),
                    (Step::Last(n), Json::Array(a)) => next.extend(a.len().checked_sub(1 + n).and_then(|i| a.get(i))),
                    (Step::AnyElement, Json::Array(a)) => next.extend(a.iter()),
                    // A non-array is an array of itself for `[0]` / `[last]`.
                    (Step::Index(0) | Step::Last(0), other) => next.push(other),
                    _ => {}
                }
            }
            current = next;
        }
        current
    }

    fn get_mut(&mut self, path: &[Step]) -> Option<&mut Json> {
        let mut j = self;
        for step in path {
            j = match (step, j) {
                (Step::Member(k), Json::Object(m)) => m.iter_mut().find(|(key, _)| key == k).map(|(_, v)| v)?,
                (Step::Index(i), Json::Array(a)) => a.get_mut(*i)?,
                (Step::Last(n), Json::Array(a)) => {
                    let i = a.len().checked_sub(1 + n)?;
                    a.get_mut(i)?
                }
                (Step::Index(0) | Step::Last(0), other) => other,
                _ => return None,
            };
        }
        Some(j)
    }

    /// JSON_SET (`insert` and `replace`), JSON_INSERT (`insert`), JSON_REPLACE (`replace`)
    /// of one path; a path whose parent does not exist changes nothing.
    pub fn put(&mut self, path: &[Step], value: Json, insert: bool, replace: bool) {
        let Some((last, parent_path)) = path.split_last() else {
            if replace {
                *self = value;
            }
            return;
        };
        let Some(parent) = self.get_mut(parent_path) else { return };
        match (last, parent) {
            (Step::Member(k), Json::Object(m)) => match m.iter_mut().find(|(key, _)| key == k) {
                Some(slot) if replace => slot.1 = value,
                Some(_) => {}
                None if insert => m.push((k.clone(), value)),
                None => {}
            },
            (Step::Index(i), Json::Array(a)) => match a.get_mut(*i) {
                Some(slot) if replace => *slot = value,
                Some(_) => {}
                None if insert => a.push(value),
                None => {}
            },
            (Step::Last(n), Json::Array(a)) => {
                if let Some(slot) = a.len().checked_sub(1 + n).and_then(|i| a.get_mut(i)) {
                    if replace {
                        *slot = value;
                    }
                }
            }
            (Step::Index(0) | Step::Last(0), other) if replace => *other = value,
            (Step::Index(_), other) if insert => {
                let old = std::mem::replace(other, Json::Null);
                *other = Json::Array(vec![old, value]);
            }
            _ => {}
        }
    }

    /// JSON_REMOVE of one path.
    pub fn remove(&mut self, path: &[Step]) {
        let Some((last, parent_path)) = path.split_last() else { return };
        let Some(parent) = self.get_mut(parent_path) else { return };
        match (last, parent) {
            (Step::Member(k), Json::Object(m)) => m.retain(|(key, _)| key != k),
            (Step::Index(i), Json::Array(a)) if *i < a.len() => {
                a.remove(*i);
            }
            (Step::Last(n), Json::Array(a)) => {
                if let Some(i) = a.len().checked_sub(1 + n) {
                    a.remove(i);
                }
            }
            _ => {}
        }
    }

    /// JSON_CONTAINS(self, candidate): MySQL's containment.
    pub fn contains(&self, candidate: &Json) -> bool {
        match (self, candidate) {
            (Json::Array(items), Json::Array(wanted)) => wanted.iter().all(|w| items.iter().any(|i| i.contains(w))),
            (Json::Array(items), other) => items.iter().any(|i| i.contains(other)),
            (Json::Object(m), Json::Object(wanted)) => {
                wanted.iter().all(|(k, w)| m.iter().any(|(key, v)| key == k && v.contains(w)))
            }
            (Json::Number(a), Json::Number(b)) => number_eq(a, b),
            (a, b) => a == b,
        }
    }
}

/// Parse a MySQL JSON path (`None` if it is not one, or uses `**`, which is not supported).
pub fn parse_path(path: &str) -> Option<Vec<Step>> {
    let mut rest = path.trim().strip_prefix('$')?.trim_start();
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let r = r.trim_start();
            if let Some(r) = r.strip_prefix('*') {
                steps.push(Step::AnyMember);
                rest = r;
            } else if let Some(r) = r.strip_prefix('"') {
                // A quoted key, with `\"` and `\\` escapes.
                let mut key = String::new();
                let mut chars = r.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => key.push(chars.next()?.1),
                        '"' => {
                            end = Some(i + 1);
                            break;
                        }
                        c => key.push(c),
                    }
                }
                steps.push(Step::Member(key));
                rest = &r[end?..];
            } else {
                let len = r.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).unwrap_or(r.len());
                if len == 0 {
                    return None;
                }
                steps.push(Step::Member(r[..len].to_string()));
                rest = &r[len..];
            }
        } else if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']')?;
            let inner = r[..close].trim();
            steps.push(if inner == "*" {
                Step::AnyElement
            } else if let Some(back) = inner.strip_prefix("last") {
                let back = back.trim();
                match back.strip_prefix('-') {
                    Some(n) => Step::Last(n.trim().parse().ok()?),
                    None if back.is_empty() => Step::Last(0),
                    None => return None,
                }
            } else {
                Step::Index(inner.parse().ok()?)
            });
            rest = &r[close + 1..];
        } else {
            return None;
        }
        rest = rest.trim_start();
    }
    Some(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(s: &str) -> Json {
        Json::parse(s).unwrap()
    }

    #[test]
    fn prints_as_mysql_with_members_in_order() {
        assert_eq!(j(r#"{"b":1,"a":[1,"x",null,true,2.5]}"#).to_mysql(), r#"{"b": 1, "a": [1, "x", null, true, 2.5]}"#);
        assert_eq!(j(r#""tab\there""#).to_mysql(), r#""tab\there""#);
    }

    #[test]
    fn paths_select_members_elements_and_wildcards() {
        let doc = j(r#"{"a": {"b c": [10, 20, 30]}, "d": 4}"#);
        let sel = |p: &str| doc.select(&parse_path(p).unwrap()).iter().map(|v| v.to_mysql()).collect::<Vec<_>>();
        assert_eq!(sel(r#"$.a."b c"[1]"#), ["20"]);
        assert_eq!(sel(r#"$.a."b c"[last]"#), ["30"]);
        assert_eq!(sel(r#"$.a."b c"[last - 2]"#), ["10"]);
        assert_eq!(sel("$.*"), [r#"{"b c": [10, 20, 30]}"#, "4"]);
        assert_eq!(sel(r#"$.a.*[*]"#), ["10", "20", "30"]);
        assert_eq!(sel("$.d[0]"), ["4"]);
        assert!(sel("$.missing").is_empty());
        assert_eq!(parse_path("$**.a"), None);
        assert_eq!(parse_path("a.b"), None);
    }

    #[test]
    fn set_insert_replace_and_remove() {
        let mut doc = j(r#"{"a": 1, "l": [1]}"#);
        doc.put(&parse_path("$.a").unwrap(), Json::Number(2.into()), false, false);
        doc.put(&parse_path("$.b").unwrap(), Json::Number(3.into()), true, false);
        doc.put(&parse_path("$.a").unwrap(), Json::Number(5.into()), false, true);
        doc.put(&parse_path("$.l[5]").unwrap(), Json::Null, true, true);
        doc.put(&parse_path("$.x.y").unwrap(), Json::Null, true, true);
        assert_eq!(doc.to_mysql(), r#"{"a": 5, "l": [1, null], "b": 3}"#);
        doc.remove(&parse_path("$.l[0]").unwrap());
        doc.remove(&parse_path("$.a").unwrap());
        assert_eq!(doc.to_mysql(), r#"{"l": [null], "b": 3}"#);
    }

    #[test]
    fn containment_follows_mysql() {
        assert!(j("[1, 2, 3]").contains(&j("2")));
        assert!(j("[1, 2, 3]").contains(&j("[3, 1]")));
        assert!(!j("[1, 2]").contains(&j("[3]")));
        assert!(j(r#"{"a": 1, "b": [1, 2]}"#).contains(&j(r#"{"b": [2]}"#)));
        assert!(!j(r#"{"a": 1}"#).contains(&j("1")));
        assert!(j("1.0").contains(&j("1")));
    }
}
