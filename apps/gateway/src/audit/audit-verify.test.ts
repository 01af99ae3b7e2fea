import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../../test/harness/scratch-database.ts";
import type { ChainedAuditRow } from "./audit-row.ts";
import { PostgresAuditSink } from "./audit-sink.ts";
import { verifyAuditChains } from "./audit-verify.ts";
import { HashChain } from "./hash-chain.ts";
import { applyMigrations, readMigrations } from "./migrations.ts";
import { sampleRow } from "./sample-rows.ts";

describe("audit verify", () => {
  let db: ScratchDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createScratchDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    await applyMigrations(pool, await readMigrations());
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  /** Writes a chain of `n` rows (with captures and nested detail, which jsonb reorders) and returns them. */
  async function writeChain(id: string, n = 12): Promise<ChainedAuditRow[]> {
    const chain = new HashChain(id);
    const rows = Array.from({ length: n }, (_, i) =>
      chain.link(sampleRow({ detail: { z: i, a: { y: [1, "two"], b: null } }, capture: i === 3 ? { request: { messages: [{ role: "user", content: "hi" }] } } : null, reasons: [`r${i}`] })),
    );
    await new PostgresAuditSink(pool).insert(rows);
    return rows;
  }

  /** Tampering as an attacker with the table owner's rights would: the append-only trigger turned off first. */
  async function tamper(sql: string, params: unknown[]): Promise<void> {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(`ALTER TABLE audit_events DISABLE TRIGGER USER`);
      await client.query(sql, params);
      await client.query(`ALTER TABLE audit_events ENABLE TRIGGER USER`);
      await client.query("COMMIT");
    } finally {
      client.release();
    }
  }

  it("accepts untouched chains and reports their heads", async () => {
    const rows = await writeChain("intact");
    const result = await verifyAuditChains(pool, { chain: "intact" });
    expect(result).toEqual({ ok: true, rows: rows.length, chains: [{ chainId: "intact", rows: rows.length, lastSeq: rows.length, head: rows.at(-1)?.row_hash }] });
  });

  it("names the first edited row", async () => {
    const rows = await writeChain("edited");
    await tamper(`UPDATE audit_events SET cost_micro_usd = 0 WHERE request_id = $1`, [rows[6]?.request_id]);
    await tamper(`UPDATE audit_events SET reasons = '{}' WHERE request_id = $1`, [rows[9]?.request_id]);
    const result = await verifyAuditChains(pool, { chain: "edited" });
    expect(result.ok).toBe(false);
    expect(result.chains[0]?.problem).toMatchObject({ kind: "edited", seq: 7, requestId: rows[6]?.request_id });
    expect(result.chains[0]?.problem?.message).toContain(rows[6]?.request_id);
  });

  it("names the first deleted row", async () => {
    const rows = await writeChain("deleted");
    await tamper(`DELETE FROM audit_events WHERE request_id = ANY($1)`, [[rows[4]?.request_id, rows[5]?.request_id]]);
    const result = await verifyAuditChains(pool, { chain: "deleted" });
    expect(result.chains[0]?.problem).toMatchObject({ kind: "deleted", seq: 5, requestId: rows[6]?.request_id });
    expect(result.chains[0]?.problem?.message).toMatch(/rows 5\.\.6 are missing/);
  });

  it("names a deletion hidden by renumbering the rows after it", async () => {
    const rows = await writeChain("renumbered");
    await tamper(`DELETE FROM audit_events WHERE request_id = $1`, [rows[2]?.request_id]);
    await tamper(`UPDATE audit_events SET chain_seq = chain_seq - 1 WHERE chain_id = 'renumbered' AND chain_seq > 3`, []);
    const result = await verifyAuditChains(pool, { chain: "renumbered" });
    expect(result.chains[0]?.problem).toMatchObject({ kind: "deleted", seq: 3, requestId: rows[3]?.request_id });
  });

  it("names the first reordered row", async () => {
    const rows = await writeChain("reordered");
    // Rows 8 and 9 swap places.
    await tamper(`UPDATE audit_events SET chain_seq = -chain_seq WHERE chain_id = 'reordered' AND chain_seq IN (8, 9)`, []);
    await tamper(`UPDATE audit_events SET chain_seq = CASE chain_seq WHEN -8 THEN 9 ELSE 8 END WHERE chain_id = 'reordered' AND chain_seq < 0`, []);
    const result = await verifyAuditChains(pool, { chain: "reordered" });
    expect(result.chains[0]?.problem).toMatchObject({ kind: "reordered", seq: 8, requestId: rows[8]?.request_id });
    expect(result.chains[0]?.problem?.message).toContain(`written after request ${rows[7]?.request_id}`);
  });

  it("verifies every chain at once and fails when any fails", async () => {
    const result = await verifyAuditChains(pool);
    expect(result.ok).toBe(false);
    expect(result.chains.map((c) => [c.chainId, c.problem?.kind])).toEqual([
      ["deleted", "deleted"],
      ["edited", "edited"],
      ["intact", undefined],
      ["renumbered", "deleted"],
      ["reordered", "reordered"],
    ]);
  });
});
