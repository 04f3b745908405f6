//! The integration tests: one binary (linking the crate once, not once per file), one module
//! per concern. Each drives the real server over real HTTP (or the real binary) on SQLite and
//! PostgreSQL with real signed tokens; `cargo test <module>` runs one area, e.g.
//! `cargo test rest` or `cargo test isolation::postgres`.
//!
//! No test here changes process-wide state (environment, signal handlers, the working
//! directory); the ones that must are run as child processes of the real binary
//! (`common::binary`). One test stays apart, in `tests/fanout.rs`: it compares latencies, and
//! must not share the CPU with the others.

#[macro_use]
mod common;

mod assignees;
mod auth;
mod bad_rows;
mod better_auth;
mod charged_fields;
mod cli;
mod concurrency;
mod connection_slots;
mod contract;
mod db_functions;
mod events_after_commit;
mod failure;
mod fair_connections;
mod fair_database;
mod fair_events;
mod fair_graphql;
mod fair_members;
mod fair_memory;
mod frontend;
mod graphql;
mod graphql_fast_path;
mod group_end;
mod hostile;
mod idempotency;
mod idempotency_versions;
mod indexes;
mod invite_logs;
mod invite_upkeep;
mod invites;
mod isolation;
mod list_events;
mod list_journal;
mod list_owner_rows;
mod list_pages;
mod list_statistics;
mod list_tasks;
mod list_writes;
mod lists;
mod lock_keys;
mod moves;
mod openapi;
mod operations;
mod other_writers;
mod parity;
mod pooler;
mod positions;
mod realtime;
mod recurrence;
mod reminder_instances;
mod reminders;
mod rest;
mod round_trips;
mod row_security;
mod schema;
mod search_keys;
mod shared_audience;
mod shared_events;
mod shared_live;
mod shared_reads;
mod shared_round_trips;
mod shared_tags;
mod shared_writes;
mod sharing;
mod shutdown;
mod sqlite_triggers;
mod subscriptions;
mod subtasks;
mod tags;
mod task_counts;
mod task_fields;
mod task_model;
mod tasks;
mod tls;
mod undeclared_pooler;
mod versions;
mod webhook_cluster;
mod webhook_delivery;
mod webhook_keys;
mod webhook_locks;
mod webhook_log;
mod webhook_reminders;
mod webhook_rules;
mod webhooks;
mod wrong_answers;
