//! Task lists resolved on the server's fast path (`graphql::schema::task_items`: a page whose items ask
//! only for stored fields is built without a future per field) answer exactly what the
//! library's path answers: the same values, the same keys in selection order, with aliases,
//! fragments, `__typename`, `@include` / `@skip` and repeated fields. Each query is compared
//! with the same selection plus a nested field (`parent { id }`), which sends that list down
//! the library's path; on both backends, for `tasks`, `subtasks` and `List.tasks`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, UserClient};
use crate::task_fields::stored_task_fields;

backend_tests!(keys_come_in_selection_order);
backend_cases!(fast_and_library_paths_answer_alike);

/// Every stored field of a task as the schema lists them (introspection: a field added to
/// `Task` is selected here without naming it), `title` aliased, a third of them through a
/// named fragment and a third through an inline one, some repeated under `@include` / `@skip`.
/// The three task lists, each in its own query: `tasks`, each task's `subtasks`, each list's
/// `tasks`, selecting those and `extra`.
fn queries(fields: &[String], extra: &str) -> [String; 3] {
    let (mut plain, mut named, mut inline) = (vec!["__typename"], vec![], vec![]);
    for (i, field) in fields.iter().enumerate() {
        // A field is selected under one name only (a validation rule): `title` as `name`.
        let field = if field == "title" {
            "name: title"
        } else {
            field
        };
        [&mut plain, &mut named, &mut inline][i % 3].push(field);
    }
    let selection = format!(
        "{} ...Stored ... on Task {{ {} }} name: title @include(if: true) completed @skip(if: true) \
         id {extra}",
        plain.join(" "),
        inline.join(" "),
    );
    let fragment = format!("fragment Stored on Task {{ {} }}", named.join(" "));
    [
        format!("{{ tasks {{ {selection} }} }} {fragment}"),
        format!("{{ tasks {{ id subtasks {{ {selection} }} }} }} {fragment}"),
        format!("{{ lists {{ id tasks {{ {selection} }} }} }} {fragment}"),
    ]
}

async fn seed(user: &UserClient<'_>) {
    let list = user
        .graphql_data(
            r#"mutation { createList(input: {name: "Trip", color: BLUE}) { id } }"#,
            json!({}),
        )
        .await["createList"]["id"]
        .clone();
    let make = r#"mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }"#;
    let parent = user
        .graphql_data(
            make,
            json!({"input": {"title": "Pack \"bags\"", "description": "ünïcode ✓",
                "priority": "HIGH", "category": "WORK", "dueDate": "2030-01-02T03:04:05.123456Z",
                "tags": ["travel", "Home"], "listId": list}}),
        )
        .await["createTask"]["id"]
        .clone();
    user.graphql_data(
        make,
        json!({"input": {"title": "Passport", "parentId": parent}}),
    )
    .await;
    let weekly = user
        .graphql_data(
            make,
            json!({"input": {"title": "Water plants", "recurrence": "FREQ=WEEKLY;BYDAY=MO",
                "timeZone": "Europe/Lisbon", "dueDate": "2030-01-06T09:00:00Z", "assigneeId": user.user}}),
        )
        .await["createTask"]["id"]
        .clone();
    user.graphql_data(
        "mutation($id: ID!) { toggleTask(id: $id) { id } }",
        json!({"id": weekly}),
    )
    .await;
    let done = user
        .graphql_data(make, json!({"input": {"title": "Done", "priority": "LOW"}}))
        .await["createTask"]["id"]
        .clone();
    user.graphql_data(
        "mutation($id: ID!) { toggleTask(id: $id) { id } }",
        json!({"id": done}),
    )
    .await;
}

/// `value` without the key `parent` in every object of its task lists.
fn without_parent(mut value: Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("parent");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    value
}

async fn fast_and_library_paths_answer_alike(backend: Backend) {
    // Every field of every task in one query passes the default complexity limit.
    let app = start_app!(backend, "--graphql-max-complexity" => "5000");
    let alice = app.user("alice");
    seed(&alice).await;
    let fields = stored_task_fields(&alice).await;
    assert!(
        fields.len() > 3 && fields.iter().any(|f| f == "dueDate"),
        "{fields:?}"
    );
    let [tasks, subtasks, lists] = queries(&fields, "");
    let [tasks_lib, subtasks_lib, lists_lib] = queries(&fields, "parent { id }");
    let fast = alice.graphql_data(&tasks, json!({})).await;
    let all = fast["tasks"].as_array().expect("tasks");
    assert_eq!(all.len(), 4, "{fast}");
    assert!(all.iter().all(|t| t["__typename"] == "Task"), "{fast}");
    let packed = all.iter().find(|t| t["name"] == "Pack \"bags\"").unwrap();
    assert_eq!(packed["priority"], "HIGH");
    assert_eq!(packed["tags"], json!(["travel", "Home"]));
    assert_eq!(packed["dueDate"], "2030-01-02T03:04:05.123456Z");
    assert_eq!(packed["description"], "ünïcode ✓");
    let library = alice.graphql_data(&tasks_lib, json!({})).await;
    assert_eq!(fast, without_parent(library), "tasks: the two paths differ");

    let fast = alice.graphql_data(&subtasks, json!({})).await;
    let nested = fast["tasks"].as_array().unwrap().iter();
    let children: Vec<&Value> = nested.filter_map(|t| t["subtasks"].get(0)).collect();
    assert_eq!(children.len(), 1, "{fast}");
    assert_eq!(children[0]["name"], "Passport");
    let library = alice.graphql_data(&subtasks_lib, json!({})).await;
    assert_eq!(
        fast,
        without_parent(library),
        "subtasks: the two paths differ"
    );

    let fast = alice.graphql_data(&lists, json!({})).await;
    assert_eq!(
        fast["lists"][0]["tasks"][0]["name"], "Pack \"bags\"",
        "{fast}"
    );
    let library = alice.graphql_data(&lists_lib, json!({})).await;
    assert_eq!(
        fast,
        without_parent(library),
        "List.tasks: the two paths differ"
    );
}

/// The keys of the first object of the first task list in `text`, in the order sent.
fn first_keys(text: &str) -> Vec<String> {
    let start = text.find("\"tasks\":[{").expect("a task") + "\"tasks\":[".len();
    let object: Value = serde_json::Deserializer::from_str(&text[start..])
        .into_iter::<Value>()
        .next()
        .expect("an object")
        .expect("JSON");
    let mut keys: Vec<(usize, String)> = object
        .as_object()
        .unwrap()
        .keys()
        .map(|k| {
            let at = text[start..].find(&format!("\"{k}\":")).expect("key sent");
            (at, k.clone())
        })
        .collect();
    keys.sort();
    keys.into_iter().map(|(_, k)| k).collect()
}

async fn keys_come_in_selection_order(app: TestApp) {
    let alice = app.user("alice");
    alice.create_task("one").await;
    let query = "{ tasks { version z: title ...F id __typename completed } } \
                 fragment F on Task { createdAt title: description }";
    let response = alice
        .request(
            Method::POST,
            "/graphql",
            Some(json!({"query": query, "variables": {}})),
        )
        .await;
    assert_eq!(
        first_keys(&response.text),
        [
            "version",
            "z",
            "createdAt",
            "title",
            "id",
            "__typename",
            "completed"
        ],
        "{}",
        response.text
    );
}
