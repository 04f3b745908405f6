//! Parsed GraphQL documents by query text: a small LRU, so that the same query sent again is
//! not parsed again (apps send a handful of distinct queries, thousands of times).
//!
//! Only a document that passed [`check_document`] (size, aliases, and whatever else that
//! check grows) is cached, together with that outcome: a hit skips the parse and the checks,
//! which would give the same answer for the same text under the same limits. The cache
//! belongs to one app (its limits never change), so no document checked under other limits
//! is ever used. Everything async-graphql itself checks (depth, complexity, recursive depth,
//! validation against the schema) still runs on every request, cached document or not.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::Request;
use async_graphql::parser::types::ExecutableDocument;

use super::limits::check_document;
use crate::config::GraphqlLimits;

/// Most documents kept. An app sends a few dozen distinct documents; more than this and the
/// least recently used one goes.
const CAPACITY: usize = 256;
/// Longest query text cached: bounds the cache's memory (CAPACITY × this, plus the trees).
const MAX_CACHED_BYTES: usize = 4096;

/// The cache of one app.
#[derive(Default)]
pub struct DocumentCache {
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
    /// Checks the request's document against the limits, unless this exact text passed them
    /// before, and hands the parsed document to the request so the executor does not parse it
    /// again. Returns the document (`None` when it does not parse: the executor then reports
    /// the syntax error with its position); `Err` says which limit the document exceeds.
    pub fn prepare(
        &self,
        request: &mut Request,
        limits: &GraphqlLimits,
    ) -> Result<Option<Arc<ExecutableDocument>>, String> {
        if let Some(document) = self.get(&request.query) {
            request.set_parsed_query(ExecutableDocument::clone(&document));
            return Ok(Some(document));
        }
        check_document(&request.query, limits)?;
        let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
            return Ok(None);
        };
        let document = Arc::new(document);
        if request.query.len() <= MAX_CACHED_BYTES {
            self.insert(&request.query, document.clone());
        }
        request.set_parsed_query(ExecutableDocument::clone(&document));
        Ok(Some(document))
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
        if entries.map.len() >= CAPACITY {
            // A linear scan on a miss with a full cache: rare, and CAPACITY is small.
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
