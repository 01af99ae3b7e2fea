import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../../test/harness/scratch-database.ts";
import { startEmbeddedPostgres } from "./embedded-postgres.ts";
import { applyMigrations, MigrationError, readMigrations } from "./migrations.ts";

describe("the migrations runner", () => {
  let db: ScratchDatabase;
  beforeAll(async () => {
    db = await createScratchDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it("applies each migration once when several replicas start together, and records them as Prisma does", async () => {
    const migrations = await readMigrations();
    expect(migrations.length).toBeGreaterThan(0);
    const pools = Array.from({ length: 6 }, () => new pg.Pool({ connectionString: db.url, max: 1 }));
    try {
      const results = await Promise.all(pools.map((pool) => applyMigrations(pool, migrations)));
      const applying = results.filter((result) => result.applied.length > 0);
      expect(applying).toHaveLength(1);
      expect(applying[0]?.applied).toEqual(migrations.map((m) => m.name));
      for (const result of results.filter((r) => r.applied.length === 0)) expect(result.alreadyApplied).toEqual(migrations.map((m) => m.name));

      const recorded = (
        await pools[0]!.query<{ migration_name: string; checksum: string; applied_steps_count: number; finished_at: Date | null; logs: string | null }>(
          `SELECT migration_name, checksum, applied_steps_count, finished_at, logs FROM "_prisma_migrations" ORDER BY migration_name`,
        )
      ).rows;
      expect(recorded.map((r) => r.migration_name)).toEqual(migrations.map((m) => m.name));
      for (const [i, row] of recorded.entries()) {
        expect(row.checksum).toBe(migrations[i]?.checksum);
        expect(row.applied_steps_count).toBe(1);
        expect(row.finished_at).toBeInstanceOf(Date);
        expect(row.logs).toBeNull();
      }
      const tables = (await pools[0]!.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)).rows;
      expect(tables.map((t) => t.table_name)).toEqual(["_prisma_migrations", "audit_events", "spend_daily"]);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });

  it("refuses a database where an applied migration's file was changed since", async () => {
    const migrations = await readMigrations();
    const changed = migrations.map((m, i) => (i === 0 ? { ...m, checksum: "f".repeat(64) } : m));
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      await expect(applyMigrations(pool, changed)).rejects.toThrow(/was changed after it was applied/);
    } finally {
      await pool.end();
    }
  });

  it("records a failed migration, rolls it back, and stops at it on the next start", async () => {
    const scratch = await createScratchDatabase();
    const dir = await mkdtemp(join(tmpdir(), "tollgate-migrations-"));
    const pool = new pg.Pool({ connectionString: scratch.url, max: 1 });
    try {
      await mkdir(join(dir, "20260101000000_good"));
      await writeFile(join(dir, "20260101000000_good", "migration.sql"), `CREATE TABLE "kept" (id int);`);
      await mkdir(join(dir, "20260102000000_bad"));
      await writeFile(join(dir, "20260102000000_bad", "migration.sql"), `CREATE TABLE "half" (id int);\nSELECT no_such_function();`);
      await expect(applyMigrations(pool, await readMigrations(dir))).rejects.toBeInstanceOf(MigrationError);
      const tables = (await pool.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)).rows;
      expect(tables.map((t) => t.table_name)).toEqual(["_prisma_migrations", "kept"]);
      const failed = (await pool.query<{ logs: string | null; finished_at: Date | null }>(`SELECT logs, finished_at FROM "_prisma_migrations" WHERE migration_name = '20260102000000_bad'`)).rows[0];
      expect(failed?.finished_at).toBeNull();
      expect(failed?.logs).toMatch(/no_such_function/);
      await expect(applyMigrations(pool, await readMigrations(dir))).rejects.toThrow(/failed earlier and was not resolved/);
    } finally {
      await pool.end();
      await scratch.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("applies the same migrations to the embedded PGlite, served over the wire protocol", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tollgate-pglite-"));
    const embedded = await startEmbeddedPostgres(dir);
    // PGlite is one PostgreSQL session (one process owns its files): the gateway uses one connection.
    const pool = new pg.Pool({ connectionString: embedded.url, max: 1 });
    try {
      const migrations = await readMigrations();
      expect((await applyMigrations(pool, migrations)).applied).toEqual(migrations.map((m) => m.name));
      expect((await applyMigrations(pool, migrations)).alreadyApplied).toEqual(migrations.map((m) => m.name));
      const count = (await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL`)).rows[0];
      expect(count?.n).toBe(String(migrations.length));
      await expect(pool.query(`TRUNCATE "audit_events"`)).rejects.toThrow(/append-only/);
    } finally {
      await pool.end();
      await embedded.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("makes the audit table append-only: UPDATE, DELETE and TRUNCATE are refused", async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      await pool.query(`INSERT INTO "audit_events" ("request_id", "chain_id", "chain_seq", "prev_hash", "row_hash", "occurred_at", "protocol", "method", "path", "status", "outcome", "latency_us")
        VALUES ('r1', 'c', 1, 'p', 'h', now(), 'llm', 'GET', '/', 200, 'ok', 1)`);
      await expect(pool.query(`UPDATE "audit_events" SET "status" = 500`)).rejects.toThrow(/append-only: UPDATE/);
      await expect(pool.query(`DELETE FROM "audit_events"`)).rejects.toThrow(/append-only: DELETE/);
      await expect(pool.query(`TRUNCATE "audit_events"`)).rejects.toThrow(/append-only: TRUNCATE/);
    } finally {
      await pool.end();
    }
  });
});
