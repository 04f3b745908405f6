//! Reused PostgreSQL databases: a test's copy of the migrated template is emptied and handed to
//! the next test instead of being dropped, because `CREATE DATABASE … TEMPLATE` copies every
//! page of the template (~9 MB, catalogs included) through the WAL and `DROP DATABASE` removes
//! it all again: about half a second of the server's CPU per test on a 2-core machine, the
//! largest fixed cost of the suite's ~340 PostgreSQL tests.
//!
//! - Released (`TempDatabase`'s drop): every session still on it is terminated and it is renamed
//!   `todo_free_<migrations hash>_<random>`. From then on nothing the test left behind (a
//!   server's background task still reconnecting, a PgBouncer) can reach it by its old name.
//! - Taken (`TempDatabase::migrated`): a free one is renamed to a fresh `todo_test_…` name (a
//!   rename is atomic: two processes never take the same one), every table the tests write is
//!   emptied (`TRUNCATE … RESTART IDENTITY` with the triggers off, the applied-migrations table
//!   kept), every sequence restarted, the planner's statistics of the old rows removed and each
//!   relation's size estimates (`relpages`, `reltuples`, `relallvisible`) put back to a fresh
//!   copy's: a test that vacuumed or analyzed its tables otherwise hands the next one a planner
//!   that believes them empty (one suite run after such a `VACUUM` took 333 s, not ~140). Then
//!   its [`fingerprint`] (every schema object, grant, policy, trigger, function, setting,
//!   sequence state and applied migration) must equal a fresh copy's, or it is dropped and
//!   another taken or created: a test that altered its database (dropped a column, disabled a
//!   trigger, revoked a grant) never passes it on.
//!
//! Processes share the pool through the server (nextest's process per test too), and a crashed
//! process leaves at worst a free database behind, which the next one takes. At most
//! [`POOL_LIMIT`] wait per migration set; past that a released database is dropped.

use tokio_postgres::NoTls;

use super::pg;

/// The prefix of a free database (followed by the migrations hash, `_` and a random id).
const FREE: &str = "todo_free_";

/// Free databases kept per migration set; more are dropped (about the most tests that run at
/// once, so a run's end leaves no more than the next run takes).
const POOL_LIMIT: i64 = 16;

/// Empties every table but the applied migrations (only the tables written to: pages of their
/// own or indexes grown past a fresh copy's page each; a test that wrote nothing costs no new
/// files, and a table whose rows were all deleted, vacuumed or not, is emptied too),
/// restarts every sequence, removes the statistics the old rows left and puts each table's,
/// its TOAST table's and their indexes' size estimates back to what a fresh copy has (a table
/// never vacuumed: 0 pages, -1 tuples; an index built empty: 1 page, 0 tuples). A fresh copy
/// has no statistics, and a plan depends on both.
const RESET_SQL: &str = r#"
SET lock_timeout = '5s';
DO $$
DECLARE
    -- The user's tables, read once: emptied below (but the applied migrations) and given a
    -- fresh copy's size estimates (all of them).
    tables regclass[] := ARRAY(
        SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%');
    rel regclass;
    written text[] := '{}';
BEGIN
    FOREACH rel IN ARRAY tables LOOP
        -- Written to since it was fresh: pages of its own, or its indexes past their one page
        -- each (a VACUUM after a delete gives the table's pages back, not the indexes').
        IF rel <> '__diesel_schema_migrations'::regclass
           AND (pg_relation_size(rel) > 0
                OR pg_indexes_size(rel) > 8192 * (SELECT count(*) FROM pg_index WHERE indrelid = rel))
        THEN
            written := written || rel::text;
        END IF;
    END LOOP;
    IF cardinality(written) > 0 THEN
        -- Without the tables' triggers: `tasks`' BEFORE TRUNCATE trigger journals every task
        -- as deleted (and the journal's queues webhook events), into tables found empty above.
        PERFORM set_config('session_replication_role', 'replica', true);
        EXECUTE 'TRUNCATE ' || array_to_string(written, ', ') || ' RESTART IDENTITY CASCADE';
        PERFORM set_config('session_replication_role', 'origin', true);
    END IF;
    PERFORM setval(format('%I.%I', schemaname, sequencename), start_value, false)
    FROM pg_sequences
    WHERE schemaname NOT IN ('pg_catalog', 'information_schema');
    DELETE FROM pg_statistic s USING pg_class c, pg_namespace n
    WHERE s.starelid = c.oid AND n.oid = c.relnamespace
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_toast%';
    DELETE FROM pg_statistic_ext_data;
    WITH heaps (oid) AS (
        SELECT unnest(tables)::oid
        UNION ALL SELECT c.reltoastrelid FROM pg_class c
        WHERE c.oid = ANY (tables) AND c.reltoastrelid <> 0
    ), fresh (oid, pages, tuples) AS (
        SELECT oid, 0, -1 FROM heaps
        UNION ALL SELECT i.indexrelid, 1, 0 FROM pg_index i WHERE i.indrelid IN (SELECT oid FROM heaps)
    )
    UPDATE pg_class c SET relpages = f.pages, reltuples = f.tuples, relallvisible = 0
    FROM fresh f
    WHERE c.oid = f.oid
      AND (c.relpages, c.reltuples, c.relallvisible) IS DISTINCT FROM (f.pages, f.tuples::real, 0);
END $$;
"#;

/// One line per thing a test could change about its database besides rows, sorted and hashed:
/// schemas, relations (owner, grants, row security, options, size estimates), columns (type, default,
/// nullability), constraints, indexes, triggers (and whether enabled), rules and views,
/// policies, functions (body, owner, grants, settings), types, operators, extensions,
/// sequences (parameters and state), default privileges, publications, the database's own
/// settings and grants, large objects, and the applied migrations.
const FINGERPRINT_SQL: &str = r#"
WITH user_ns AS (
    SELECT oid, nspname FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema')
      AND nspname NOT LIKE 'pg\_toast%' AND nspname NOT LIKE 'pg\_temp%'
), rels AS (
    SELECT c.* FROM pg_class c JOIN user_ns n ON n.oid = c.relnamespace
), lines AS (
    SELECT concat_ws(' ', 'ns', nspname, pg_get_userbyid(nspowner), nspacl::text)
    FROM pg_namespace n WHERE n.oid IN (SELECT oid FROM user_ns)
    UNION ALL
    SELECT concat_ws(' ', 'rel', oid::regclass::text, relkind, pg_get_userbyid(relowner),
                     relacl::text, relrowsecurity, relforcerowsecurity, reloptions::text,
                     relpersistence, relreplident, relispartition, relpages, reltuples,
                     relallvisible)
    FROM rels
    UNION ALL
    SELECT concat_ws(' ', 'att', a.attrelid::regclass::text, a.attnum, a.attname,
                     format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attisdropped,
                     a.attidentity, a.attgenerated, a.attacl::text, a.attoptions::text,
                     a.attstattarget, a.attcollation, pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute a
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid IN (SELECT oid FROM rels) AND a.attnum > 0
    UNION ALL
    SELECT concat_ws(' ', 'con', conrelid::regclass::text, contypid::regtype::text, conname,
                     pg_get_constraintdef(oid), convalidated, condeferrable, condeferred)
    FROM pg_constraint WHERE connamespace IN (SELECT oid FROM user_ns)
    UNION ALL
    SELECT concat_ws(' ', 'idx', pg_get_indexdef(indexrelid), indisvalid, indisready,
                     indislive, indisclustered, indisreplident)
    FROM pg_index WHERE indrelid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT concat_ws(' ', 'trg', tgname, tgenabled, pg_get_triggerdef(oid))
    FROM pg_trigger WHERE tgrelid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT concat_ws(' ', 'rule', rulename, ev_enabled, pg_get_ruledef(oid))
    FROM pg_rewrite WHERE ev_class IN (SELECT oid FROM rels)
    UNION ALL
    SELECT concat_ws(' ', 'pol', polrelid::regclass::text, polname, polcmd, polpermissive,
                     polroles::text, pg_get_expr(polqual, polrelid),
                     pg_get_expr(polwithcheck, polrelid))
    FROM pg_policy
    UNION ALL
    SELECT concat_ws(' ', 'fn', oid::regprocedure::text, md5(prosrc), pg_get_userbyid(proowner),
                     proacl::text, proconfig::text, provolatile, prosecdef, proisstrict,
                     proleakproof, proparallel, prorettype::regtype::text)
    FROM pg_proc WHERE pronamespace IN (SELECT oid FROM user_ns)
    UNION ALL
    SELECT concat_ws(' ', 'typ', oid::regtype::text, typtype, pg_get_userbyid(typowner),
                     typacl::text, typnotnull, typdefault)
    FROM pg_type WHERE typnamespace IN (SELECT oid FROM user_ns)
    UNION ALL
    SELECT concat_ws(' ', 'enum', enumtypid::regtype::text, enumsortorder, enumlabel)
    FROM pg_enum
    UNION ALL
    SELECT concat_ws(' ', 'op', oid::regoperator::text, oprcode::regproc::text)
    FROM pg_operator WHERE oprnamespace IN (SELECT oid FROM user_ns)
    UNION ALL
    SELECT concat_ws(' ', 'ext', extname, extversion, extnamespace::regnamespace::text)
    FROM pg_extension
    UNION ALL
    SELECT concat_ws(' ', 'seq', schemaname, sequencename, start_value, min_value, max_value,
                     increment_by, cycle, cache_size, last_value)
    FROM pg_sequences WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
    UNION ALL
    SELECT concat_ws(' ', 'defacl', pg_get_userbyid(defaclrole), defaclnamespace,
                     defaclobjtype, defaclacl::text)
    FROM pg_default_acl
    UNION ALL
    SELECT concat_ws(' ', 'pub', pubname) FROM pg_publication
    UNION ALL
    SELECT concat_ws(' ', 'evt', evtname, evtevent, evtenabled) FROM pg_event_trigger
    UNION ALL
    SELECT concat_ws(' ', 'db', datconnlimit, datallowconn, datistemplate, datacl::text,
                     pg_get_userbyid(datdba))
    FROM pg_database WHERE datname = current_database()
    UNION ALL
    SELECT concat_ws(' ', 'dbset', setrole, setconfig::text) FROM pg_db_role_setting
    WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
    UNION ALL
    SELECT concat_ws(' ', 'lo', count(*)) FROM pg_largeobject_metadata
    UNION ALL
    SELECT concat_ws(' ', 'xact', count(*)) FROM pg_prepared_xacts
    WHERE database = current_database()
    UNION ALL
    SELECT concat_ws(' ', 'migration', version) FROM __diesel_schema_migrations
)
SELECT md5(string_agg(l, E'\n' ORDER BY l)) FROM lines AS t(l)
"#;

/// The tag a template's comment carries its fingerprint under: it names this file's SQL, so a
/// changed query never compares against a fingerprint the old one took.
fn tag() -> String {
    use sha2::{Digest, Sha256};
    let settings = pg::test_settings("");
    let hash = Sha256::digest(format!("{RESET_SQL}{FINGERPRINT_SQL}{settings}"));
    let hex: String = hash[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("fingerprint {hex} ")
}

/// Connects to `database` on the test server.
async fn connect(database: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let url = pg::url_with_database(&pg::admin_url(), database);
    let (client, connection) = tokio_postgres::connect(&url, NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// Resets `database` ([`RESET_SQL`]) and returns its fingerprint.
async fn reset(database: &str) -> Result<String, tokio_postgres::Error> {
    let client = connect(database).await?;
    client.batch_execute(RESET_SQL).await?;
    let row = client.query_one(FINGERPRINT_SQL, &[]).await?;
    Ok(row.get(0))
}

/// The migrations hash in a template's name (`todo_tpl_<hash>`).
fn hash_of(template: &str) -> &str {
    template.trim_start_matches("todo_tpl_")
}

/// What a fresh copy of `template` fingerprints as: read from the template's comment, or (the
/// first time, or after this file's SQL changed) taken from a fresh copy and written there.
async fn expected(admin: &tokio_postgres::Client, template: &str) -> Option<String> {
    let tag = tag();
    let comment: Option<String> = admin
        .query_one(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            &[&template],
        )
        .await
        .ok()?
        .get(0);
    if let Some(found) = comment.as_deref().and_then(|c| c.strip_prefix(&tag)) {
        return Some(found.to_owned());
    }
    let scratch = format!("todo_test_{}", uuid::Uuid::new_v4().simple());
    admin
        .batch_execute(&format!("CREATE DATABASE {scratch} TEMPLATE {template}"))
        .await
        .ok()?;
    admin
        .batch_execute(&pg::test_settings(&scratch))
        .await
        .ok()?;
    let fingerprint = reset(&scratch).await;
    release(admin, &scratch, Some(template)).await;
    let fingerprint = fingerprint.ok()?;
    admin
        .batch_execute(&format!(
            "COMMENT ON DATABASE {template} IS '{tag}{fingerprint}'"
        ))
        .await
        .ok()?;
    Some(fingerprint)
}

/// A free copy of `template`, renamed to a fresh `todo_test_…` name and reset; `None` when
/// none is free (or none passed its fingerprint check: those are dropped).
pub async fn take(admin: &tokio_postgres::Client, template: &str) -> Option<String> {
    let expected = expected(admin, template).await?;
    let prefix = format!("{FREE}{}_", hash_of(template));
    let free = admin
        .query(
            "SELECT datname FROM pg_database WHERE starts_with(datname, $1) \
             ORDER BY random() LIMIT 4",
            &[&prefix],
        )
        .await
        .ok()?;
    for row in free {
        let free: String = row.get(0);
        let name = format!("todo_test_{}", uuid::Uuid::new_v4().simple());
        // Another process may have taken it first: then it no longer exists under this name.
        if admin
            .batch_execute(&format!("ALTER DATABASE {free} RENAME TO {name}"))
            .await
            .is_err()
        {
            continue;
        }
        match reset(&name).await {
            Ok(found) if found == expected => return Some(name),
            outcome => {
                eprintln!("a reused database did not reset to its template ({outcome:?}): dropped");
                drop_database(admin, &name).await;
            }
        }
    }
    None
}

/// Returns `database` to the pool when it is a copy of `template` (and the pool has room),
/// else drops it. Every session on it is ended first.
pub async fn release(admin: &tokio_postgres::Client, database: &str, template: Option<&str>) {
    let Some(template) = template else {
        drop_database(admin, database).await;
        return;
    };
    let prefix = format!("{FREE}{}_", hash_of(template));
    let free: i64 = match admin
        .query_one(
            "SELECT count(*) FROM pg_database WHERE starts_with(datname, $1)",
            &[&prefix],
        )
        .await
    {
        Ok(row) => row.get(0),
        Err(_) => POOL_LIMIT,
    };
    if free >= POOL_LIMIT {
        drop_database(admin, database).await;
        return;
    }
    let _ = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&database],
        )
        .await;
    // The server waits (up to 5 s) for terminated sessions to go before renaming; a session
    // that came back meanwhile makes the rename fail, and the database is dropped instead.
    let renamed = format!("{prefix}{}", uuid::Uuid::new_v4().simple());
    if admin
        .batch_execute(&format!("ALTER DATABASE {database} RENAME TO {renamed}"))
        .await
        .is_err()
    {
        drop_database(admin, database).await;
    }
}

async fn drop_database(admin: &tokio_postgres::Client, database: &str) {
    let _ = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        .await;
}
