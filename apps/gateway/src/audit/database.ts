import { join } from "node:path";
import pg from "pg";
import type { AuditSection } from "../config/audit-schema.ts";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./embedded-postgres.ts";
import "./pg-types.ts";


export interface AuditDatabase {
  readonly pool: pg.Pool;
  /** "postgres" or "embedded". */
  readonly kind: AuditSection["database"]["kind"];
  /** Where it is, without credentials: for logs and the admin API. */
  readonly location: string;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  database: AuditSection["database"];
  dataDir: string;
  statementTimeoutMs: number;
}

/**
 * Connects to the audit database: a PostgreSQL server, or PGlite under the data directory started
 * here. Connections are made lazily by the pool, so an unreachable server does not stop the gateway
 * from starting (rows are spooled until it answers), unless migrations must run first.
 */
export async function openAuditDatabase(options: OpenDatabaseOptions): Promise<AuditDatabase> {
  const { database } = options;
  let embedded: EmbeddedPostgres | undefined;
  let url: string;
  let max: number;
  if (database.kind === "embedded") {
    embedded = await startEmbeddedPostgres(database.dir ?? join(options.dataDir, "pglite"));
    url = embedded.url;
    max = 1;
  } else {
    url = database.url;
    max = database.connections;
  }
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: Math.min(options.statementTimeoutMs, 10_000),
    // A hung server must not hold a batch (or a shutdown) forever: past this, the batch is spooled.
    query_timeout: options.statementTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: "tollgate",
  });
  // An idle connection the server drops (a restart) must not crash the process; the pool replaces it.
  pool.on("error", () => undefined);
  return {
    pool,
    kind: database.kind,
    location: embedded === undefined ? redactUrl(url) : `embedded PGlite in ${database.kind === "embedded" ? (database.dir ?? join(options.dataDir, "pglite")) : ""}`,
    close: async () => {
      await pool.end();
      await embedded?.close();
    },
  };
}

/** A connection URL without its password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "****";
    return parsed.toString();
  } catch {
    return "(unparsable URL)";
  }
}
