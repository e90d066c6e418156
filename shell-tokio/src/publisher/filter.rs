//! Which tables a sink publishes: `filter_databases` and `filter_tables` globs.

use globset::{Glob, GlobSet, GlobSetBuilder};

/// Build a glob set; an empty list matches everything (as `["*"]`).
pub fn globs(patterns: &[String]) -> Result<Option<GlobSet>, String> {
    if patterns.is_empty() || patterns.iter().any(|p| p == "*") {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).map_err(|e| format!("{p:?} is not a glob: {e}"))?);
    }
    b.build().map(Some).map_err(|e| e.to_string())
}

/// A sink's table filter.
#[derive(Clone, Debug)]
pub struct Filter {
    databases: Option<GlobSet>,
    tables: Option<GlobSet>,
}

impl Filter {
    /// The filter of these (already checked) globs.
    pub fn new(databases: &[String], tables: &[String]) -> Result<Self, String> {
        Ok(Filter { databases: globs(databases)?, tables: globs(tables)? })
    }

    /// Whether changes of `database` can be published at all.
    pub fn database(&self, database: &str) -> bool {
        self.databases.as_ref().is_none_or(|g| g.is_match(database))
    }

    /// Whether changes of `database`.`table` are published.
    pub fn table(&self, database: &str, table: &str) -> bool {
        self.database(database) && self.tables.as_ref().is_none_or(|g| g.is_match(table))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn globs_pick_databases_and_tables() {
        let f = Filter::new(&s(&["prod_*"]), &s(&["users", "order_*"])).unwrap();
        assert!(f.table("prod_eu", "users"));
        assert!(f.table("prod_eu", "order_lines"));
        assert!(!f.table("prod_eu", "sessions"));
        assert!(!f.table("test", "users"));
        assert!(!f.database("test"));
        let all = Filter::new(&[], &s(&["*"])).unwrap();
        assert!(all.table("anything", "at_all"));
    }
}
