//! Parsed GraphQL documents by query text: a small LRU, so that the same query sent again is
//! not parsed again (an app sends a handful of distinct documents, thousands of times each).
//!
//! It holds parse trees only, never a verdict: every limit (size, nesting, variables, aliases,
//! depth, complexity, introspection bounds) and the schema's validation run again on every
//! request, cached document or not, because some depend on the request (complexity reads
//! `first` from the variables). A document that does not parse is not cached; the executor
//! reports its syntax error with the position.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::parser::types::ExecutableDocument;

/// Most documents kept; past this the least recently used one goes.
const CAPACITY: usize = 128;
/// Longest query text cached (the standard introspection queries are ~2 KiB): with CAPACITY,
/// bounds the cache's memory to a few MiB however the documents are chosen.
const MAX_CACHED_BYTES: usize = 4096;

/// The documents of one app.
#[derive(Default)]
pub(crate) struct DocumentCache {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<Arc<str>, Entry>,
    clock: u64,
}

struct Entry {
    document: Arc<ExecutableDocument>,
    used: u64,
}

impl DocumentCache {
    /// The parsed document of `query`, from the cache or parsed now; `None` when it does not
    /// parse. Call only after the text gate (`check_request`): the parser recurses per level.
    pub(crate) fn parse(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        if let Some(document) = self.get(query) {
            return Some(document);
        }
        let document = Arc::new(async_graphql::parser::parse_query(query).ok()?);
        if query.len() <= MAX_CACHED_BYTES {
            self.insert(query, document.clone());
        }
        Some(document)
    }

    /// Documents held now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .len()
    }

    fn get(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.clock += 1;
        let now = entries.clock;
        let entry = entries.map.get_mut(query)?;
        entry.used = now;
        Some(entry.document.clone())
    }

    fn insert(&self, query: &str, document: Arc<ExecutableDocument>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.map.len() >= CAPACITY && !entries.map.contains_key(query) {
            // A linear scan, only on a miss with a full cache; CAPACITY is small.
            let oldest = entries
                .map
                .iter()
                .min_by_key(|(_, entry)| entry.used)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                entries.map.remove(&oldest);
            }
        }
        entries.clock += 1;
        let used = entries.clock;
        entries
            .map
            .insert(Arc::from(query), Entry { document, used });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_recently_used_documents_within_capacity() {
        let cache = DocumentCache::default();
        let hot = "{ tasks { id } }";
        assert!(cache.parse(hot).is_some());
        for i in 0..CAPACITY * 2 {
            assert!(cache.parse(&format!("{{ a{i}: __typename }}")).is_some());
            // Used all along: never the least recently used.
            let again = cache.parse(hot).expect("parses");
            assert!(Arc::ptr_eq(&again, &cache.parse(hot).expect("parses")));
        }
        assert_eq!(cache.len(), CAPACITY);
        assert!(cache.get(hot).is_some(), "the hot document was evicted");
    }

    #[test]
    fn does_not_cache_what_does_not_parse_or_is_too_long() {
        let cache = DocumentCache::default();
        assert!(cache.parse("{ tasks { id }").is_none());
        let long = format!("{{ __typename {} }}", " ".repeat(MAX_CACHED_BYTES));
        assert!(cache.parse(&long).is_some());
        assert_eq!(cache.len(), 0);
    }
}
