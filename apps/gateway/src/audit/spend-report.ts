import type { Pool } from "pg";
import "./pg-types.ts";

export const spendDimensions = ["agent", "team", "model", "provider", "day"] as const;
export type SpendDimension = (typeof spendDimensions)[number];

export interface SpendQuery {
  by: SpendDimension;
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  /** Order by cost (highest first) and keep this many: top spenders. Without it, ordered by key. */
  top?: number;
  /** Only these callers / teams / models / providers (exact). */
  caller?: string;
  team?: string;
  model?: string;
  provider?: string;
}

export interface SpendLine {
  /** The caller's SPIFFE ID, the team, the model, the provider, or the UTC day (YYYY-MM-DD). "" for none. */
  key: string;
  requests: number;
  denied: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cost_micro_usd: number;
}

export interface SpendReport {
  by: SpendDimension;
  from: string;
  to: string;
  lines: SpendLine[];
  total: Omit<SpendLine, "key">;
}

const keyColumn: Record<SpendDimension, { rollup: string; raw: string }> = {
  agent: { rollup: `"caller"`, raw: `coalesce("caller", '')` },
  team: { rollup: `"team"`, raw: `coalesce("team", '')` },
  model: { rollup: `"model"`, raw: `coalesce("model", '')` },
  provider: { rollup: `"provider"`, raw: `coalesce("provider", '')` },
  day: { rollup: `to_char("day", 'YYYY-MM-DD')`, raw: `to_char(("occurred_at" AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD')` },
};

const dayMs = 86_400_000;

/**
 * Spend over [from, to), grouped by one dimension. Whole UTC days are read from the spend_daily
 * roll-up (a month is thousands of rows whatever the traffic); the parts of days at either end of
 * the range, if it does not start or end at midnight UTC, are summed from audit_events through its
 * time index. Costs are those recorded with each request, priced when it was made.
 */
export async function spendReport(pool: Pool, query: SpendQuery): Promise<SpendReport> {
  const from = query.from.getTime();
  const to = query.to.getTime();
  const firstWholeDay = Math.ceil(from / dayMs) * dayMs;
  const endWholeDays = Math.floor(to / dayMs) * dayMs;
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const filters = (raw: boolean): string[] => {
    const where: string[] = [];
    const column = (name: string) => (raw ? `coalesce("${name}", '')` : `"${name}"`);
    if (query.caller !== undefined) where.push(`${column("caller")} = ${param(query.caller)}`);
    if (query.team !== undefined) where.push(`${column("team")} = ${param(query.team)}`);
    if (query.model !== undefined) where.push(`${column("model")} = ${param(query.model)}`);
    if (query.provider !== undefined) where.push(`${column("provider")} = ${param(query.provider)}`);
    return where;
  };
  const key = keyColumn[query.by];
  const parts: string[] = [];
  if (firstWholeDay < endWholeDays) {
    const where = [`"day" >= ${param(isoDay(firstWholeDay))}::date`, `"day" < ${param(isoDay(endWholeDays))}::date`, ...filters(false)];
    parts.push(`SELECT ${key.rollup} AS key, "requests", "denied", "errors", "input_tokens", "output_tokens", "cached_input_tokens", "cost_micro_usd"
      FROM "spend_daily" WHERE ${where.join(" AND ")}`);
  }
  const rawRanges: Array<[number, number]> =
    firstWholeDay < endWholeDays
      ? [
          [from, firstWholeDay],
          [endWholeDays, to],
        ]
      : [[from, to]];
  for (const [start, end] of rawRanges) {
    if (start >= end) continue;
    const where = [`"occurred_at" >= ${param(new Date(start))}`, `"occurred_at" < ${param(new Date(end))}`, ...filters(true)];
    parts.push(`SELECT ${key.raw} AS key, 1 AS "requests",
        CASE WHEN "outcome" = 'denied' THEN 1 ELSE 0 END AS "denied",
        CASE WHEN "outcome" IN ('upstream_error', 'error') THEN 1 ELSE 0 END AS "errors",
        "input_tokens", "output_tokens", "cached_input_tokens", "cost_micro_usd"
      FROM "audit_events" WHERE ${where.join(" AND ")}`);
  }
  let lines: SpendLine[] = [];
  if (parts.length > 0) {
    const order = query.top !== undefined ? `ORDER BY "cost_micro_usd" DESC, key LIMIT ${param(query.top)}` : "ORDER BY key";
    const sql = `SELECT key, sum("requests")::bigint AS "requests", sum("denied")::bigint AS "denied", sum("errors")::bigint AS "errors",
        sum("input_tokens")::bigint AS "input_tokens", sum("output_tokens")::bigint AS "output_tokens",
        sum("cached_input_tokens")::bigint AS "cached_input_tokens", sum("cost_micro_usd")::bigint AS "cost_micro_usd"
      FROM (${parts.join("\nUNION ALL\n")}) AS spend GROUP BY key ${order}`;
    lines = (await pool.query<SpendLine>(sql, params)).rows;
  }
  const total = { requests: 0, denied: 0, errors: 0, input_tokens: 0, output_tokens: 0, cached_input_tokens: 0, cost_micro_usd: 0 };
  for (const line of lines) {
    total.requests += line.requests;
    total.denied += line.denied;
    total.errors += line.errors;
    total.input_tokens += line.input_tokens;
    total.output_tokens += line.output_tokens;
    total.cached_input_tokens += line.cached_input_tokens;
    total.cost_micro_usd += line.cost_micro_usd;
  }
  return { by: query.by, from: query.from.toISOString(), to: query.to.toISOString(), lines, total };
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
