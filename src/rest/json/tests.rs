//! The task JSON encoder against serde_json's and chrono's spelling.

use super::*;
use crate::tasks::task::fields::TASK_FIELDS;

fn task(title: &str, description: Option<&str>, every_field: bool) -> Task {
    let at = |micros: i64| DateTime::<Utc>::from_timestamp_micros(micros).expect("in range");
    let mut task = Task {
        id: 9_007_199_254_740_993,
        user_id: "user-ü \"quoted\" \\ /".into(),
        title: title.into(),
        description: description.map(str::to_owned),
        completed: every_field,
        created_at: at(1_795_000_000_123_456),
        updated_at: at(1_795_000_000_000_000),
        priority: if every_field {
            Priority::High
        } else {
            Priority::None
        },
        category: if every_field {
            Category::Shopping
        } else {
            Category::Other
        },
        due_date: every_field.then(|| at(-62_135_596_800_000_000)), // 0001-01-01
        completed_at: every_field.then(|| at(253_402_300_799_999_999)), // 9999-12-31
        version: if every_field { i64::MAX } else { 1 },
        list_id: every_field.then_some(i64::MAX),
        parent_id: every_field.then_some(i64::MAX - 1),
        position: "80".into(),
        tags: if every_field {
            vec!["ünï \"q\"".into(), "b".into()]
        } else {
            Vec::new()
        },
        recurrence: every_field.then(|| "FREQ=DAILY".into()),
        time_zone: if every_field {
            "America/New_York".into()
        } else {
            "UTC".into()
        },
        remind_at: every_field.then(|| at(-62_135_596_800_000_000)),
        reminded_at: every_field.then(|| at(253_402_300_799_999_999)),
        // The plain fields (`tasks::task::fields`) set below, so that one added is `None`.
        ..Task::default()
    };
    task.created_by = every_field.then(|| "bob".into());
    task.assignee_id = every_field.then(|| "carol".into());
    task
}

/// The task's JSON: every field, in the FastAPI order, set and null; titles with
/// unicode, escapes and control characters. A list is the same encoding, comma-separated.
#[test]
fn the_encoder_gives_the_fastapi_shape() {
    let titles = [
        "plain",
        "ünïcødé ✓ 日本語 🎉",
        "quotes \" and \\ backslash / slash",
        "controls \n \r \t \u{0} \u{1f} \u{7f} \u{2028}",
        "",
    ];
    let spell = |at: DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut tasks = Vec::new();
    for title in titles {
        tasks.push(task(title, None, false));
        tasks.push(task(title, Some(title), true));
    }
    let mut singles = Vec::new();
    for task in &tasks {
        let text = serde_json::to_string(&TaskJson::from(task.clone())).expect("encodes");
        let at = |key: &str| text.find(&format!("\"{key}\":")).expect(key);
        // The field table's order (`tasks::task::fields`).
        let order: Vec<&str> = TASK_FIELDS
            .iter()
            .filter(|f| f.rest)
            .map(|f| f.column)
            .collect();
        assert!(order.windows(2).all(|w| at(w[0]) < at(w[1])), "{text}");
        let mut expected = serde_json::json!({
            "id": task.id,
            "user_id": task.user_id,
            "title": task.title,
            "description": task.description,
            "completed": task.completed,
            "created_at": spell(task.created_at),
            "updated_at": spell(task.updated_at),
            "priority": task.priority.as_str(),
            "category": task.category.as_str(),
            "due_date": task.due_date.map(spell),
            "completed_at": task.completed_at.map(spell),
            "version": task.version,
            "list_id": task.list_id,
            "parent_id": task.parent_id,
            "position": task.position,
            "tags": task.tags,
            "recurrence": task.recurrence,
            "time_zone": task.time_zone,
            "remind_at": task.remind_at.map(spell),
            "reminded_at": task.reminded_at.map(spell),
        });
        macro_rules! plain {
            ($($column:ident $inner:tt $graphql:literal $doc:tt $rest:tt,)*) => {
                $(expected[stringify!($column)] = serde_json::json!(task.$column);)*
            };
        }
        task_fields!(plain => plain);
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(parsed, expected);
        singles.push(text);
    }
    let mut list = Vec::new();
    serde_json::to_writer(&mut list, &TaskList(&tasks)).expect("encoder");
    assert_eq!(
        String::from_utf8(list.clone()).expect("utf-8"),
        format!("[{}]", singles.join(","))
    );
    let mut empty = Vec::new();
    serde_json::to_writer(&mut empty, &TaskList(&[])).expect("encoder");
    assert_eq!(empty, b"[]");
    // A streamed list's pieces make the same bytes, however the list is cut into pages.
    for cut in 1..tasks.len() {
        let mut pieces = encode_page(b'[', &tasks[..cut]).expect("encodes").to_vec();
        for page in tasks[cut..].chunks(3) {
            pieces.extend_from_slice(&encode_page(b',', page).expect("encodes"));
        }
        pieces.push(b']');
        assert_eq!(pieces, list, "cut at {cut}");
    }
}

/// The REST encoders spell timestamps as chrono does (`tasks::task::time`), inside JSON too.
#[test]
fn timestamps_match_chrono() {
    let mut micros: i64 = -62_167_219_200_000_001; // before year 0
    while micros < 253_402_300_800_000_000 {
        // up to year 10000
        let at = DateTime::<Utc>::from_timestamp_micros(micros).expect("in range");
        let chrono = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let json = serde_json::to_string(&Timestamp(at)).expect("encodes");
        assert_eq!(json, format!("\"{chrono}\""), "{micros}");
        micros += 86_400_000_000 * 397 + 3_600_000_000 * 5 + 7_654_321;
    }
}
