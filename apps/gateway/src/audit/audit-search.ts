import type { Pool } from "pg";
import type { ChainedAuditRow } from "./audit-row.ts";
import "./pg-types.ts";

export interface AuditSearch {
  caller?: string;
  team?: string;
  model?: string;
  decision?: "allow" | "deny" | "none";
  kind?: string;
  outcome?: string;
  protocol?: string;
  requestId?: string;
  from?: Date;
  to?: Date;
  limit: number;
  /** From a previous page's `next`: continues after its last row. */
  cursor?: string;
  /** newest first (default) or oldest first. */
  order?: "desc" | "asc";
}

export interface AuditPage {
  rows: AuditEvent[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  next?: string;
}

/** An audit row as the admin API returns it. */
export type AuditEvent = Omit<ChainedAuditRow, "occurred_at"> & { occurred_at: string; inserted_at: string };

/** A cursor that does not decode: the caller's mistake, answered with 400. */
export class CursorError extends Error {
  override readonly name = "CursorError";
}

export const selectedColumns = `"request_id", "chain_id", "chain_seq", "prev_hash", "row_hash", "occurred_at", "trace_id", "protocol", "method", "path",
  "caller", "auth_method", "team", "target", "resource_kind", "resource_name", "resource_action", "decision", "reasons", "policy_revision",
  "provider", "model", "attempts", "status", "outcome", "error_code", "error_reason", "latency_us", "input_tokens", "output_tokens",
  "cached_input_tokens", "reasoning_tokens", "cost_micro_usd", "price_id", "detail", "capture", "inserted_at"`;

/**
 * Audit rows matching the filters, a page at a time, by keyset pagination on (occurred_at,
 * request_id): each page is one index range scan however deep into the trail it is, and rows
 * written between two pages never shift or repeat them.
 */
export async function searchAudit(pool: Pool, search: AuditSearch): Promise<AuditPage> {
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const where: string[] = [];
  if (search.caller !== undefined) where.push(`"caller" = ${param(search.caller)}`);
  if (search.team !== undefined) where.push(`"team" = ${param(search.team)}`);
  if (search.model !== undefined) where.push(`"model" = ${param(search.model)}`);
  if (search.decision === "none") where.push(`"decision" IS NULL`);
  else if (search.decision !== undefined) where.push(`"decision" = ${param(search.decision)}`);
  if (search.kind !== undefined) where.push(`"resource_kind" = ${param(search.kind)}`);
  if (search.outcome !== undefined) where.push(`"outcome" = ${param(search.outcome)}`);
  if (search.protocol !== undefined) where.push(`"protocol" = ${param(search.protocol)}`);
  if (search.requestId !== undefined) where.push(`"request_id" = ${param(search.requestId)}`);
  if (search.from !== undefined) where.push(`"occurred_at" >= ${param(search.from)}`);
  if (search.to !== undefined) where.push(`"occurred_at" < ${param(search.to)}`);
  const order = search.order ?? "desc";
  if (search.cursor !== undefined) {
    const [at, id] = decodeCursor(search.cursor);
    where.push(`("occurred_at", "request_id") ${order === "desc" ? "<" : ">"} (${param(at)}::timestamptz, ${param(id)})`);
  }
  const direction = order === "desc" ? "DESC" : "ASC";
  const sql = `SELECT ${selectedColumns} FROM "audit_events" ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY "occurred_at" ${direction}, "request_id" ${direction} LIMIT ${param(search.limit + 1)}`;
  const rows = (await pool.query<Omit<AuditEvent, "occurred_at" | "inserted_at"> & { occurred_at: unknown; inserted_at: unknown }>(sql, params)).rows.map(toEvent);
  const page: AuditPage = { rows: rows.slice(0, search.limit) };
  const last = page.rows.at(-1);
  if (rows.length > search.limit && last !== undefined) page.next = encodeCursor(last.occurred_at, last.request_id);
  return page;
}

/** Every matching row, page by page (for NDJSON export): memory holds one page at a time. */
export async function* exportAudit(pool: Pool, search: Omit<AuditSearch, "limit" | "cursor">, pageSize = 1000): AsyncGenerator<AuditEvent> {
  let cursor: string | undefined;
  for (;;) {
    const page = await searchAudit(pool, { ...search, limit: pageSize, ...(cursor === undefined ? {} : { cursor }) });
    yield* page.rows;
    if (page.next === undefined) return;
    cursor = page.next;
  }
}

function toEvent(row: Omit<AuditEvent, "occurred_at" | "inserted_at"> & { occurred_at: unknown; inserted_at: unknown }): AuditEvent {
  return {
    ...row,
    occurred_at: row.occurred_at instanceof Date ? row.occurred_at.toISOString() : String(row.occurred_at),
    inserted_at: row.inserted_at instanceof Date ? row.inserted_at.toISOString() : String(row.inserted_at),
  };
}

function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString("base64url");
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && typeof value[1] === "string" && !Number.isNaN(Date.parse(value[0]))) {
      return [value[0], value[1]];
    }
  } catch {
    // Answered below.
  }
  throw new CursorError("the cursor is not one this API returned");
}
