export interface BackoffPolicy {
  attempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/**
 * How long to wait before retry number `retry` (0-based): the provider's own `retry-after-ms` or
 * `retry-after` when it sent one, else exponential backoff with full jitter. Returns undefined when the
 * provider asks for longer than the policy allows: better to fall back to another deployment at once.
 */
export function backoffDelay(
  policy: BackoffPolicy,
  retry: number,
  headers: Record<string, string | string[] | undefined> | undefined,
  random: () => number = Math.random,
): number | undefined {
  const asked = retryAfterMs(headers);
  if (asked !== undefined) return asked <= policy.maxBackoffMs ? asked : undefined;
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** retry);
  return Math.round(ceiling * (0.5 + random() / 2));
}

function retryAfterMs(headers: Record<string, string | string[] | undefined> | undefined): number | undefined {
  if (headers === undefined) return undefined;
  const ms = single(headers["retry-after-ms"]);
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));
  const after = single(headers["retry-after"]);
  if (after === undefined) return undefined;
  if (/^\d+$/.test(after)) return Number(after) * 1000;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
