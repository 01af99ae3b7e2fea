import type { Pool } from "pg";
import { auditColumns, auditColumnTypes, type ChainedAuditRow } from "./audit-row.ts";
import "./pg-types.ts";

/** Where batches of audit rows go: PostgreSQL, through one statement per batch. */
export interface AuditSink {
  /** Inserts the rows (skipping any already there) and adds the new ones to the spend roll-ups, atomically. */
  insert(rows: readonly ChainedAuditRow[]): Promise<number>;
}

const columnList = auditColumns.map((c) => `"${c}"`).join(", ");
const recordType = auditColumns.map((c) => `"${c}" ${auditColumnTypes[c]}`).join(", ");

/**
 * One statement per batch, so that a batch and its roll-up are one atomic step and a batch written
 * twice (a spool replayed after a crash, a retry after a lost reply) counts once:
 *   1. the rows arrive as one JSON parameter (json_to_recordset), whatever the batch size: one
 *      parse, one plan, no 65,535-parameter ceiling;
 *   2. INSERT ... ON CONFLICT DO NOTHING RETURNING gives exactly the rows that were new (the request id
 *      and the (chain, seq) pair are both unique);
 *   3. those rows, grouped by day, team, caller, model and provider, are added to spend_daily with
 *      INSERT ... ON CONFLICT DO UPDATE, in key order so that replicas writing at once cannot deadlock.
 */
export const insertStatement = `
WITH incoming AS (
  SELECT * FROM json_to_recordset($1::json) AS r(${recordType})
), inserted AS (
  INSERT INTO "audit_events" (${columnList})
  SELECT ${columnList} FROM incoming
  ON CONFLICT DO NOTHING
  RETURNING "occurred_at", "team", "caller", "model", "provider", "decision", "outcome",
            "input_tokens", "output_tokens", "cached_input_tokens", "cost_micro_usd"
), rolled AS (
  INSERT INTO "spend_daily" AS s ("day", "team", "caller", "model", "provider", "requests", "denied", "errors",
                                  "input_tokens", "output_tokens", "cached_input_tokens", "cost_micro_usd")
  SELECT ("occurred_at" AT TIME ZONE 'UTC')::date, coalesce("team", ''), coalesce("caller", ''),
         coalesce("model", ''), coalesce("provider", ''),
         count(*),
         count(*) FILTER (WHERE "outcome" = 'denied'),
         count(*) FILTER (WHERE "outcome" IN ('upstream_error', 'error')),
         sum("input_tokens"), sum("output_tokens"), sum("cached_input_tokens"), sum("cost_micro_usd")
  FROM inserted
  GROUP BY 1, 2, 3, 4, 5
  ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT ("day", "team", "caller", "model", "provider") DO UPDATE SET
    "requests" = s."requests" + excluded."requests",
    "denied" = s."denied" + excluded."denied",
    "errors" = s."errors" + excluded."errors",
    "input_tokens" = s."input_tokens" + excluded."input_tokens",
    "output_tokens" = s."output_tokens" + excluded."output_tokens",
    "cached_input_tokens" = s."cached_input_tokens" + excluded."cached_input_tokens",
    "cost_micro_usd" = s."cost_micro_usd" + excluded."cost_micro_usd"
  RETURNING 1
)
SELECT (SELECT count(*) FROM inserted)::int AS inserted`;

export class PostgresAuditSink implements AuditSink {
  private readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  async insert(rows: readonly ChainedAuditRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const result = await this.pool.query<{ inserted: number }>(insertStatement, [JSON.stringify(rows)]);
    return result.rows[0]?.inserted ?? 0;
  }
}
