/**
 * PostgreSQL stopped and restarted under load: the gateway keeps serving, spools the rows it cannot
 * write, writes them back when PostgreSQL returns, and in the end the audit trail has exactly one row
 * per request, in an intact chain. Runs its own PostgreSQL (never the machine's shared one).
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./harness/gateway-harness.ts";
import { type OwnPostgres, startOwnPostgres } from "./harness/own-postgres.ts";
import { verifyAuditChains } from "../src/audit/audit-verify.ts";

describe("PostgreSQL stopped and restarted under load", () => {
  let postgres: OwnPostgres;
  let h: Harness;
  beforeAll(async () => {
    postgres = await startOwnPostgres();
    h = await startHarness({ audit: { database: postgres.url, retry_interval: "100ms", statement_timeout: "3s", batch_size: 25, flush_interval: "20ms" } });
  });
  afterAll(async () => {
    await h?.close();
    await postgres?.destroy();
  });

  it("loses no row and writes none twice", async () => {
    const total = 240;
    const concurrency = 8;
    let sent = 0;
    let answered = 0;
    const statuses = new Map<number, number>();
    const milestones = new Map<number, () => void>();
    const reached = (n: number) => new Promise<void>((resolve) => milestones.set(n, resolve));
    const stopAt = reached(60);
    const restartAt = reached(150);
    const worker = async () => {
      while (sent < total) {
        sent += 1;
        const response = await h.fetch("customer-support", "/v1/chat/completions", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "demo-chat", messages: [{ role: "user", content: `load ${sent}` }] }),
        });
        await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        answered += 1;
        milestones.get(answered)?.();
      }
    };
    const load = Promise.all(Array.from({ length: concurrency }, worker));

    await stopAt;
    await postgres.stop();
    await restartAt;
    const writer = h.gateway.audit?.writer;
    expect(writer?.status().database).toBe("down");
    expect(writer?.status().spooled).toBeGreaterThan(0);
    await postgres.start();
    await load;

    // Every exchange has finished (its log line is written) before the rows are counted.
    const finished = () => h.logs.filter((l) => l.msg === "request" && l.protocol === "llm").length;
    while (finished() < total) await h.logLine(() => true, h.logs.length);
    await writer?.flushAll();
    await writer?.flushAll();
    expect(writer?.status()).toMatchObject({ database: "up", spooled: 0, queued: 0 });

    expect(statuses).toEqual(new Map([[200, total]]));
    const pool = new pg.Pool({ connectionString: postgres.url, max: 1 });
    try {
      const rows = (await pool.query<{ n: number; distinct_ids: number }>(`SELECT count(*)::int AS n, count(DISTINCT request_id)::int AS distinct_ids FROM audit_events WHERE protocol = 'llm'`)).rows[0];
      expect(rows).toEqual({ n: total, distinct_ids: total });
      const rollup = (await pool.query<{ n: number }>(`SELECT sum(requests)::int AS n FROM spend_daily`)).rows[0];
      expect(rollup?.n).toBe(total);
      expect((await verifyAuditChains(pool)).ok).toBe(true);
    } finally {
      await pool.end();
    }
  });
});
