export interface BackoffPolicy {
  /** Further attempts on the same deployment after the first one. */
  attempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export type ResponseHeaders = Record<string, string | string[] | undefined>;

/**
 * How long to wait before retry number `retry` (0-based): the provider's own `retry-after-ms` or
 * `retry-after` when it sent one, else exponential backoff with full jitter. Returns undefined when the
 * provider asks for longer than the policy allows: better to fall back to another deployment at once.
 */
export function backoffDelay(
  policy: BackoffPolicy,
  retry: number,
  headers: ResponseHeaders | undefined,
  random: () => number = Math.random,
  now: number = Date.now(),
): number | undefined {
  const asked = retryAfterMs(headers, now);
  if (asked !== undefined) return asked <= policy.maxBackoffMs ? asked : undefined;
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** retry);
  return Math.round(ceiling * (0.5 + random() / 2));
}

/**
 * The wait a provider asked for: OpenAI's and Azure's `retry-after-ms` first (finer), then the HTTP
 * `retry-after` in seconds (some providers send fractions) or as an HTTP date. Anything unreadable
 * counts as not asked.
 */
export function retryAfterMs(headers: ResponseHeaders | undefined, now: number = Date.now()): number | undefined {
  if (headers === undefined) return undefined;
  const ms = single(headers["retry-after-ms"])?.trim();
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));
  const after = single(headers["retry-after"])?.trim();
  if (after === undefined || after === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(after)) return Math.ceil(Number(after) * 1000);
  // HTTP dates start with the day's name; Date.parse would also take "-1" or "7" as a year.
  if (!/^[A-Za-z]/.test(after)) return undefined;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
