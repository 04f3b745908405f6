//! The rules for tags, whichever API they came through: a task's tags (at most
//! [`TAGS_MAX`], each 1–[`TAG_MAX_CHARS`] characters after trimming, unique per task
//! case-insensitively, kept in the order given), a tag's new name, the `tag` / `any_tag`
//! filters, and the key tags are compared by ([`tag_key`]). Errors in pydantic's shapes.
//!
//! It must not depend on the model or the store (both use it).

// A `FieldError` is large, but validation failures are the cold path.
#![allow(clippy::result_large_err)]

use serde_json::{Value, json};

use crate::error::FieldError;

/// Most tags on one task.
pub const TAGS_MAX: usize = 20;
/// Longest tag name, in characters after trimming.
pub const TAG_MAX_CHARS: usize = 50;
/// Most names in one `tag` (or one `any_tag`) filter.
pub const TAG_FILTER_MAX: usize = 50;

/// What tags are compared by: the trimmed name lower-cased (Rust's `to_lowercase`, so any
/// letter, not only ASCII; the same on both backends, since the database never folds it).
pub fn tag_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// One tag name, checked and trimmed; the error is at `location` / `field`.
pub(crate) fn validate_tag(
    location: &'static str,
    field: &str,
    name: &str,
) -> Result<String, FieldError> {
    let error = |kind, message: String, ctx| FieldError {
        location,
        field: Some(field.to_owned()),
        kind,
        message,
        input: Value::from(name),
        ctx,
    };
    let trimmed = name.trim();
    let chars = trimmed.chars().count();
    if chars == 0 {
        return Err(error(
            "string_too_short",
            "String should have at least 1 character after trimming".to_owned(),
            Some(json!({"min_length": 1})),
        ));
    }
    if chars > TAG_MAX_CHARS {
        return Err(error(
            "string_too_long",
            format!("String should have at most {TAG_MAX_CHARS} characters after trimming"),
            Some(json!({"max_length": TAG_MAX_CHARS})),
        ));
    }
    if trimmed.contains('\0') {
        return Err(error(
            "value_error",
            "Value error, must not contain the NUL character (U+0000)".to_owned(),
            None,
        ));
    }
    Ok(trimmed.to_owned())
}

/// pydantic's error for a list longer than `max`.
fn too_many(location: &'static str, field: &str, max: usize, input: &[String]) -> FieldError {
    FieldError {
        location,
        field: Some(field.to_owned()),
        kind: "too_long",
        message: format!(
            "List should have at most {max} items after validation, not {}",
            input.len()
        ),
        input: json!(input),
        ctx: Some(json!({"field_type": "List", "max_length": max, "actual_length": input.len()})),
    }
}

/// A task's tags (the body's `tags`), checked: each trimmed, in the order given. Every problem
/// is reported, each item's at `tags.<index>`; a second spelling of a tag already given
/// (compared by [`tag_key`]) is a `value_error` naming both.
pub(crate) fn validate_tags(tags: &[String]) -> Result<Vec<String>, Vec<FieldError>> {
    let mut errors = Vec::new();
    if tags.len() > TAGS_MAX {
        errors.push(too_many("body", "tags", TAGS_MAX, tags));
    }
    let mut kept: Vec<String> = Vec::with_capacity(tags.len());
    for (index, raw) in tags.iter().enumerate() {
        let field = format!("tags.{index}");
        match validate_tag("body", &field, raw) {
            Ok(name) => {
                let key = tag_key(&name);
                if let Some(first) = kept.iter().position(|k| tag_key(k) == key) {
                    errors.push(FieldError::body(
                        &field,
                        "value_error",
                        format!(
                            "Value error, duplicate tag '{name}': tag {first} is '{}' (tags are \
                             unique per task, ignoring case)",
                            kept[first]
                        ),
                        Value::from(raw.as_str()),
                    ));
                }
                kept.push(name);
            }
            Err(e) => {
                errors.push(e);
                // Keeps the indexes of the names after it right in later messages.
                kept.push(String::new());
            }
        }
    }
    if errors.is_empty() {
        Ok(kept)
    } else {
        Err(errors)
    }
}

/// A list filter's names (`tag` or `any_tag` in the query): at most [`TAG_FILTER_MAX`], each
/// a valid tag name. Returns their keys.
pub(crate) fn filter_keys(field: &str, names: &[String]) -> Result<Vec<String>, Vec<FieldError>> {
    let mut errors = Vec::new();
    if names.len() > TAG_FILTER_MAX {
        errors.push(too_many("query", field, TAG_FILTER_MAX, names));
    }
    let keys = names
        .iter()
        .filter_map(|name| match validate_tag("query", field, name) {
            Ok(name) => Some(tag_key(&name)),
            Err(e) => {
                errors.push(e);
                None
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(keys)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use crate::tasks::tags::rules::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn tags_are_trimmed_kept_in_order_and_unique_ignoring_case() {
        assert_eq!(
            validate_tags(&names(&[" b ", "A", "Ünï"])),
            Ok(names(&["b", "A", "Ünï"]))
        );
        let errors = validate_tags(&names(&["Work", "x", "WORK ", " ", &"x".repeat(51)]))
            .expect_err("refused");
        let fields: Vec<_> = errors.iter().map(|e| e.field.clone().unwrap()).collect();
        assert_eq!(fields, ["tags.2", "tags.3", "tags.4"]);
        assert_eq!(errors[0].kind, "value_error");
        assert!(
            errors[0].message.contains("'Work'"),
            "{}",
            errors[0].message
        );
        assert_eq!(errors[1].kind, "string_too_short");
        assert_eq!(errors[2].kind, "string_too_long");
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert_eq!(validate_tags(&many).unwrap_err()[0].kind, "too_long");
        assert_eq!(validate_tags(&many[..20]).map(|t| t.len()), Ok(20));
        assert_eq!(tag_key(" ÄBC "), "äbc");
    }
}
