//! The cost table and the repeated-rows rule, on documents (no server).
use super::*;

fn defaults() -> GraphqlLimits {
    crate::config::settings_from_args(Vec::<String>::new())
        .expect("defaults parse")
        .validate()
        .expect("defaults are valid")
        .graphql
}

/// The standard introspection queries pass the default limits, with room to spare.
#[test]
fn standard_introspection_queries_fit() {
    for (name, query) in [
        (
            "graphql-js 16.9",
            include_str!(
                "../../../../tests/fixtures/introspection/graphql-js-16.9-all-options.graphql"
            ),
        ),
        (
            "graphql-js 17.1",
            include_str!(
                "../../../../tests/fixtures/introspection/graphql-js-17.1-all-options.graphql"
            ),
        ),
        (
            "GraphiQL 3.9",
            include_str!("../../../../tests/fixtures/introspection/graphiql-3.9.graphql"),
        ),
    ] {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        let tally = measure(&document, &defaults()).expect(name);
        println!("{name}: {tally:?}");
        assert_eq!(tally.fields, 0, "{name}");
    }
}

/// A list costs its bound times its selection: thirty aliased lists are refused, a
/// dashboard of three passes, and introspection beside them costs nothing.
#[test]
fn lists_cost_by_their_bound() {
    let fields = "id title description completed createdAt";
    let lists: String = (0..30)
        .map(|i| format!("l{i}: tasks {{ {fields} }} "))
        .collect();
    let document = async_graphql::parser::parse_query(format!("{{ {lists} }}")).unwrap();
    assert_eq!(measure(&document, &defaults()), Err(TOO_COMPLEX.to_owned()));
    let dashboard = format!(
        "{{ a: tasks {{ {fields} }} b: tasks {{ {fields} }} c: tasks {{ id }} \
         __schema {{ types {{ name }} }} }}"
    );
    let document = async_graphql::parser::parse_query(dashboard).unwrap();
    let tally = measure(&document, &defaults()).expect("a dashboard passes");
    assert_eq!(tally.complexity, 10 * 5 + 10 * 5 + 10);
    assert_eq!(tally.fields, 14);
}

/// A list's tasks inside the lists multiply by both bounds (issue 21).
#[test]
fn tasks_inside_lists_multiply() {
    let document =
        async_graphql::parser::parse_query("{ lists { name tasks { id title } } }").unwrap();
    let tally = measure(&document, &defaults()).expect("passes");
    assert_eq!(tally.complexity, 10 * (1 + 10 * 2));
    let wide = "id title description completed createdAt updatedAt priority category dueDate";
    let document =
        async_graphql::parser::parse_query(format!("{{ lists {{ tasks {{ {wide} }} }} }}"))
            .unwrap();
    assert_eq!(measure(&document, &defaults()), Err(TOO_COMPLEX.to_owned()));
}

#[test]
fn pages_cost_by_their_first_argument() {
    let query = |first: &str| {
        async_graphql::parser::parse_query(format!(
            "query($n: Int) {{ tasksConnection(first: {first}) {{ edges {{ cursor node {{ \
             id title description completed priority category dueDate }} }} }} }}"
        ))
        .expect("parses")
    };
    let limits = defaults();
    // 10 × (edges 1 + cursor 1 + node 1 + 7 fields) = 100.
    let small = measure(&query("10"), &limits).expect("a page of 10 passes");
    assert_eq!(small.complexity, 100);
    assert_eq!(measure(&query("200"), &limits), Err(TOO_COMPLEX.to_owned()));
    // A variable is read from the request's variables.
    let variables = Variables::from_json(serde_json::json!({"n": 200}));
    assert_eq!(
        measure_with(&query("$n"), &variables, &limits),
        Err(TOO_COMPLEX.to_owned())
    );
    let variables = Variables::from_json(serde_json::json!({"n": 5}));
    let tally = measure_with(&query("$n"), &variables, &limits).expect("5 passes");
    assert_eq!(tally.complexity, 50);
}

/// A webhook's log is costed once per webhook whatever its `first` (issue 58: eight scalars
/// a row, at most 100 rows, at most MAX_WEBHOOKS_PER_USER webhooks), so the documented range
/// passes under every webhook.
#[test]
fn webhook_logs_cost_once_per_webhook() {
    let all = "messageId eventType attempt statusCode error durationMs attemptedAt nextAttemptAt";
    for (first, fields) in [(100, "id url "), (5, "")] {
        let query = format!("{{ webhooks {{ {fields}deliveries(first: {first}) {{ {all} }} }} }}");
        let document = async_graphql::parser::parse_query(query).unwrap();
        let tally = measure(&document, &defaults()).expect("the documented range passes");
        let own = fields.split_whitespace().count();
        assert_eq!(tally.complexity, 10 * (own + 1 + 8));
    }
}

/// Every list field of the schema has its cost in [`COSTS`], and every entry names a field
/// of the schema: a list field added without a cost fails here.
#[test]
fn every_list_field_has_a_cost() {
    use async_graphql::parser::types::{BaseType, TypeKind, TypeSystemDefinition};

    let sdl = crate::graphql::sdl();
    let schema = async_graphql::parser::parse_schema(&sdl).expect("the SDL parses");
    let mut fields = Vec::new();
    let mut uncosted = Vec::new();
    for definition in &schema.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let TypeKind::Object(object) = &ty.node.kind else {
            continue;
        };
        for field in &object.fields {
            let name = field.node.name.node.as_str();
            fields.push(name.to_owned());
            if matches!(field.node.ty.node.base, BaseType::List(_)) && cost_of(name).is_none() {
                uncosted.push(format!("{}.{name}", ty.node.name.node));
            }
        }
    }
    assert!(
        uncosted.is_empty(),
        "list fields without a cost in COSTS: {uncosted:?}"
    );
    for (name, _) in COSTS {
        assert!(
            fields.iter().any(|f| f == name),
            "COSTS names no field: {name}"
        );
    }
}

/// A list of rows under a row many items share (a task's `list` or `parent`) inside a list is
/// refused (issue 26: the answer grew with the square of the tasks); the same fields outside
/// a list, or without a list below, pass.
#[test]
fn rows_repeated_for_every_item_are_refused() {
    let limits = defaults();
    for refused in [
        "{ tasks { list { tasks { description } } } }",
        "{ tasks { list { tasks { id } } } }",
        "{ tasks { parent { list { tasks { id } } } } }",
        "{ tasks { parent { subtasks { id } } } }",
        "{ a: tasks { l: list { t: tasks { id } } } }",
        "{ taskChanges { changed { list { tasks { id } } } } }",
        "{ lists { tasks { list { tasks { id } } } } }",
        "{ tasks { list { tasksConnection(first: 1) { nodes { id } } } } }",
        "{ tasksConnection { nodes { parent { subtasks { id } } } } }",
        "query { tasks { ...L } } fragment L on Task { list { tasks { id } } }",
        "{ tasks { ... on Task { parent { parent { subtasks { id } } } } } }",
    ] {
        let document = async_graphql::parser::parse_query(refused).expect("parses");
        let refusal = measure(&document, &limits).expect_err(refused);
        assert!(
            refusal.contains("would be read again"),
            "{refused}: {refusal}"
        );
    }
    for allowed in [
        "{ tasks { id list { id name } parent { id title } } }",
        "{ lists { tasks { list { name } } } }",
        "{ task(id: 1) { list { tasks { id } } parent { subtasks { id } } } }",
        "{ list(id: 1) { tasks { id list { name } } } }",
        "{ tasks { subtasks { parent { title } } } }",
        "{ taskChanges { changed { id list { name } } } }",
    ] {
        let document = async_graphql::parser::parse_query(allowed).expect("parses");
        measure(&document, &limits).expect(allowed);
    }
}

/// A list's members under a task's `list` inside a list are refused (issue 40: 10,000 tasks
/// of a list with 50 members answered 163.5 MB), however the document spells it; the members
/// read once (`lists { members }`, one list's, one task's list) pass.
#[test]
fn members_repeated_for_every_item_are_refused() {
    let limits = defaults();
    for refused in [
        "{ tasks { list { members { userId role addedAt } } } }",
        "{ tasks { list { members { userId } } } }",
        "{ a: tasks { l: list { m: members { userId } } } }",
        "{ tasksConnection(first: 100) { nodes { list { members { userId } } } } }",
        "{ lists { tasks { list { members { userId } } } } }",
        "{ taskChanges { changed { list { members { userId } } } } }",
        "{ tasks { parent { list { members { userId } } } } }",
        "{ tasks { subtasks { list { members { userId } } } } }",
        "query { tasks { ...T } } fragment T on Task { list { ...L } } \
         fragment L on List { members { userId } }",
        "{ tasks { ... on Task { list { ... on List { members { role } } } } } }",
    ] {
        let document = async_graphql::parser::parse_query(refused).expect("parses");
        let refusal = measure(&document, &limits).expect_err(refused);
        assert!(
            refusal.contains("`members` under `")
                && refusal.contains("`lists { id members { … } }` once"),
            "{refused}: {refusal}"
        );
    }
    for allowed in [
        "{ lists { id members { userId role addedAt } } }",
        "{ list(id: 1) { members { userId } tasks { id list { id } } } }",
        "{ task(id: 1) { list { members { userId } } } }",
        "{ tasks { id list { id name } } lists { id members { userId } } }",
    ] {
        let document = async_graphql::parser::parse_query(allowed).expect("parses");
        measure(&document, &limits).expect(allowed);
    }
}

/// A scalar answered under several names in a list of rows is refused (each alias copies every
/// row's value past the response budget, which charges a row once); once, or under one name in
/// several fragments, or outside a list, it passes.
#[test]
fn a_scalar_aliased_in_a_list_is_refused() {
    let limits = defaults();
    for refused in [
        "{ tasks { d1: description d2: description } }",
        "{ tasks { description d2: description } }",
        "{ tasksConnection { nodes { a: title b: title } } }",
        "{ lists { tasks { ...A ...B } } } fragment A on Task { x: tags } fragment B on Task { y: tags }",
        "{ tasks { ... on Task { a: description } b: description } }",
    ] {
        let document = async_graphql::parser::parse_query(refused).expect("parses");
        let refusal = measure(&document, &limits).expect_err(refused);
        assert!(refusal.contains("under two names"), "{refused}: {refusal}");
    }
    for allowed in [
        "{ tasks { id description ...F } } fragment F on Task { description id }",
        "{ task(id: 1) { a: description b: description } }",
        "{ a: tasks { description } b: tasks { description } }",
        "{ lists { done: tasks(status: COMPLETED) { id } open: tasks(status: PENDING) { id } } }",
    ] {
        let document = async_graphql::parser::parse_query(allowed).expect("parses");
        measure(&document, &limits).expect(allowed);
    }
}
