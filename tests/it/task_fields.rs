//! The task's field table (`todo_api::tasks::task::fields`, issue 42) against what each API
//! shows, on both backends: the GraphQL `Task`'s stored fields, read from the schema itself
//! (introspection), and the REST JSON of a created task, each exactly the table's, in its
//! order. A field added to one API and not to the table (or the other way round) fails here;
//! the row's columns and the domain task are checked by the table's unit tests. And every
//! writable plain field of the table is set, cleared and set again through both APIs, so a
//! field added to the table needs no test of its own to show that it is stored.

use serde_json::{Value, json};
use todo_api::tasks::task::fields::{TASK_FIELDS, WRITABLE_FIELDS};

use crate::common::{TestApp, UserClient, pg};

backend_tests!(
    graphql_task_shows_the_table_s_fields,
    rest_json_shows_the_table_s_fields,
    writable_fields_are_set_and_cleared_through_both_apis
);

/// The GraphQL `Task`'s fields that are stored values (no argument, a scalar, an enum or a
/// list of them), in the schema's order, by introspection: every field a task list's fast
/// path (`graphql::schema::task_items`) must build without a resolver.
pub async fn stored_task_fields(user: &UserClient<'_>) -> Vec<String> {
    let query = "{ __type(name: \"Task\") { fields { name args { name } \
                 type { kind ofType { kind ofType { kind ofType { kind } } } } } } }";
    let data = user.graphql_data(query, json!({})).await;
    let fields = data["__type"]["fields"].as_array().expect("Task's fields");
    let leaf = |mut t: &Value| {
        while t["kind"] == "NON_NULL" || t["kind"] == "LIST" {
            t = &t["ofType"];
        }
        t["kind"].as_str().unwrap_or_default().to_owned()
    };
    fields
        .iter()
        .filter(|f| f["args"].as_array().is_none_or(Vec::is_empty))
        .filter(|f| matches!(leaf(&f["type"]).as_str(), "SCALAR" | "ENUM"))
        .map(|f| f["name"].as_str().expect("a name").to_owned())
        .collect()
}

async fn graphql_task_shows_the_table_s_fields(app: TestApp) {
    let stored = stored_task_fields(&app.user("alice")).await;
    let table: Vec<&str> = TASK_FIELDS.iter().filter_map(|f| f.graphql).collect();
    assert_eq!(
        stored, table,
        "the GraphQL Task's stored fields are the table's"
    );
}

/// The keys of the JSON object `text`, in the order sent (its values hold no object).
fn keys_in_order(text: &str) -> Vec<String> {
    let object: Value = serde_json::from_str(text).expect("JSON");
    let mut keys: Vec<(usize, String)> = object
        .as_object()
        .expect("an object")
        .keys()
        .map(|k| (text.find(&format!("\"{k}\":")).expect("sent"), k.clone()))
        .collect();
    keys.sort();
    keys.into_iter().map(|(_, k)| k).collect()
}

async fn rest_json_shows_the_table_s_fields(app: TestApp) {
    let alice = app.user("alice");
    let created = alice
        .post(&alice.tasks_path(""), json!({"title": "one"}))
        .await;
    let table: Vec<&str> = TASK_FIELDS
        .iter()
        .filter(|f| f.rest)
        .map(|f| f.column)
        .collect();
    assert_eq!(keys_in_order(&created.text), table, "{}", created.text);
    // A list is encoded by the same encoder: its one task, as sent.
    let listed = alice.get(&alice.tasks_path("")).await.text;
    let one = listed.strip_prefix('[').and_then(|l| l.strip_suffix(']'));
    assert_eq!(keys_in_order(one.expect("a list")), table, "{listed}");
}

/// The GraphQL type of `field` in `input` (an input object), by introspection: its name once
/// any NON_NULL is taken off.
async fn input_type(user: &UserClient<'_>, input: &str, field: &str) -> String {
    let query = "query($name: String!) { __type(name: $name) { inputFields { name \
                 type { name ofType { name } } } } }";
    let data = user.graphql_data(query, json!({ "name": input })).await;
    let fields = data["__type"]["inputFields"]
        .as_array()
        .expect("input fields");
    let found = fields.iter().find(|f| f["name"] == field);
    let found = found.unwrap_or_else(|| panic!("{input} has no field {field}"));
    let ty = &found["type"];
    ty["name"]
        .as_str()
        .or(ty["ofType"]["name"].as_str())
        .expect("a named type")
        .to_owned()
}

/// A value of GraphQL type `ty` that any writable field of it accepts: a number, or (for
/// text) the user's own id, which an id-like field (an assignee) takes too.
fn sample(ty: &str, user: &UserClient<'_>) -> Value {
    match ty {
        "Int" => json!(25),
        "Float" => json!(2.5),
        "Boolean" => json!(true),
        "String" => json!(user.user),
        other => panic!("no sample value for a field of type {other}: add one here"),
    }
}

/// Each writable plain field of the table: REST create sets it, update to null clears it and
/// update sets it again; then the same through GraphQL's createTask and updateTask. Each
/// answer, and the task read back, holds the value written.
async fn writable_fields_are_set_and_cleared_through_both_apis(app: TestApp) {
    let alice = app.user("alice");
    assert!(!WRITABLE_FIELDS.is_empty(), "the table has writable fields");
    for column in WRITABLE_FIELDS {
        let field = TASK_FIELDS.iter().find(|f| f.column == *column);
        let name = field.and_then(|f| f.graphql).expect("a GraphQL name");
        let ty = input_type(&alice, "CreateTaskInput", name).await;
        let value = sample(&ty, &alice);
        // REST.
        let body = json!({ "title": "rest", *column: value });
        let created = alice.post(&alice.tasks_path(""), body).await;
        let created = created.good(reqwest::StatusCode::CREATED);
        assert_eq!(created[*column], value, "REST create sets {column}");
        let path = alice.tasks_path(&format!("/{}", created["id"]));
        for wanted in [Value::Null, value.clone()] {
            let updated = alice.put(&path, json!({ *column: wanted })).await;
            let updated = updated.good(reqwest::StatusCode::OK);
            assert_eq!(updated[*column], wanted, "REST update writes {column}");
            assert_eq!(
                alice.get(&path).await.good(reqwest::StatusCode::OK)[*column],
                wanted
            );
        }
        // GraphQL.
        let create = format!(
            "mutation($v: {ty}) {{ createTask(input: {{title: \"gql\", {name}: $v}}) {{ id {name} }} }}"
        );
        let created = alice.graphql_data(&create, json!({ "v": value })).await;
        assert_eq!(created["createTask"][name], value, "createTask sets {name}");
        let id = created["createTask"]["id"].clone();
        let update = format!(
            "mutation($id: ID!, $v: {ty}) {{ updateTask(id: $id, input: {{{name}: $v}}) {{ {name} }} }}"
        );
        for wanted in [Value::Null, value.clone()] {
            let vars = json!({ "id": id, "v": wanted });
            let updated = alice.graphql_data(&update, vars).await;
            assert_eq!(
                updated["updateTask"][name], wanted,
                "updateTask writes {name}"
            );
        }
        let read = format!("query($id: ID!) {{ task(id: $id) {{ {name} }} }}");
        let read = alice.graphql_data(&read, json!({ "id": id })).await;
        assert_eq!(read["task"][name], value, "the task reads back {name}");
    }
}

/// PostgreSQL's writes need no change for a column added later (migrations 000073, 000074):
/// a column with a DEFAULT, added as docs/OPERATING.md says (`ALTER TABLE`, then `SELECT
/// task_store_restate()`), and unknown to the server, takes its default on a create (the
/// server's row does not send it) and keeps its value through an update and a completion
/// (the update writes the row whole, every column). Before 000074 the create failed: its
/// record started from NULLs, and the column is NOT NULL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_column_added_later_needs_no_write_function_change() {
    let Some(db) = crate::common::pg::TempDatabase::migrated().await else {
        return;
    };
    let sql = pg::client(&db.url).await;
    sql.batch_execute(
        "ALTER TABLE tasks ADD COLUMN added_later_minutes integer NOT NULL DEFAULT 25;
         SELECT task_store_restate();",
    )
    .await
    .expect("adds a column");
    let app = TestApp::builder(crate::common::Backend::Postgres)
        .database_url(&db.url)
        .start()
        .await
        .expect("app starts");
    let alice = app.user("alice");
    let id = alice.create_task("estimated").await["id"].as_i64().unwrap();
    let estimate = async || -> i32 {
        sql.query_one(
            "SELECT added_later_minutes FROM tasks WHERE id = $1",
            &[&id],
        )
        .await
        .expect("reads the column")
        .get(0)
    };
    assert_eq!(estimate().await, 25, "a create takes the column's default");
    sql.execute(
        "UPDATE tasks SET added_later_minutes = 40 WHERE id = $1",
        &[&id],
    )
    .await
    .expect("sets it as another program would");
    let path = alice.tasks_path(&format!("/{id}"));
    let updated = alice.put(&path, json!({"title": "renamed"})).await;
    assert_eq!(updated.good(reqwest::StatusCode::OK)["title"], "renamed");
    alice
        .patch(&alice.tasks_path(&format!("/{id}/complete")))
        .await
        .good(reqwest::StatusCode::OK);
    assert_eq!(
        estimate().await,
        40,
        "an update keeps a column it does not name"
    );
}
