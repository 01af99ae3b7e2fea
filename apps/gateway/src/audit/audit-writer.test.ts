import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../../test/harness/scratch-database.ts";
import { startTcpRelay, type TcpRelay } from "../../test/harness/tcp-relay.ts";
import type { AuditRow } from "./audit-row.ts";
import { PostgresAuditSink } from "./audit-sink.ts";
import { AuditSpool } from "./audit-spool.ts";
import { AuditWriter } from "./audit-writer.ts";
import { applyMigrations, readMigrations } from "./migrations.ts";
import { sampleRow } from "./sample-rows.ts";
import { verifyAuditChains } from "./audit-verify.ts";

const quietLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe("the audit writer", () => {
  let db: ScratchDatabase;
  let direct: pg.Pool;
  let relay: TcpRelay;
  let dir: string;
  beforeAll(async () => {
    db = await createScratchDatabase();
    direct = new pg.Pool({ connectionString: db.url, max: 2 });
    await applyMigrations(direct, await readMigrations());
    relay = await startTcpRelay();
  });
  afterAll(async () => {
    await direct.end();
    await relay.close();
    await db.drop();
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tollgate-spool-"));
    relay.target = `http://${new URL(db.url).host}`;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A writer whose PostgreSQL connections pass through the relay, so the test can cut them. */
  async function writer(chainId: string, options: { queueLimit?: number } = {}) {
    const url = new URL(db.url);
    url.host = new URL(relay.url).host;
    const pool = new pg.Pool({ connectionString: url.toString(), max: 1, connectionTimeoutMillis: 2000, query_timeout: 5000 });
    pool.on("error", () => undefined);
    const spool = await AuditSpool.open({ dir, limitBytes: 64 * 1024 * 1024, segmentBytes: 4096 });
    const w = new AuditWriter({
      sink: new PostgresAuditSink(pool),
      spool,
      chainId,
      batchSize: 50,
      flushIntervalMs: 5,
      queueLimit: options.queueLimit ?? 10_000,
      retryIntervalMs: 20,
      log: quietLog,
    });
    return { writer: w, spool, pool };
  }

  async function rowsOf(chainId: string): Promise<Array<{ request_id: string; chain_seq: number }>> {
    return (await direct.query<{ request_id: string; chain_seq: number }>(`SELECT request_id, chain_seq FROM audit_events WHERE chain_id = $1 ORDER BY chain_seq`, [chainId])).rows;
  }

  it("writes rows in batches with their chain, and adds them to the spend roll-up once", async () => {
    const { writer: w, spool, pool } = await writer("chain-batches");
    const day = "2026-03-01";
    const rows: AuditRow[] = Array.from({ length: 120 }, (_, i) =>
      sampleRow({ occurred_at: `${day}T10:00:${String(i % 60).padStart(2, "0")}.000Z`, caller: "spiffe://t.org/agent/batches/v1", cost_micro_usd: 10, input_tokens: 3, output_tokens: 2 }),
    );
    for (const row of rows) w.add(row);
    await w.flushAll();
    expect((await rowsOf("chain-batches")).map((r) => r.request_id)).toEqual(rows.map((r) => r.request_id));
    const rollup = (await direct.query(`SELECT requests, cost_micro_usd, input_tokens, output_tokens FROM spend_daily WHERE caller = 'spiffe://t.org/agent/batches/v1' AND day = $1`, [day])).rows;
    expect(rollup).toEqual([{ requests: 120, cost_micro_usd: 1200, input_tokens: 360, output_tokens: 240 }]);
    expect((await verifyAuditChains(direct, { chain: "chain-batches" })).ok).toBe(true);
    await w.drain();
    await spool.close();
    await pool.end();
  });

  it("spools rows while PostgreSQL is unreachable and writes them back, in order, when it returns", async () => {
    const { writer: w, spool, pool } = await writer("chain-outage");
    const before = Array.from({ length: 30 }, () => sampleRow({ caller: "spiffe://t.org/agent/outage/v1" }));
    for (const row of before) w.add(row);
    await w.flushAll();
    // The database goes away: open connections are cut, new ones refused.
    relay.target = undefined;
    for (const socket of relay.open) socket.destroy();
    const during = Array.from({ length: 200 }, () => sampleRow({ caller: "spiffe://t.org/agent/outage/v1" }));
    for (const row of during) w.add(row);
    await w.flushAll();
    expect(w.status().database).toBe("down");
    expect(spool.pending).toBe(200);
    expect((await readdir(dir)).filter((f) => f.endsWith(".ndjson")).length).toBeGreaterThan(1);
    expect(w.accepting).toBe(true);
    // It comes back; rows finished meanwhile queue behind the spooled ones.
    relay.target = `http://${new URL(db.url).host}`;
    const after = Array.from({ length: 10 }, () => sampleRow({ caller: "spiffe://t.org/agent/outage/v1" }));
    for (const row of after) w.add(row);
    await w.flushAll();
    expect(spool.pending).toBe(0);
    expect(w.status().database).toBe("up");
    const written = await rowsOf("chain-outage");
    expect(written.map((r) => r.request_id)).toEqual([...before, ...during, ...after].map((r) => r.request_id));
    expect(written.map((r) => r.chain_seq)).toEqual(written.map((_, i) => i + 1));
    const rollup = (await direct.query(`SELECT sum(requests)::int AS n FROM spend_daily WHERE caller = 'spiffe://t.org/agent/outage/v1'`)).rows[0];
    expect(rollup).toEqual({ n: 240 });
    await w.drain();
    await spool.close();
    await pool.end();
  });

  it("replays a spool left by an earlier run without duplicating rows already written", async () => {
    const first = await writer("chain-replay");
    const rows = Array.from({ length: 40 }, () => sampleRow({ caller: "spiffe://t.org/agent/replay/v1" }));
    relay.target = undefined;
    for (const row of rows) first.writer.add(row);
    await first.writer.drain();
    await first.spool.close();
    await first.pool.end();
    expect((await AuditSpool.open({ dir, limitBytes: 1e9 })).pending).toBe(40);
    // Half of them reached the database some other way before the crash (a reply lost in flight).
    const spooled = rows.slice(0, 20);
    const chained = (await readdir(dir)).length;
    expect(chained).toBeGreaterThan(0);
    relay.target = `http://${new URL(db.url).host}`;
    const sink = new PostgresAuditSink(direct);
    const fromSpool = await AuditSpool.open({ dir, limitBytes: 1e9 });
    const halfWritten: Parameters<PostgresAuditSink["insert"]>[0][number][] = [];
    await fromSpool.replay(
      async (batch) => {
        halfWritten.push(...batch);
        throw new Error("stop after reading");
      },
      20,
      async () => undefined,
    ).catch(() => undefined);
    await sink.insert(halfWritten.slice(0, spooled.length));
    await fromSpool.close();
    // The next start writes the spool back: every row once, in order.
    const second = await writer("chain-replay-2");
    await second.writer.flushAll();
    expect(second.spool.pending).toBe(0);
    const written = await rowsOf("chain-replay");
    expect(written.map((r) => r.request_id)).toEqual(rows.map((r) => r.request_id));
    const rollup = (await direct.query(`SELECT sum(requests)::int AS n FROM spend_daily WHERE caller = 'spiffe://t.org/agent/replay/v1'`)).rows[0];
    expect(rollup).toEqual({ n: 40 });
    expect((await verifyAuditChains(direct, { chain: "chain-replay" })).ok).toBe(true);
    await second.writer.drain();
    await second.spool.close();
    await second.pool.end();
  });

  it("keeps memory bounded: past the queue limit rows go to the spool synchronously", async () => {
    const { writer: w, spool, pool } = await writer("chain-bounded", { queueLimit: 100 });
    relay.target = undefined;
    for (const socket of relay.open) socket.destroy();
    for (let i = 0; i < 350; i++) {
      w.add(sampleRow({ caller: "spiffe://t.org/agent/bounded/v1" }));
      expect(w.status().queued).toBeLessThan(100);
    }
    expect(spool.pending).toBeGreaterThanOrEqual(300);
    relay.target = `http://${new URL(db.url).host}`;
    await w.flushAll();
    await w.flushAll();
    expect((await rowsOf("chain-bounded")).map((r) => r.chain_seq)).toEqual(Array.from({ length: 350 }, (_, i) => i + 1));
    await w.drain();
    await spool.close();
    await pool.end();
  });

  it("is not accepting when PostgreSQL is down and the spool refuses rows", async () => {
    const url = new URL(db.url);
    url.host = new URL(relay.url).host;
    const pool = new pg.Pool({ connectionString: url.toString(), max: 1, connectionTimeoutMillis: 2000 });
    pool.on("error", () => undefined);
    const spool = await AuditSpool.open({ dir, limitBytes: 10 });
    const w = new AuditWriter({ sink: new PostgresAuditSink(pool), spool, chainId: "chain-full", batchSize: 10, flushIntervalMs: 5, queueLimit: 1000, retryIntervalMs: 20, log: quietLog });
    relay.target = undefined;
    w.add(sampleRow());
    await w.flushAll();
    expect(w.status()).toMatchObject({ database: "down", spool: "unavailable", accepting: false, queued: 1 });
    relay.target = `http://${new URL(db.url).host}`;
    await w.flushAll();
    expect(w.status()).toMatchObject({ database: "up", queued: 0, written: 1 });
    await w.drain();
    await spool.close();
    await pool.end();
  });
});
