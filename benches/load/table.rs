//! The PostgreSQL table (issue 28): every scenario against every server, interleaved slice by
//! slice with the two ceilings (`load/ceiling.rs`): pgbench running the plain statements at
//! the load's concurrency, and the server's exact statements at the load's concurrency and at
//! the server's pool size (the better of the two is the exact ceiling). Per row: req/s, the
//! ratio to each ceiling, the server's CPU per request, PostgreSQL's (`load/pgcpu.rs`), p50,
//! p99 and errors.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::ceiling::{self, Kind, Pgbench};
use crate::pgcpu::PgCpu;
use crate::{
    CONCURRENCY, POOL_SIZE, Row, Sample, Scenario, Server, Shared, Target, hot_state, own_cpu,
    print_row, row_count, slice,
};

/// The ceilings each round measures, (kind, pgbench clients).
const CEILINGS: [(Kind, usize); 3] = [
    (Kind::Plain, CONCURRENCY),
    (Kind::Exact, CONCURRENCY),
    (Kind::Exact, POOL_SIZE),
];

/// How long the pooled server's PgBouncer and PostGraphile take to close their idle
/// connections (after a second), so that pgbench has the connection slots.
const SETTLE: Duration = Duration::from_millis(1500);

/// What the table runs on.
pub struct Bench<'a> {
    pub admin: &'a tokio_postgres::Client,
    /// `None`: no ceiling (BENCH_ONLY=postgraphile).
    pub pgbench: Option<&'a Pgbench>,
    pub pg_cpu: Option<&'a PgCpu>,
    pub shared: &'a Arc<Shared>,
    pub seconds: Duration,
    pub rounds: usize,
}

/// One table row, as printed.
struct Line {
    scenario: Scenario,
    label: String,
    rate: f64,
    plain: Option<f64>,
    exact: Option<f64>,
    cpu: Option<f64>,
    pg_cpu: Option<f64>,
    client_cpu: Option<f64>,
    p50: f64,
    p99: f64,
    errors: u64,
}

/// Measures `scenarios` on `servers` (PostGraphile only on GraphQL's) and prints the table.
pub async fn measure(bench: &Bench<'_>, servers: &[Server], scenarios: &[Scenario]) {
    let mut ceilings: HashMap<(Kind, bool, usize), Sample> = HashMap::new();
    // The mixes' transactions per script (list, create, toggle), summed over the rounds.
    let mut mix_scripts: HashMap<(Kind, usize), [u64; 3]> = HashMap::new();
    let mut measured: Vec<Row> = Vec::new();
    for _ in 0..bench.rounds {
        let mut ceilings_done = Vec::new();
        for &scenario in scenarios {
            let mix = scenario.is_mix();
            // A list's ceiling (REST or GraphQL) is the same SQL: measured once per round.
            if let Some(pgbench) = bench.pgbench
                && !ceilings_done.contains(&mix)
            {
                ceilings_done.push(mix);
                tokio::time::sleep(SETTLE).await;
                for (kind, clients) in CEILINGS {
                    let (sample, scripts) = ceiling_slice(bench, pgbench, kind, mix, clients).await;
                    let totals = mix_scripts.entry((kind, clients)).or_default();
                    for (total, n) in totals.iter_mut().zip(&scripts) {
                        *total += n;
                    }
                    ceilings
                        .entry((kind, mix, clients))
                        .or_default()
                        .merge(sample);
                }
            }
            for server in servers {
                if server.postgraphile
                    && !matches!(scenario, Scenario::GraphqlList | Scenario::GraphqlMix)
                {
                    continue;
                }
                let sample = checked_slice(bench, &server.target(), scenario, server).await;
                match measured
                    .iter_mut()
                    .find(|r| r.scenario == scenario && r.label == server.label)
                {
                    Some(row) => row.sample.merge(sample),
                    None => measured.push(Row {
                        scenario,
                        label: server.label.clone(),
                        sample,
                    }),
                }
            }
        }
    }

    let mut lines = Vec::new();
    let mut notes = Vec::new();
    for &scenario in scenarios {
        let mix = scenario.is_mix();
        println!("{}", scenario.name());
        let (plain, exact) = if bench.pgbench.is_some() {
            let plain = ceilings[&(Kind::Plain, mix, CONCURRENCY)].rate();
            let (exact, clients) = [CONCURRENCY, POOL_SIZE]
                .into_iter()
                .map(|c| (ceilings[&(Kind::Exact, mix, c)].rate(), c))
                .fold((0.0, 0), |best, x| if x.0 > best.0 { x } else { best });
            let note = format!(
                "exact ceiling, {}: pgbench at {clients} clients (the better of {CONCURRENCY} and {POOL_SIZE})",
                if mix { "mix" } else { "list" }
            );
            if !notes.contains(&note) {
                notes.push(note);
            }
            for (kind, c) in CEILINGS {
                let sample = ceilings.get_mut(&(kind, mix, c)).expect("ceiling measured");
                let label = format!("pgbench {} ({c})", kind.name());
                print_row(scenario, &label, sample, Some(plain));
                lines.push(line(
                    scenario,
                    label,
                    sample,
                    Some(plain),
                    Some(exact),
                    false,
                ));
            }
            (Some(plain), Some(exact))
        } else {
            (None, None)
        };
        for row in measured.iter_mut().filter(|r| r.scenario == scenario) {
            print_row(scenario, &row.label, &mut row.sample, plain);
            lines.push(line(
                scenario,
                row.label.clone(),
                &mut row.sample,
                plain,
                exact,
                true,
            ));
            if let Some(error) = &row.sample.first_error {
                notes.push(format!(
                    "{} / {}: {} errors, the first: {error}",
                    scenario.name(),
                    row.label,
                    row.sample.errors
                ));
            }
        }
        let rate = |label: &str| {
            lines
                .iter()
                .find(|l| l.scenario == scenario && l.label == label)
                .map(|l| l.rate)
        };
        if let (Some(ours), Some(theirs)) = (rate("this"), rate("PostGraphile")) {
            notes.push(format!(
                "{}: this / PostGraphile = {:.2}×",
                scenario.name(),
                ours / theirs
            ));
        }
    }
    if bench.pgbench.is_some() {
        for ((kind, clients), scripts) in &mix_scripts {
            let mix = &ceilings[&(*kind, true, *clients)];
            let total: u64 = scripts.iter().sum();
            let share = |n: u64| mix.rate() * n as f64 / total.max(1) as f64;
            notes.push(format!(
                "pgbench {} mix, {clients} clients, by script: list {:.0}/s, create {:.0}/s, toggle {:.0}/s",
                kind.name(),
                share(scripts[0]),
                share(scripts[1]),
                share(scripts[2])
            ));
        }
    }
    print_markdown(&lines, &notes);
}

fn line(
    scenario: Scenario,
    label: String,
    sample: &mut Sample,
    plain: Option<f64>,
    exact: Option<f64>,
    server: bool,
) -> Line {
    Line {
        scenario,
        label,
        rate: sample.rate(),
        plain,
        exact,
        cpu: (server && !sample.cpu.is_zero()).then(|| sample.cpu_per_request_us()),
        pg_cpu: sample.pg_cpu_per_request_us(),
        client_cpu: sample.client_cpu_per_request_us(),
        p50: sample.pct(0.5),
        p99: sample.pct(0.99),
        errors: sample.errors,
    }
}

fn print_markdown(lines: &[Line], notes: &[String]) {
    println!(
        "\nMarkdown (PostgreSQL; plain = pgbench -M prepared running the plain statements at \
         {CONCURRENCY} clients; exact = pgbench running the server's statements and \
         transactions, the better of {CONCURRENCY} and {POOL_SIZE} clients):\n"
    );
    println!(
        "| scenario | build | req/s | of plain | of exact | server CPU µs/req | PostgreSQL CPU µs/req | client CPU µs/req | p50 ms | p99 ms | errors |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let number = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.0}"));
    let ratio = |rate: f64, of: Option<f64>| {
        of.map_or("–".to_owned(), |c| format!("{:.0} %", rate / c * 100.0))
    };
    for l in lines {
        println!(
            "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {:.1} | {:.1} | {} |",
            l.scenario.name(),
            l.label,
            l.rate,
            ratio(l.rate, l.plain),
            ratio(l.rate, l.exact),
            number(l.cpu),
            number(l.pg_cpu),
            number(l.client_cpu),
            l.p50,
            l.p99,
            l.errors
        );
    }
    println!();
    for note in notes {
        println!("- {note}");
    }
}

/// One ceiling slice: pgbench's `kind` on the list or the mix; checks that it ran without a
/// failed transaction and that the mix's creates all landed. Returns the mix's count per
/// script.
async fn ceiling_slice(
    bench: &Bench<'_>,
    pgbench: &Pgbench,
    kind: Kind,
    mix: bool,
    clients: usize,
) -> (Sample, Vec<u64>) {
    let rows_before = row_count(bench.admin).await;
    let before = bench.pg_cpu.map(PgCpu::snapshot);
    let (_, children_before) = own_cpu();
    let outcome = pgbench
        .run(ceiling::scripts(kind, mix), clients, bench.seconds)
        .await;
    let mut sample = outcome.sample;
    // pgbench has ended and been reaped: its CPU is among this process's children's.
    sample.client_cpu = Some(own_cpu().1.saturating_sub(children_before));
    if let (Some(pg_cpu), Some(before)) = (bench.pg_cpu, before) {
        // pgbench's backends end as it does: let the postmaster reap them first.
        tokio::time::sleep(Duration::from_millis(200)).await;
        sample.pg_cpu = Some(pg_cpu.since(&before, true));
    }
    assert_eq!(
        sample.errors,
        0,
        "pgbench {}: {:?}",
        kind.name(),
        sample.first_error
    );
    if !mix {
        return (sample, Vec::new());
    }
    assert_eq!(outcome.per_script.len(), 3, "pgbench: per-script counts");
    // pgbench counts the transactions finished within its time; one a client had in flight
    // at the deadline may still commit, uncounted: at most one per client.
    let rows = row_count(bench.admin).await - rows_before;
    let creates = outcome.per_script[1] as i64;
    assert!(
        (creates..=creates + clients as i64).contains(&rows),
        "pgbench {} mix: {rows} rows created for {creates} create transactions ({clients} clients)",
        kind.name()
    );
    (sample, outcome.per_script)
}

/// Runs one slice on PostgreSQL and checks the mix's writes afterwards: every toggle of the
/// hot tasks shows in their parity, and the rows grew by exactly the creates answered. A
/// slice with errors is reported (the table's errors column, its first error below) and its
/// writes are not checked: a request that failed on the client may still have committed.
async fn checked_slice(
    bench: &Bench<'_>,
    target: &Target,
    scenario: Scenario,
    server: &Server,
) -> Sample {
    let (admin, shared) = (bench.admin, bench.shared);
    let before = hot_state(admin, shared).await;
    let rows_before = row_count(admin).await;
    for counter in &shared.toggles {
        counter.store(0, Ordering::Relaxed);
    }
    shared.creates.store(0, Ordering::Relaxed);
    let cpu_before = bench.pg_cpu.map(PgCpu::snapshot);
    let mut sample = slice(
        target,
        scenario,
        shared,
        CONCURRENCY,
        bench.seconds,
        Duration::ZERO,
        Some(server),
    )
    .await;
    if let (Some(pg_cpu), Some(before)) = (bench.pg_cpu, cpu_before) {
        sample.pg_cpu = Some(pg_cpu.since(&before, false));
    }
    if sample.errors > 0 {
        eprintln!(
            "{} / {}: {} errors (writes not checked), first: {:?}",
            scenario.name(),
            server.label,
            sample.errors,
            sample.first_error
        );
        return sample;
    }
    let after = hot_state(admin, shared).await;
    for (i, (was, now)) in before.iter().zip(&after).enumerate() {
        let flips = shared.toggles[i].load(Ordering::Relaxed);
        assert_eq!(
            *now,
            was ^ (flips % 2 == 1),
            "{} / {}: hot task {i} was toggled {flips} times but its parity is wrong (lost toggle)",
            scenario.name(),
            server.label
        );
    }
    let created = shared.creates.load(Ordering::Relaxed) as i64;
    assert_eq!(
        row_count(admin).await - rows_before,
        created,
        "{} / {}: rows created differ from creates answered (lost write)",
        scenario.name(),
        server.label
    );
    sample
}

/// BENCH_ONLY=ceiling: pgbench alone, each script and the mix of both ceilings, at the load's
/// concurrency and at the server's pool size (no server runs).
pub async fn ceiling_alone(pgbench: &Pgbench, seconds: Duration) {
    println!("--- pgbench scripts ({}) ---", pgbench.dir().display());
    let mut names: Vec<_> = std::fs::read_dir(pgbench.dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    for path in names {
        println!(
            "-- {}\n{}",
            path.file_name().unwrap_or_default().to_string_lossy(),
            std::fs::read_to_string(&path).unwrap_or_default()
        );
    }
    println!("--- pgbench, {}s each ---", seconds.as_secs());
    for kind in [Kind::Plain, Kind::Exact] {
        for clients in [CONCURRENCY, POOL_SIZE] {
            for (name, scripts) in [
                ("list", ceiling::single(kind, 0)),
                ("create", ceiling::single(kind, 1)),
                ("toggle", ceiling::single(kind, 2)),
                ("mix 80/10/10", ceiling::scripts(kind, true)),
            ] {
                let mut sample = pgbench.run(scripts, clients, seconds).await.sample;
                println!(
                    "  {:<5} {name:<13} {clients:>3} clients: {:>7.0} tx/s  p50 {:>6.2} ms  p99 {:>6.2} ms  {} errors{}",
                    kind.name(),
                    sample.rate(),
                    sample.pct(0.5),
                    sample.pct(0.99),
                    sample.errors,
                    sample
                        .first_error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default(),
                );
            }
        }
    }
}
