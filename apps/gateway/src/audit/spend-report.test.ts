import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../../test/harness/scratch-database.ts";
import { searchAudit } from "./audit-search.ts";
import { PostgresAuditSink } from "./audit-sink.ts";
import { HashChain } from "./hash-chain.ts";
import { applyMigrations, readMigrations } from "./migrations.ts";
import { sampleRow } from "./sample-rows.ts";
import { spendReport } from "./spend-report.ts";

const support = "spiffe://ai.company.org/agent/customer-support/v2";
const review = "spiffe://ai.company.org/agent/code-review/v1";

describe("spend reports and audit search", () => {
  let db: ScratchDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createScratchDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    await applyMigrations(pool, await readMigrations());
    const chain = new HashChain("spend");
    const rows = [
      // 2026-03-01: a whole day in the middle of the range.
      sampleRow({ occurred_at: "2026-03-01T08:00:00.000Z", caller: support, team: "support", model: "gpt-4o", provider: "openai", cost_micro_usd: 1000, input_tokens: 10 }),
      sampleRow({ occurred_at: "2026-03-01T09:00:00.000Z", caller: review, team: "review", model: "gpt-4o-mini", provider: "openai", cost_micro_usd: 50, input_tokens: 5 }),
      sampleRow({ occurred_at: "2026-03-01T10:00:00.000Z", caller: review, team: "review", model: "claude-haiku-4-5", provider: "anthropic", cost_micro_usd: 70 }),
      // 2026-02-28 late and 2026-03-02 early: partly inside the range.
      sampleRow({ occurred_at: "2026-02-28T11:00:00.000Z", caller: support, team: "support", model: "gpt-4o", cost_micro_usd: 999_999 }),
      sampleRow({ occurred_at: "2026-02-28T20:00:00.000Z", caller: support, team: "support", model: "gpt-4o", cost_micro_usd: 300 }),
      sampleRow({ occurred_at: "2026-03-02T01:00:00.000Z", caller: review, team: "review", model: "gpt-4o-mini", cost_micro_usd: 5 }),
      sampleRow({ occurred_at: "2026-03-02T13:00:00.000Z", caller: review, team: "review", model: "gpt-4o-mini", cost_micro_usd: 888_888 }),
      // A denial costs nothing but counts.
      sampleRow({ occurred_at: "2026-03-01T12:00:00.000Z", caller: review, team: "review", model: "gpt-4o", decision: "deny", outcome: "denied", status: 403, cost_micro_usd: 0, input_tokens: 0, output_tokens: 0 }),
    ].map((row) => chain.link(row));
    await new PostgresAuditSink(pool).insert(rows);
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  const from = new Date("2026-02-28T18:00:00.000Z");
  const to = new Date("2026-03-02T06:00:00.000Z");

  it("sums whole days from the roll-up and the ends of the range from the audit rows", async () => {
    const report = await spendReport(pool, { by: "agent", from, to });
    expect(report.lines.map((l) => [l.key, l.requests, l.cost_micro_usd, l.denied])).toEqual([
      [review, 4, 125, 1],
      [support, 2, 1300, 0],
    ]);
    expect(report.total).toMatchObject({ requests: 6, cost_micro_usd: 1425, denied: 1 });
  });

  it("groups by team, model, provider and day", async () => {
    expect((await spendReport(pool, { by: "team", from, to })).lines.map((l) => [l.key, l.cost_micro_usd])).toEqual([
      ["review", 125],
      ["support", 1300],
    ]);
    expect((await spendReport(pool, { by: "model", from, to })).lines.map((l) => [l.key, l.cost_micro_usd])).toEqual([
      ["claude-haiku-4-5", 70],
      ["gpt-4o", 1300],
      ["gpt-4o-mini", 55],
    ]);
    expect((await spendReport(pool, { by: "provider", from, to })).lines.map((l) => [l.key, l.requests])).toEqual([
      ["anthropic", 1],
      ["openai", 5],
    ]);
    expect((await spendReport(pool, { by: "day", from, to })).lines.map((l) => [l.key, l.cost_micro_usd])).toEqual([
      ["2026-02-28", 300],
      ["2026-03-01", 1120],
      ["2026-03-02", 5],
    ]);
  });

  it("ranks top spenders and narrows by filters, within one day too", async () => {
    expect((await spendReport(pool, { by: "agent", from, to, top: 1 })).lines.map((l) => l.key)).toEqual([support]);
    expect((await spendReport(pool, { by: "model", from, to, caller: review })).lines.map((l) => l.key)).toEqual(["claude-haiku-4-5", "gpt-4o", "gpt-4o-mini"]);
    const withinADay = await spendReport(pool, { by: "agent", from: new Date("2026-03-01T08:30:00Z"), to: new Date("2026-03-01T10:30:00Z") });
    expect(withinADay.lines.map((l) => [l.key, l.requests])).toEqual([[review, 2]]);
  });

  it("pages through audit rows with a cursor, newest first, filtered", async () => {
    const first = await searchAudit(pool, { limit: 3, caller: review });
    expect(first.rows.map((r) => r.occurred_at)).toEqual(["2026-03-02T13:00:00.000Z", "2026-03-02T01:00:00.000Z", "2026-03-01T12:00:00.000Z"]);
    expect(first.next).toBeDefined();
    const second = await searchAudit(pool, { limit: 3, caller: review, cursor: first.next as string });
    expect(second.rows.map((r) => r.occurred_at)).toEqual(["2026-03-01T10:00:00.000Z", "2026-03-01T09:00:00.000Z"]);
    expect(second.next).toBeUndefined();
    const denied = await searchAudit(pool, { limit: 10, decision: "deny", kind: "model", from: new Date("2026-03-01T00:00:00Z"), to: new Date("2026-03-02T00:00:00Z") });
    expect(denied.rows.map((r) => [r.caller, r.outcome, r.status])).toEqual([[review, "denied", 403]]);
    await expect(searchAudit(pool, { limit: 1, cursor: "not-a-cursor" })).rejects.toThrow(/cursor/);
  });
});
