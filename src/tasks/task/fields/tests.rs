//! The field table against the row's SELECT list, the table's columns and the domain `Task`
//! (a child module, so that the table does not depend on the model it is checked against).

use diesel::prelude::*;
use diesel::sqlite::Sqlite;

use super::TASK_FIELDS;
use crate::db::schema::tasks;
use crate::tasks::task::model::TaskRow;

/// The column names of a SELECT as diesel writes it for SQLite (`` `tasks`.`id` ``).
fn selected(sql: String) -> Vec<String> {
    let list = sql.split(" FROM ").next().unwrap_or_default();
    list.split(", ")
        .map(|c| c.rsplit('.').next().unwrap_or_default().trim_matches('`'))
        .map(|c| c.trim_start_matches("SELECT `").to_owned())
        .collect()
}

fn columns() -> Vec<String> {
    TASK_FIELDS.iter().map(|f| f.column.to_owned()).collect()
}

#[test]
fn graphql_names_are_the_columns_in_camel_case() {
    for field in TASK_FIELDS {
        let Some(name) = field.graphql else { continue };
        let mut camel = String::new();
        let mut upper = false;
        for c in field.column.chars() {
            match c {
                '_' => upper = true,
                c if upper => {
                    camel.push(c.to_ascii_uppercase());
                    upper = false;
                }
                c => camel.push(c),
            }
        }
        assert_eq!(name, camel, "{}", field.column);
    }
}

#[test]
fn the_row_selects_the_table_s_fields_in_order() {
    let query = tasks::table.select(TaskRow::as_select());
    let sql = diesel::debug_query::<Sqlite, _>(&query).to_string();
    assert_eq!(selected(sql), columns());
}

#[test]
fn every_column_of_tasks_is_a_field_or_a_search_key() {
    let query = tasks::table.select(tasks::all_columns);
    let sql = diesel::debug_query::<Sqlite, _>(&query).to_string();
    let mut stored = selected(sql);
    // The search keys are the database's, derived from title and description (`task::search_keys`).
    stored.retain(|c| !c.ends_with("_key"));
    let (mut stored, mut fields) = (stored, columns());
    stored.sort();
    fields.sort();
    assert_eq!(stored, fields);
}

#[test]
fn the_domain_task_carries_the_shown_fields_in_order() {
    let json = serde_json::to_string(&crate::tasks::Task::default()).expect("JSON");
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&json).expect("an object");
    // In the order written (the map sorts them).
    let mut keys: Vec<(usize, &String)> = object
        .keys()
        .map(|k| (json.find(&format!("\"{k}\":")).expect("written"), k))
        .collect();
    keys.sort();
    let keys: Vec<&str> = keys.into_iter().map(|(_, k)| k.as_str()).collect();
    let shown: Vec<&str> = TASK_FIELDS
        .iter()
        .filter(|f| f.shown())
        .map(|f| f.column)
        .collect();
    assert_eq!(keys, shown);
}
