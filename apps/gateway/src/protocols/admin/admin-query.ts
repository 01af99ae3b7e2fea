import { parseDuration } from "../../config/duration.ts";
import { TollgateError } from "../../errors/tollgate-error.ts";

/** Query-string values, as Fastify parses them (a repeated key gives an array). */
export type QueryValues = Record<string, string | string[] | undefined>;

export function badQuery(param: string, message: string): TollgateError {
  return new TollgateError("TG_ERR_BAD_REQUEST", message, { param, reason: "admin.bad_query" });
}

export function text(query: QueryValues, name: string, max = 1024): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw badQuery(name, `${name} may be given once`);
  if (value.length > max) throw badQuery(name, `${name} is too long`);
  return value;
}

export function oneOf<T extends string>(query: QueryValues, name: string, allowed: readonly T[]): T | undefined {
  const value = text(query, name);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw badQuery(name, `${name} must be one of ${allowed.join(", ")}`);
  return value as T;
}

export function integer(query: QueryValues, name: string, min: number, max: number): number | undefined {
  const value = text(query, name, 16);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw badQuery(name, `${name} must be an integer from ${min} to ${max}`);
  return n;
}

export function instant(query: QueryValues, name: string): Date | undefined {
  const value = text(query, name, 64);
  if (value === undefined) return undefined;
  // A bare date is that UTC day's midnight.
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms)) throw badQuery(name, `${name} must be an ISO 8601 date or time, e.g. 2026-12-01 or 2026-12-01T08:00:00Z`);
  return new Date(ms);
}

/**
 * The time range of a query: `from`/`to` (ISO 8601), or `since` (a duration back from now: 7d, 24h).
 * Without either, `defaultSince` back from now.
 */
export function timeRange(query: QueryValues, now: number, defaultSinceMs: number | undefined): { from: Date | undefined; to: Date | undefined } {
  const since = text(query, "since", 32);
  let from = instant(query, "from");
  const to = instant(query, "to");
  if (since !== undefined) {
    if (from !== undefined) throw badQuery("since", "give since or from, not both");
    let ms: number;
    try {
      ms = parseDuration(since);
    } catch {
      throw badQuery("since", "since must be a duration such as 7d, 24h or 30m");
    }
    from = new Date((to?.getTime() ?? now) - ms);
  }
  if (from === undefined && defaultSinceMs !== undefined) from = new Date((to?.getTime() ?? now) - defaultSinceMs);
  if (from !== undefined && to !== undefined && from.getTime() >= to.getTime()) throw badQuery("from", "the range is empty: from must be before to");
  return { from, to };
}
