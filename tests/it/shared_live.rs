//! Live events of shared lists (issue 29), on both backends: a change one member makes to a
//! task of a shared list reaches every member's subscriptions (GraphQL over WebSocket) and
//! SSE streams as it happens, each with that member's own gap-free cursor, and nobody
//! else's; a member who leaves or is removed hears the list's tasks and the list go, a member
//! added hears them come. (PostgreSQL: the journal trigger's NOTIFY per member; SQLite: the
//! write reads back every journal it moved, `tasks::events::publish`.)

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::live::{self, Socket, SseReader};
use crate::common::{TestApp, UserClient};
use crate::lists::{create_list, id_of};
use crate::sharing::{share, task_in};

backend_tests!(
    members_hear_each_others_changes_live,
    joining_and_leaving_are_heard_live
);

const SUBSCRIPTION: &str =
    "subscription { taskEvents { kind id listId cursor task { title completed } } }";

/// One user's live streams, a subscription and an SSE stream, and the cursor they stand at.
struct Streams {
    user: String,
    ws: Socket,
    sse: SseReader,
    at: i64,
}

impl Streams {
    /// Opens both streams for `user` and waits until they hear the user's changes
    /// ([`Streams::ready`]).
    async fn open(app: &TestApp, user: &str) -> Streams {
        let mut ws = live::socket(app, user).await;
        live::subscribe_to(&mut ws, "1", SUBSCRIPTION).await;
        let path = format!("/api/{user}/tasks/events");
        let sse = SseReader::open(app, user, &path, &[]).await;
        let mut streams = Streams {
            user: user.to_owned(),
            ws,
            sse,
            at: 0,
        };
        streams.ready(app).await;
        streams
    }

    /// Subscribing is not acknowledged: the user writes tasks of their own until both
    /// streams have heard one (rather than sleeping and hoping, on a loaded machine), then
    /// both read up to where the user's journal stands.
    async fn ready(&mut self, app: &TestApp) {
        let client = app.user(&self.user);
        // The cursor of the last event each stream heard (0: none yet).
        let (mut ws_at, mut sse_at) = (0_i64, 0_i64);
        let wait = Duration::from_millis(500);
        for round in 0..20 {
            if ws_at > 0 && sse_at > 0 {
                break;
            }
            client.create_task(&format!("warm-up {round}")).await;
            if ws_at == 0
                && let Ok(event) = tokio::time::timeout(wait, live::next_event(&mut self.ws)).await
            {
                ws_at = event["cursor"].as_str().unwrap().parse().unwrap();
            }
            if sse_at == 0
                && let Ok((id, _)) = tokio::time::timeout(wait, self.sse.next_event()).await
            {
                sse_at = id.unwrap().parse().unwrap();
            }
        }
        self.at = cursor(&client).await;
        while ws_at < self.at {
            let event = live::next_event(&mut self.ws).await;
            ws_at = event["cursor"].as_str().unwrap().parse().unwrap();
        }
        while sse_at < self.at {
            let (id, _) = self.sse.next_event().await;
            sse_at = id.unwrap().parse().unwrap();
        }
    }

    /// The next event, the same on both streams: (kind, task or list id, title, cursor).
    async fn next(&mut self) -> (String, i64, Option<String>, i64) {
        let ws = live::next_event(&mut self.ws).await;
        let (sse_id, data) = self.sse.next_event().await;
        let cursor: i64 = ws["cursor"].as_str().unwrap().parse().unwrap();
        assert_eq!(sse_id, Some(cursor.to_string()), "{data} / {ws}");
        assert_eq!(data["kind"], ws["kind"], "{data} / {ws}");
        let kind = ws["kind"].as_str().unwrap().to_owned();
        let (id, sse_id) = match kind.starts_with("LIST_") {
            true => (&ws["listId"], &data["list_id"]),
            false => (&ws["id"], &data["id"]),
        };
        let id: i64 = id.as_str().unwrap().parse().unwrap();
        assert_eq!(sse_id, id, "{data}");
        assert_eq!(data["task"]["title"], ws["task"]["title"], "{data} / {ws}");
        let title = ws["task"]["title"].as_str().map(Into::into);
        (kind, id, title, cursor)
    }

    /// The next `n` events as (kind, id, title), checking that their cursors follow on with
    /// no gap (each change is one number of this user's journal).
    async fn expect(&mut self, n: usize) -> Vec<(String, i64, Option<String>)> {
        let mut seen = Vec::new();
        for _ in 0..n {
            let (kind, id, title, cursor) = self.next().await;
            let user = &self.user;
            assert_eq!(
                cursor,
                self.at + 1,
                "{user}: a gap-free cursor: {kind} {id}"
            );
            self.at = cursor;
            seen.push((kind, id, title));
        }
        seen
    }

    /// True when neither stream hears anything for a while.
    async fn quiet(&mut self) -> bool {
        let quiet = Duration::from_millis(300);
        live::stays_quiet(&mut self.ws, quiet).await
            && tokio::time::timeout(quiet, self.sse.next_event())
                .await
                .is_err()
    }
}

async fn cursor(user: &UserClient<'_>) -> i64 {
    let all = user
        .get(&user.tasks_path("/changes"))
        .await
        .good(StatusCode::OK);
    all["cursor"].as_str().unwrap().parse().unwrap()
}

/// Each of `members` hears `expected` next, with the next number of their own journal.
async fn heard_by_all(members: &mut [Streams], expected: (String, i64, Option<String>)) {
    for streams in members {
        let heard = streams.expect(1).await;
        assert_eq!(heard[0], expected, "{}", streams.user);
    }
}

fn event(kind: &str, id: i64, title: Option<&str>) -> (String, i64, Option<String>) {
    (kind.to_owned(), id, title.map(Into::into))
}

/// Bob (editor) creates, updates, completes and deletes a task of Alice's list: Alice, Carol
/// (viewer) and Bob himself hear each change live on both streams, with gap-free cursors
/// that a sync then continues from; Dave hears nothing. Alice's own change reaches Bob and
/// Carol the same way.
async fn members_hear_each_others_changes_live(app: TestApp) {
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let list = id_of(&create_list(&alice, "Team").await);
    share(&alice, list, "bob", "editor").await;
    share(&alice, list, "carol", "viewer").await;
    let mut members = Vec::new();
    for user in ["alice", "bob", "carol"] {
        members.push(Streams::open(&app, user).await);
    }
    let mut dave = Streams::open(&app, "dave").await;

    // Each change is heard by all before the next is made: an event completed from the
    // journal carries the row as it is then, and a change superseded by then has none.
    let task = id_of(&task_in(&bob, list, "plan").await);
    heard_by_all(&mut members, event("CREATED", task, Some("plan"))).await;
    let path = bob.tasks_path(&format!("/{task}"));
    bob.put(&path, json!({"title": "plan v2"}))
        .await
        .good(StatusCode::OK);
    heard_by_all(&mut members, event("UPDATED", task, Some("plan v2"))).await;
    bob.patch(&format!("{path}/complete"))
        .await
        .good(StatusCode::OK);
    heard_by_all(&mut members, event("UPDATED", task, Some("plan v2"))).await;
    bob.delete(&path).await.good(StatusCode::NO_CONTENT);
    heard_by_all(&mut members, event("DELETED", task, None)).await;
    // Alice's change reaches her members as theirs.
    let brief = id_of(&task_in(&alice, list, "brief").await);
    heard_by_all(&mut members, event("CREATED", brief, Some("brief"))).await;
    // Each stream's last cursor is where the member's sync stands: nothing missed.
    for streams in &mut members {
        let synced = cursor(&app.user(&streams.user)).await;
        assert_eq!(streams.at, synced, "{}", streams.user);
        assert!(streams.quiet().await, "no event twice");
    }
    assert!(dave.quiet().await, "a non-member hears nothing");
}

/// Bob leaves and Alice removes Carol: each hears the list's tasks and then the list as
/// deleted, live; Dave, added, hears them as created; the others hear nothing of it.
async fn joining_and_leaving_are_heard_live(app: TestApp) {
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let list = id_of(&create_list(&alice, "Launch").await);
    let first = id_of(&task_in(&alice, list, "brief").await);
    let second = id_of(&task_in(&alice, list, "slides").await);
    share(&alice, list, "bob", "editor").await;
    share(&alice, list, "carol", "viewer").await;
    let mut bob_live = Streams::open(&app, "bob").await;
    let mut carol_live = Streams::open(&app, "carol").await;
    let mut dave_live = Streams::open(&app, "dave").await;
    let mut alice_live = Streams::open(&app, "alice").await;

    let gone = |list_kind: &str| {
        vec![
            event("DELETED", first, None),
            event("DELETED", second, None),
            event(list_kind, list, None),
        ]
    };
    bob.delete(&format!("/api/bob/lists/{list}/members/bob"))
        .await
        .good(StatusCode::NO_CONTENT);
    assert_eq!(bob_live.expect(3).await, gone("LIST_DELETED"));
    alice
        .delete(&format!("/api/alice/lists/{list}/members/carol"))
        .await
        .good(StatusCode::NO_CONTENT);
    assert_eq!(carol_live.expect(3).await, gone("LIST_DELETED"));
    share(&alice, list, "dave", "viewer").await;
    assert_eq!(
        dave_live.expect(3).await,
        [
            event("CREATED", first, Some("brief")),
            event("CREATED", second, Some("slides")),
            event("LIST_CREATED", list, None),
        ]
    );
    // The owner's journal has no membership changes; the ones gone hear nothing more.
    assert!(alice_live.quiet().await);
    task_in(&alice, list, "after").await;
    assert_eq!(dave_live.expect(1).await[0].2.as_deref(), Some("after"));
    assert!(bob_live.quiet().await && carol_live.quiet().await);
}
