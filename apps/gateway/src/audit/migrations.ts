import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Pool, PoolClient } from "pg";

/** The repository's prisma/migrations: Prisma's folder format, one `<timestamp>_<name>/migration.sql` each. */
export const shippedMigrationsDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../prisma/migrations");

/**
 * The advisory lock `prisma migrate deploy` itself takes (72707369), so that our runner and Prisma's
 * never apply migrations at the same time either.
 */
export const migrationLockKey = 72707369;

export interface Migration {
  name: string;
  sql: string;
  /** SHA-256 of migration.sql, hex: the checksum Prisma records. */
  checksum: string;
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

/** A migration that cannot be applied, or a database whose history does not match the files. */
export class MigrationError extends Error {
  override readonly name = "MigrationError";
}

/** The migrations in a folder, in the order Prisma applies them (by folder name). */
export async function readMigrations(dir: string = shippedMigrationsDir): Promise<Migration[]> {
  if (!existsSync(dir)) throw new MigrationError(`no migrations folder at ${dir}`);
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, "migration.sql")))
    .map((entry) => entry.name)
    .sort();
  const migrations: Migration[] = [];
  for (const name of names) {
    const sql = await readFile(join(dir, name, "migration.sql"), "utf8");
    migrations.push({ name, sql, checksum: createHash("sha256").update(sql).digest("hex") });
  }
  return migrations;
}

// Prisma's own table, column for column, so `prisma migrate deploy` (or `migrate status`) can take over.
const createMigrationsTable = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Applies the migrations not yet applied, each in its own transaction, under PostgreSQL's advisory
 * lock: replicas starting together queue on the lock, and the ones after the first find nothing left
 * to do. Each migration is recorded in `_prisma_migrations` as Prisma records it (id, checksum of the
 * file, start and finish times, one applied step). Like `prisma migrate deploy`, it refuses to go on
 * past a migration that failed earlier and was not resolved, and it refuses a database where an
 * applied migration's file has since been changed.
 */
export async function applyMigrations(pool: Pool, migrations: readonly Migration[]): Promise<MigrationResult> {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [migrationLockKey]);
    try {
      return await applyLocked(client, migrations);
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [migrationLockKey]);
    }
  } finally {
    client.release();
  }
}

async function applyLocked(client: PoolClient, migrations: readonly Migration[]): Promise<MigrationResult> {
  await client.query(createMigrationsTable);
  const rows = (await client.query<AppliedRow>(`SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at`)).rows;
  const failed = rows.find((row) => row.finished_at === null && row.rolled_back_at === null);
  if (failed !== undefined) {
    throw new MigrationError(
      `migration ${failed.migration_name} failed earlier and was not resolved; fix the database, then mark it (prisma migrate resolve) before applying more`,
    );
  }
  const applied = new Map(rows.filter((row) => row.finished_at !== null).map((row) => [row.migration_name, row.checksum]));
  const result: MigrationResult = { applied: [], alreadyApplied: [] };
  for (const migration of migrations) {
    const checksum = applied.get(migration.name);
    if (checksum !== undefined) {
      if (checksum !== migration.checksum) {
        throw new MigrationError(`migration ${migration.name} was changed after it was applied (checksum ${checksum.slice(0, 12)}… in the database, ${migration.checksum.slice(0, 12)}… on disk)`);
      }
      result.alreadyApplied.push(migration.name);
      continue;
    }
    await applyOne(client, migration);
    result.applied.push(migration.name);
  }
  return result;
}

async function applyOne(client: PoolClient, migration: Migration): Promise<void> {
  const id = randomUUID();
  await client.query(`INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`, [
    id,
    migration.checksum,
    migration.name,
  ]);
  try {
    await client.query("BEGIN");
    // A simple query (no parameters) may hold several statements, as a migration file does.
    await client.query(migration.sql);
    await client.query(`UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`, [id]);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    const message = error instanceof Error ? error.message : String(error);
    // Recorded as Prisma records a failure (no finished_at, the error in logs), so the next start
    // stops here too instead of going on with a schema that is not what the migrations say.
    await client.query(`UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1`, [id, message]).catch(() => undefined);
    throw new MigrationError(`migration ${migration.name} failed: ${message}`);
  }
}
