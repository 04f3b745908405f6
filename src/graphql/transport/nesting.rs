//! The nesting bound, checked before the GraphQL parser (a recursive descent parser) or the
//! executor sees a document: ~1,500 nested `[`, `{` or `(` overflow the parser's stack and abort
//! the process. This is a byte scan, so it costs one pass and cannot itself recurse.
//!
//! Brackets inside strings, block strings and comments do not count; everything else does,
//! whether it is a selection set, an argument list, a list value or an input object, because
//! the parser recurses into each of them.

/// The deepest bracket nesting a document (or a variables value) may have. A real frontend
/// query nests selections ~10 deep (`GRAPHQL_MAX_DEPTH`), plus a few levels of arguments and
/// input objects; 64 leaves room for that and keeps the parser and validator far from the
/// 2 MiB stack of a Tokio worker (measured: a debug build overflows at a few hundred).
pub const MAX_NESTING: usize = 64;

/// The deepest `{`/`[`/`(` nesting of a GraphQL document outside strings and comments.
/// Unbalanced documents are left to the parser to report; only depth matters here.
pub fn document_nesting(document: &str) -> usize {
    let bytes = document.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                // A comment runs to the end of the line.
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                // A block string: only `\"""` escapes its terminator.
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2; // the loop's `i += 1` steps past the third quote
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// The deepest nesting of a value (a request's variables), without recursion.
pub fn value_nesting(value: &async_graphql::Value) -> usize {
    use async_graphql::Value;
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((value, depth)) = stack.pop() {
        match value {
            Value::List(items) => {
                deepest = deepest.max(depth + 1);
                stack.extend(items.iter().map(|v| (v, depth + 1)));
            }
            Value::Object(fields) => {
                deepest = deepest.max(depth + 1);
                stack.extend(fields.values().map(|v| (v, depth + 1)));
            }
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_brackets_outside_strings_and_comments() {
        assert_eq!(document_nesting("{ a { b(x: [1, {y: 2}]) } }"), 5);
        assert_eq!(document_nesting("{ a(s: \"{{{{[[[\") }"), 2);
        assert_eq!(document_nesting("{ a(s: \"\\\"{{{\") }"), 2);
        assert_eq!(document_nesting("# {{{{{{\n{ a }"), 1);
        assert_eq!(
            document_nesting("{ a(s: \"\"\"{{{ \\\"\"\" {{{\"\"\") }"),
            2
        );
        assert_eq!(document_nesting(&"[".repeat(5000)), 5000);
        assert_eq!(document_nesting("}}}{"), 1);
    }

    #[test]
    fn value_depth() {
        let v: serde_json::Value = serde_json::from_str(r#"{"a": [[1], {"b": {}}]}"#).unwrap();
        let v = async_graphql::Value::from_json(v).unwrap();
        assert_eq!(value_nesting(&v), 4);
        assert_eq!(value_nesting(&async_graphql::Value::from(1)), 0);
    }
}
