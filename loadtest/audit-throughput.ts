/**
 * The audit trail's two figures, with PostgreSQL (the machine's, 127.0.0.1:5432) as the sink, each in
 * a scratch database dropped afterwards:
 *
 *  1. Sustained audit rows per second: rows go through the real writer (hash chain, batches of
 *     `audit.batch_size`, one INSERT ... ON CONFLICT DO NOTHING per batch with the spend roll-up in the
 *     same statement) as fast as it takes them, and the clock stops when the last row is committed.
 *     Also printed: the cost of AuditWriter.add per row (what a request's finisher pays).
 *  2. The latency of a month's spend report over AUDIT_BENCH_ROWS (default 10,000,000) audit rows:
 *     the rows are generated in PostgreSQL (generate_series, 60 days, 2,000 agents in 40 teams,
 *     12 models), the roll-up built from them as the writer keeps it, then the admin API's spend
 *     queries for one calendar month are timed (by agent, team, model, day, top 10), next to the same
 *     report summed straight from the audit rows for comparison.
 *
 *   npm run loadtest:audit
 *   AUDIT_BENCH_ROWS=1000000 AUDIT_BENCH_WRITER_ROWS=100000 npm run loadtest:audit
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { createScratchDatabase } from "../apps/gateway/test/harness/scratch-database.ts";
import { PostgresAuditSink } from "../apps/gateway/src/audit/audit-sink.ts";
import { AuditSpool } from "../apps/gateway/src/audit/audit-spool.ts";
import { AuditWriter } from "../apps/gateway/src/audit/audit-writer.ts";
import { applyMigrations, readMigrations } from "../apps/gateway/src/audit/migrations.ts";
import { sampleAgents, sampleRow } from "../apps/gateway/src/audit/sample-rows.ts";
import { spendReport, type SpendDimension } from "../apps/gateway/src/audit/spend-report.ts";
import "../apps/gateway/src/audit/pg-types.ts";

const reportRows = Number(process.env.AUDIT_BENCH_ROWS ?? 10_000_000);
const writerRows = Number(process.env.AUDIT_BENCH_WRITER_ROWS ?? 200_000);
const batchSize = Number(process.env.AUDIT_BENCH_BATCH ?? 500);
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

const db = await createScratchDatabase("tollgate_bench");
const pool = new pg.Pool({ connectionString: db.url, max: 4 });
const spoolDir = await mkdtemp(join(tmpdir(), "tollgate-bench-spool-"));
try {
  await applyMigrations(pool, await readMigrations());
  await writerThroughput();
  await monthReport();
} finally {
  await pool.end();
  await db.drop();
  await rm(spoolDir, { recursive: true, force: true });
}

async function writerThroughput(): Promise<void> {
  const writerPool = new pg.Pool({ connectionString: db.url, max: 1 });
  const spool = await AuditSpool.open({ dir: spoolDir, limitBytes: 1024 ** 3 });
  const writer = new AuditWriter({ sink: new PostgresAuditSink(writerPool), spool, chainId: "bench", batchSize, flushIntervalMs: 50, queueLimit: 1_000_000, retryIntervalMs: 1000, log: quiet });
  // Rows built beforehand, so the figure is the writer's and not the generator's.
  const rows = Array.from({ length: writerRows }, (_, i) => sampleRow({ caller: sampleAgents[i % sampleAgents.length] ?? null }));
  const started = performance.now();
  let addMs = 0;
  // Offered in slices with a yield between them, as requests finishing over time would offer them.
  for (let i = 0; i < rows.length; i += 1000) {
    const t = performance.now();
    for (const row of rows.slice(i, i + 1000)) writer.add(row);
    addMs += performance.now() - t;
    await new Promise((resolve) => setImmediate(resolve));
  }
  await writer.flushAll();
  const seconds = (performance.now() - started) / 1000;
  const written = Number((await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_events`)).rows[0]?.n);
  await writer.drain();
  await spool.close();
  await writerPool.end();
  console.log(`audit writer: ${written.toLocaleString("en")} rows in ${seconds.toFixed(2)} s = ${Math.round(written / seconds).toLocaleString("en")} rows/s sustained (batch ${batchSize}, one connection, roll-up in the same statement)`);
  console.log(`  AuditWriter.add (hash chain link + queue): ${((addMs * 1000) / writerRows).toFixed(2)} µs per row on the request's finisher`);
  if (written !== writerRows) throw new Error(`expected ${writerRows} rows, found ${written}`);
}

async function monthReport(): Promise<void> {
  await pool.query(`TRUNCATE spend_daily`);
  await pool.query(`ALTER TABLE audit_events DISABLE TRIGGER USER`);
  await pool.query(`TRUNCATE audit_events`);
  // Loading 10M rows is faster without the secondary indexes; they are built again afterwards.
  await pool.query(`DROP INDEX audit_events_occurred_at_request_id_idx, audit_events_caller_occurred_at_idx, audit_events_model_occurred_at_idx`);
  const loadStarted = performance.now();
  const chunk = 1_000_000;
  for (let offset = 0; offset < reportRows; offset += chunk) {
    const n = Math.min(chunk, reportRows - offset);
    await pool.query(
      `INSERT INTO audit_events (request_id, chain_id, chain_seq, prev_hash, row_hash, occurred_at, protocol, method, path, caller, auth_method, team, target,
         resource_kind, resource_name, resource_action, decision, reasons, policy_revision, provider, model, attempts, status, outcome, latency_us,
         input_tokens, output_tokens, cost_micro_usd, price_id, detail)
       SELECT 'bench-' || g, 'bench-load', g, '', '', timestamptz '2026-10-01' + ((g * 5184000) / $3) * interval '1 second',
         'llm', 'POST', '/v1/chat/completions', 'spiffe://ai.company.org/agent/team-' || (g % 40) || '/agent-' || (g % 2000), 'x509-svid',
         'spiffe://ai.company.org/agent/team-' || (g % 40), 'spiffe://ai.company.org/service/llm-proxy',
         'model', 'model-' || (g % 12), 'chat', CASE WHEN g % 50 = 0 THEN 'deny' ELSE 'allow' END, '{}', 'rev', 'provider-' || (g % 3), 'model-' || (g % 12), 1,
         CASE WHEN g % 50 = 0 THEN 403 ELSE 200 END, CASE WHEN g % 50 = 0 THEN 'denied' ELSE 'ok' END, 1500,
         CASE WHEN g % 50 = 0 THEN 0 ELSE 100 + g % 900 END, CASE WHEN g % 50 = 0 THEN 0 ELSE 20 + g % 300 END,
         CASE WHEN g % 50 = 0 THEN 0 ELSE 50 + g % 2000 END, 'model-' || (g % 12) || '@bench', '{}'
       FROM generate_series($1::bigint, $2::bigint) AS g`,
      [offset + 1, offset + n, reportRows],
    );
  }
  await pool.query(`CREATE INDEX audit_events_occurred_at_request_id_idx ON audit_events (occurred_at DESC, request_id DESC)`);
  await pool.query(`CREATE INDEX audit_events_caller_occurred_at_idx ON audit_events (caller, occurred_at DESC)`);
  await pool.query(`CREATE INDEX audit_events_model_occurred_at_idx ON audit_events (model, occurred_at DESC)`);
  // The roll-up exactly as the writer keeps it (same grouping and counting as its statement).
  await pool.query(`INSERT INTO spend_daily (day, team, caller, model, provider, requests, denied, errors, input_tokens, output_tokens, cached_input_tokens, cost_micro_usd)
    SELECT (occurred_at AT TIME ZONE 'UTC')::date, coalesce(team, ''), coalesce(caller, ''), coalesce(model, ''), coalesce(provider, ''), count(*),
      count(*) FILTER (WHERE outcome = 'denied'), count(*) FILTER (WHERE outcome IN ('upstream_error', 'error')),
      sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), sum(cost_micro_usd)
    FROM audit_events GROUP BY 1, 2, 3, 4, 5`);
  await pool.query(`ALTER TABLE audit_events ENABLE TRIGGER USER`);
  await pool.query(`VACUUM ANALYZE audit_events`);
  await pool.query(`VACUUM ANALYZE spend_daily`);
  const sizes = (await pool.query<{ audit: string; rollup: string; rollup_rows: number }>(`SELECT pg_size_pretty(pg_total_relation_size('audit_events')) AS audit,
      pg_size_pretty(pg_total_relation_size('spend_daily')) AS rollup, (SELECT count(*)::int FROM spend_daily) AS rollup_rows`)).rows[0];
  console.log(
    `\nspend report data: ${reportRows.toLocaleString("en")} audit rows over 60 days (${sizes?.audit}), roll-up ${sizes?.rollup_rows.toLocaleString("en")} rows (${sizes?.rollup}); loaded in ${((performance.now() - loadStarted) / 1000).toFixed(0)} s`,
  );

  // November 2026, a whole calendar month; and the same month starting and ending mid-day (partial days from the audit rows).
  const month = { from: new Date("2026-11-01T00:00:00Z"), to: new Date("2026-12-01T00:00:00Z") };
  const ragged = { from: new Date("2026-11-01T09:30:00Z"), to: new Date("2026-11-30T17:45:00Z") };
  const cases: Array<[string, () => Promise<unknown>]> = [];
  for (const by of ["agent", "team", "model", "provider", "day"] as SpendDimension[]) cases.push([`month by ${by}`, () => spendReport(pool, { by, ...month })]);
  cases.push(["month, top 10 agents", () => spendReport(pool, { by: "agent", ...month, top: 10 })]);
  cases.push(["month by team, ragged ends (partial days read from audit rows)", () => spendReport(pool, { by: "team", ...ragged })]);
  console.log("\nmonth's spend report latency (5 runs each after one warm-up; median and worst):");
  for (const [name, run] of cases) {
    await run();
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await run();
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    console.log(`  ${name.padEnd(64)} median ${times[2]?.toFixed(1).padStart(7)} ms   worst ${times[4]?.toFixed(1).padStart(7)} ms`);
  }
  const t = performance.now();
  await pool.query(`SELECT caller, sum(cost_micro_usd) FROM audit_events WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY caller`, [month.from, month.to]);
  console.log(`  ${"for comparison: the same month by agent summed from audit rows".padEnd(64)} once   ${(performance.now() - t).toFixed(1).padStart(7)} ms`);
}
