import { hostname } from "node:os";
import { join } from "node:path";
import type { AuditSection } from "../config/audit-schema.ts";
import type { Logger } from "../telemetry/logger.ts";
import { AuditRecorder } from "./audit-recorder.ts";
import { PostgresAuditSink } from "./audit-sink.ts";
import { AuditSpool } from "./audit-spool.ts";
import { AuditWriter, type AuditWriterStatus } from "./audit-writer.ts";
import { type AuditDatabase, openAuditDatabase } from "./database.ts";
import { applyMigrations, readMigrations } from "./migrations.ts";
import { TeamResolver } from "./team-resolver.ts";

export interface AuditService {
  readonly recorder: AuditRecorder;
  readonly writer: AuditWriter;
  readonly database: AuditDatabase;
  /** For /readyz: not ready while a new row could be neither written nor spooled. */
  readiness(): { ready: boolean; detail: Record<string, unknown> };
  status(): AuditWriterStatus & { location: string; kind: string };
  /** Drains the writer (queue to PostgreSQL or the spool), then closes the spool and the database. */
  close(): Promise<void>;
}

export interface StartAuditOptions {
  audit: AuditSection;
  dataDir: string;
  logger: Logger;
  /** Overrides the migrations folder (tests). */
  migrationsDir?: string;
}

/**
 * Starts the audit trail: the database (PGlite started here in the embedded default), the
 * migrations (unless turned off), the spool (whatever an earlier run left in it is written back
 * first), and the writer.
 */
export async function startAudit(options: StartAuditOptions): Promise<AuditService> {
  const { audit, logger } = options;
  const database = await openAuditDatabase({ database: audit.database, dataDir: options.dataDir, statementTimeoutMs: audit.statement_timeout });
  try {
    if (audit.migrate) {
      const result = await applyMigrations(database.pool, await readMigrations(options.migrationsDir));
      if (result.applied.length > 0) logger.info({ applied: result.applied, database: database.location }, "audit database migrated");
    }
    const spool = await AuditSpool.open({ dir: audit.spool_dir ?? join(options.dataDir, "audit-spool"), limitBytes: audit.spool_limit });
    if (spool.pending > 0) logger.warn({ rows: spool.pending, dir: spool.dir }, "audit rows from an earlier run are in the spool; writing them back");
    const chainId = audit.chain_id ?? `${hostname().replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 64)}:${new Date().toISOString()}:${process.pid}`;
    const writer = new AuditWriter({
      sink: new PostgresAuditSink(database.pool),
      spool,
      chainId,
      batchSize: audit.batch_size,
      flushIntervalMs: audit.flush_interval,
      queueLimit: audit.queue_limit,
      retryIntervalMs: audit.retry_interval,
      log: {
        info: (fields, message) => logger.info(fields, message),
        warn: (fields, message) => logger.warn(fields, message),
        error: (fields, message) => logger.error(fields, message),
      },
    });
    const recorder = new AuditRecorder({
      writer,
      teams: new TeamResolver(audit.teams),
      required: audit.required,
      captureBytes: audit.capture.enabled ? audit.capture.max_bytes : undefined,
      logger,
    });
    logger.info({ database: database.location, chain: chainId, required: audit.required, capture: audit.capture.enabled }, "audit trail ready");
    return {
      recorder,
      writer,
      database,
      readiness: () => {
        const status = writer.status();
        return {
          // Without required-audit mode the gateway serves even when rows cannot be kept (and says so here).
          ready: status.accepting || !audit.required,
          detail: {
            accepting: status.accepting, database: status.database, spool: status.spool, queued: status.queued, spooled: status.spooled, lastError: status.lastError },
        };
      },
      status: () => ({ ...writer.status(), location: database.location, kind: database.kind }),
      close: async () => {
        await writer.drain();
        await spool.close();
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
