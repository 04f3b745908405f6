//! Text parameters: a path's task id, and the list's query string, read by one type
//! ([`ListParams`]) that both parses it, with FastAPI / pydantic v2 error shapes for every
//! malformed value, and documents its parameters in the OpenAPI document. Rules about values
//! (search length, page size) are the service's; this module must not check them.
//!
//! No parameter carries an `example`: Swagger UI's "Try it out" fills a parameter's example
//! into the form and sends it, which turns an example into a filter. Examples go in the
//! description instead.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use utoipa::IntoParams;

use super::json::{CategoryName, PriorityName};
use super::tag_body::{all_tags_filter, any_tags_filter};
use crate::error::{AppError, FieldError};
use crate::tasks::task::model::{category_names, enum_error, parse_datetime, priority_names};
use crate::tasks::task::page::{MAX_PAGE_SIZE, page_size};
use crate::tasks::{
    Category, Cursor, ListFilter, ListQuery, PageRequest, Priority, SortKey, SortOrder, TaskStatus,
};

/// Query parameters of the list. Unknown parameters are ignored; for a repeated one the last
/// wins, except `tag` and `any_tag`, which collect every value.
#[derive(Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `all` (default), `pending` or `completed`.
    #[param(value_type = Option<String>, pattern = "^(all|pending|completed)$")]
    status: Option<TaskStatus>,
    /// `created`, `updated`, `title`, `status`, `priority`, `due` or `position` (manual
    /// order, top first by default). Default: `position` with `list_id` (inside a list, or
    /// the inbox), else `created`.
    #[param(
        value_type = Option<String>,
        pattern = "^(created|updated|title|status|priority|due|position)$"
    )]
    sort: Option<SortKey>,
    /// The other spelling: `created_at`, `updated_at`, `title`, `status`, `priority`,
    /// `due_date` or `position`. Ties are broken by id.
    #[param(
        value_type = Option<String>,
        pattern = "^(created_at|updated_at|title|status|priority|due_date|position)$"
    )]
    sort_by: Option<SortKey>,
    /// `asc` or `desc`. Without it: times newest first, titles A→Z, pending first, priority
    /// high first, due date soonest first. Tasks without a due date come last either way.
    #[param(value_type = Option<String>, pattern = "^(asc|desc)$")]
    order: Option<SortOrder>,
    /// Only tasks of this priority.
    #[param(value_type = Option<PriorityName>, inline)]
    priority: Option<Priority>,
    /// Only tasks of this category.
    #[param(value_type = Option<CategoryName>, inline)]
    category: Option<Category>,
    /// Only tasks whose title or description contains this text, case-insensitively (any
    /// letter); `%`, `_` and `\` match themselves. Up to 100 characters. E.g. `milk`.
    #[param(max_length = 100)]
    search: Option<String>,
    /// Only tasks due strictly before this time (RFC 3339), e.g. `2026-12-01T00:00:00Z`.
    #[param(value_type = Option<String>, format = DateTime)]
    due_before: Option<DateTime<Utc>>,
    /// Only tasks due strictly after this time (RFC 3339), e.g. `2026-11-01T00:00:00Z`.
    #[param(value_type = Option<String>, format = DateTime)]
    due_after: Option<DateTime<Utc>>,
    /// `true`: only pending tasks whose due date has passed (`false`: no filter).
    overdue: Option<bool>,
    /// Tasks carrying all of these tags (described by `tag_body::all_tags_filter`).
    #[param(schema_with = all_tags_filter)]
    tag: Vec<String>,
    /// Tasks carrying any of these tags (described by `tag_body::any_tags_filter`).
    #[param(schema_with = any_tags_filter)]
    any_tag: Vec<String>,
    /// Only the subtasks of this task (its direct children), e.g. `12`; `none`: only
    /// top-level tasks.
    #[param(value_type = Option<String>, pattern = "^(none|-?[0-9]+)$")]
    parent_id: Option<Option<i64>>,
    /// Page size, 1–200. With it the response is one page: a `Link: <…>; rel="next"` header
    /// leads to the next one, and `X-Total-Count` gives the number over all pages.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Only the tasks of one list: its id, or `none` for the inbox (tasks in no list).
    /// Another user's list, or one that does not exist: 404 `List not found`. Anything else:
    /// 422.
    #[param(value_type = Option<String>, pattern = "^(none|-?[0-9]+)$")]
    list_id: Option<ListFilter>,
    /// Only the tasks assigned to this user (a user id, e.g. `bob`).
    assignee: Option<String>,
    /// Where the page starts: the `cursor` of a `Link` header, passed back unchanged with
    /// the same sort and order (else 422). Alone, it pages on 200 at a time. Empty: the
    /// first page.
    cursor: Option<String>,
}

impl ListParams {
    /// Parses the raw query string into the service's list query and, when `limit` or
    /// `cursor` is given, the page. Every problem is reported at once.
    pub(super) fn parse(raw: Option<&str>) -> Result<(ListQuery, Option<PageRequest>), AppError> {
        let mut params = ListParams::default();
        let mut errors = Vec::new();
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            params.read(&key, &value, &mut errors);
        }
        let request = params.into_request(&mut errors);
        if errors.is_empty() {
            Ok(request)
        } else {
            Err(AppError::Validation(errors))
        }
    }

    /// One `key=value` pair; a bad value leaves the field as it was.
    fn read(&mut self, key: &str, value: &str, errors: &mut Vec<FieldError>) {
        match key {
            "status" => {
                let options = [
                    ("all", TaskStatus::All),
                    ("pending", TaskStatus::Pending),
                    ("completed", TaskStatus::Completed),
                ];
                self.status = literal("status", value, &options, errors).or(self.status);
            }
            "sort" => {
                let options = [
                    ("created", SortKey::CreatedAt),
                    ("updated", SortKey::UpdatedAt),
                    ("title", SortKey::Title),
                    ("status", SortKey::Status),
                    ("priority", SortKey::Priority),
                    ("due", SortKey::DueDate),
                    ("position", SortKey::Position),
                ];
                self.sort = literal("sort", value, &options, errors).or(self.sort);
            }
            "sort_by" => {
                let options = [
                    ("created_at", SortKey::CreatedAt),
                    ("updated_at", SortKey::UpdatedAt),
                    ("title", SortKey::Title),
                    ("status", SortKey::Status),
                    ("priority", SortKey::Priority),
                    ("due_date", SortKey::DueDate),
                    ("position", SortKey::Position),
                ];
                self.sort_by = literal("sort_by", value, &options, errors).or(self.sort_by);
            }
            "order" => {
                let options = [("asc", SortOrder::Asc), ("desc", SortOrder::Desc)];
                self.order = literal("order", value, &options, errors).or(self.order);
            }
            "priority" => {
                let names = priority_names();
                self.priority = query_enum("priority", value, Priority::parse, &names, errors)
                    .or(self.priority);
            }
            "category" => {
                let names = category_names();
                self.category = query_enum("category", value, Category::parse, &names, errors)
                    .or(self.category);
            }
            "search" => self.search = Some(value.to_owned()),
            "due_before" | "due_after" => match parse_datetime("query", key, &plus_offset(value)) {
                Ok(at) if key == "due_before" => self.due_before = Some(at),
                Ok(at) => self.due_after = Some(at),
                Err(e) => errors.push(e),
            },
            "overdue" => self.overdue = query_bool("overdue", value, errors).or(self.overdue),
            "tag" => self.tag.push(value.to_owned()),
            "any_tag" => self.any_tag.push(value.to_owned()),
            "parent_id" if value.eq_ignore_ascii_case("none") => self.parent_id = Some(None),
            "parent_id" => {
                if let Some(id) = query_int("parent_id", value, errors) {
                    self.parent_id = Some(Some(id));
                }
            }
            "limit" => {
                if let Some(n) = query_int("limit", value, errors) {
                    match page_size("query", "limit", n, 1, Value::from(value)) {
                        Ok(n) => self.limit = Some(n),
                        Err(e) => errors.push(e),
                    }
                }
            }
            "list_id" => match value {
                "none" => self.list_id = Some(ListFilter::Inbox),
                _ => match value.parse::<i64>() {
                    Ok(id) => self.list_id = Some(ListFilter::List(id)),
                    Err(_) => errors.push(FieldError {
                        location: "query",
                        field: Some("list_id".to_owned()),
                        kind: "value_error",
                        message: "Value error, expected a list id (an integer) or 'none' \
                                  (the inbox)"
                            .into(),
                        input: Value::from(value),
                        ctx: None,
                    }),
                },
            },
            "assignee" => self.assignee = Some(value.to_owned()),
            // Empty is absent (the first page), as a form leaves an unfilled field.
            "cursor" => self.cursor = Some(value.to_owned()).filter(|v| !v.is_empty()),
            _ => {}
        }
    }

    /// The service's list query and page, from what was read.
    fn into_request(self, errors: &mut Vec<FieldError>) -> (ListQuery, Option<PageRequest>) {
        let query = ListQuery {
            status: self.status.unwrap_or_default(),
            // `sort_by` is the newer spelling; it wins when a client sends both.
            sort: (self.sort_by.or(self.sort))
                .unwrap_or_else(|| self.list_id.unwrap_or_default().default_sort()),
            order: self.order,
            priority: self.priority,
            category: self.category,
            search: self.search,
            due_before: self.due_before,
            due_after: self.due_after,
            overdue: self.overdue.unwrap_or_default(),
            tags: self.tag,
            any_tags: self.any_tag,
            parent_id: self.parent_id,
            list: self.list_id.unwrap_or_default(),
            assignee: self.assignee,
            among_lists: Vec::new(),
        };
        // Read against the final order: a cursor is only valid for the order it was made in.
        let mut after = None;
        if let Some(raw) = self.cursor.as_deref() {
            match Cursor::decode(raw, &query, "query", "cursor") {
                Ok(cursor) => after = Some(cursor),
                Err(e) => errors.push(e),
            }
        }
        let page = (self.limit.is_some() || after.is_some()).then(|| PageRequest {
            // A cursor alone pages on with the largest page.
            limit: self.limit.unwrap_or(MAX_PAGE_SIZE),
            after,
        });
        (query, page)
    }
}

fn literal<T: Copy>(
    name: &str,
    raw: &str,
    options: &[(&str, T)],
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    if let Some((_, value)) = options
        .iter()
        .find(|(text, _)| text.eq_ignore_ascii_case(raw))
    {
        return Some(*value);
    }
    let names: Vec<String> = options
        .iter()
        .map(|(text, _)| format!("'{text}'"))
        .collect();
    let expected = match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    errors.push(FieldError {
        location: "query",
        field: Some(name.to_owned()),
        kind: "literal_error",
        message: format!("Input should be {expected}"),
        input: Value::from(raw),
        ctx: Some(json!({"expected": expected})),
    });
    None
}

/// pydantic's error for text that is not an integer.
fn int_parsing(location: &'static str, name: &str, raw: &str) -> FieldError {
    FieldError {
        location,
        field: Some(name.to_owned()),
        kind: "int_parsing",
        message: "Input should be a valid integer, unable to parse string as an integer".into(),
        input: Value::from(raw),
        ctx: None,
    }
}

/// A task id from the path.
pub(super) fn task_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>()
        .map_err(|_| AppError::invalid(int_parsing("path", "id", raw)))
}

/// A query parameter that must be an integer.
fn query_int(name: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    let parsed = raw.parse::<i64>().ok();
    if parsed.is_none() {
        errors.push(int_parsing("query", name, raw));
    }
    parsed
}

/// A query parameter that must be a boolean, spelled as pydantic accepts them.
fn query_bool(name: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<bool> {
    let lower = raw.to_ascii_lowercase();
    match lower.as_str() {
        "true" | "1" | "yes" | "y" | "on" | "t" => Some(true),
        "false" | "0" | "no" | "n" | "off" | "f" => Some(false),
        _ => {
            errors.push(FieldError {
                location: "query",
                field: Some(name.to_owned()),
                kind: "bool_parsing",
                message: "Input should be a valid boolean, unable to interpret input".into(),
                input: Value::from(raw),
                ctx: None,
            });
            None
        }
    }
}

/// An enum query parameter (`priority`, `category`): pydantic's `enum` error when unknown.
fn query_enum<T>(
    name: &str,
    raw: &str,
    parse: fn(&str) -> Option<T>,
    names: &[&str],
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let parsed = parse(raw);
    if parsed.is_none() {
        errors.push(enum_error("query", name, names, Value::from(raw)));
    }
    parsed
}

/// A `+hh:mm` offset left unescaped in a URL arrives as a space (form decoding); restore it,
/// since no RFC 3339 date-time has a space there.
fn plus_offset(raw: &str) -> std::borrow::Cow<'_, str> {
    let bytes = raw.as_bytes();
    match bytes.len().checked_sub(6) {
        Some(at) if bytes[at] == b' ' && bytes[at + 3] == b':' => {
            format!("{}+{}", &raw[..at], &raw[at + 1..]).into()
        }
        _ => raw.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::task::model::SEARCH_MAX_CHARS;

    /// The documented limits are the service's (attributes take only literals).
    #[test]
    fn the_documented_limits_are_the_services() {
        let params = ListParams::into_params(|| None);
        let schema = |name: &str| {
            let param = params.iter().find(|p| p.name == name).expect(name);
            serde_json::to_value(param).expect("serializes")["schema"].clone()
        };
        assert_eq!(schema("search")["maxLength"], json!(SEARCH_MAX_CHARS));
        assert_eq!(schema("limit")["maximum"], json!(MAX_PAGE_SIZE));
        assert_eq!(schema("limit")["minimum"], json!(1));
    }
}
