//! An LRU of parsed statements (`[query_pipeline] transpiler_cache_size` entries), shared
//! by every session of a node: a query text seen before is not tokenized and split again.
//!
//! A text is admitted on its second sighting. Most statements of a busy OLTP client carry
//! their values as literals and never repeat; admitting each of them cost a copy of the
//! text and its tokens, evicted another entry, and filled the cache (and the node's
//! memory) with texts that would not come again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use sqlparser::tokenizer::Token;

use super::sql::{self, SyntaxError};

/// Statements of one query text, as tokens.
pub type Statements = Arc<Vec<Vec<Token>>>;

/// Query texts longer than this are not cached (bulk INSERTs rarely repeat).
const MAX_CACHED_LEN: usize = 8 << 10;

#[derive(Default)]
struct Lru {
    entries: HashMap<String, (Statements, u64)>,
    by_use: BTreeMap<u64, String>,
    tick: u64,
    /// Hashes of texts seen once and not admitted yet; cleared when it reaches the
    /// cache's capacity.
    seen_once: HashSet<u64>,
}

/// The shared statement cache.
pub struct StatementCache {
    capacity: usize,
    inner: Mutex<Lru>,
}

impl StatementCache {
    /// A cache of at most `capacity` query texts (0 disables it).
    pub fn new(capacity: usize) -> Self {
        StatementCache { capacity, inner: Mutex::new(Lru::default()) }
    }

    /// The statements of `text`, from the cache or freshly tokenized.
    pub fn statements(&self, text: &str) -> Result<Statements, SyntaxError> {
        let mut cacheable = self.capacity > 0 && text.len() <= MAX_CACHED_LEN;
        if cacheable {
            let mut lru = self.inner.lock().expect("statement cache");
            lru.tick += 1;
            let tick = lru.tick;
            if let Some((stmts, used)) = lru.entries.get_mut(text) {
                let (stmts, old) = (stmts.clone(), std::mem::replace(used, tick));
                lru.by_use.remove(&old);
                lru.by_use.insert(tick, text.to_string());
                return Ok(stmts);
            }
            let hash = lru.entries.hasher().hash_one(text);
            if lru.seen_once.len() >= self.capacity {
                lru.seen_once.clear();
            }
            cacheable = !lru.seen_once.insert(hash);
            if cacheable {
                lru.seen_once.remove(&hash);
            }
        }
        let stmts: Statements = Arc::new(sql::split(sql::tokenize(text)?));
        if cacheable {
            let mut lru = self.inner.lock().expect("statement cache");
            lru.tick += 1;
            let tick = lru.tick;
            if let Some((_, old)) = lru.entries.insert(text.to_string(), (stmts.clone(), tick)) {
                lru.by_use.remove(&old);
            }
            lru.by_use.insert(tick, text.to_string());
            while lru.entries.len() > self.capacity {
                let Some((_, victim)) = lru.by_use.pop_first() else { break };
                lru.entries.remove(&victim);
            }
        }
        Ok(stmts)
    }

    /// Number of cached query texts.
    pub fn len(&self) -> usize {
        self.inner.lock().expect("statement cache").entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_most_recently_used_texts() {
        let c = StatementCache::new(2);
        c.statements("SELECT 1").unwrap();
        assert!(c.is_empty(), "a text seen once is not kept");
        let a = c.statements("SELECT 1").unwrap();
        c.statements("SELECT 2").unwrap();
        c.statements("SELECT 2").unwrap();
        assert!(Arc::ptr_eq(&a, &c.statements("SELECT 1").unwrap()), "a hit returns the cached parse");
        c.statements("SELECT 3").unwrap();
        c.statements("SELECT 3").unwrap();
        assert_eq!(c.len(), 2);
        assert!(Arc::ptr_eq(&a, &c.statements("SELECT 1").unwrap()), "SELECT 2 was the least recently used");
        assert!(c.statements("SELECT 'unterminated").is_err());
        assert_eq!(StatementCache::new(0).statements("SELECT 1").unwrap().len(), 1);
    }
}
