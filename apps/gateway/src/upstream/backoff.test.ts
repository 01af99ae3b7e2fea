import { describe, expect, it } from "vitest";
import { type BackoffPolicy, backoffDelay, retryAfterMs } from "./backoff.ts";

const policy: BackoffPolicy = { attempts: 3, initialBackoffMs: 100, maxBackoffMs: 1_000 };
const now = Date.UTC(2026, 11, 4, 19, 0, 0);

describe("backoffDelay", () => {
  it("doubles from the initial backoff, with jitter between half and all of it", () => {
    expect(backoffDelay(policy, 0, undefined, () => 0)).toBe(50);
    expect(backoffDelay(policy, 0, undefined, () => 0.999_999)).toBe(100);
    expect(backoffDelay(policy, 1, undefined, () => 0.999_999)).toBe(200);
    expect(backoffDelay(policy, 2, undefined, () => 0.5)).toBe(300);
  });

  it("never waits longer than the cap", () => {
    expect(backoffDelay(policy, 10, undefined, () => 0.999_999)).toBe(1_000);
    expect(backoffDelay(policy, 10, undefined, () => 0)).toBe(500);
  });

  it("waits what the provider asks for, when that is within the cap", () => {
    expect(backoffDelay(policy, 0, { "retry-after": "0" }, () => 0.9)).toBe(0);
    expect(backoffDelay(policy, 2, { "retry-after": "1" }, () => 0.9)).toBe(1_000);
    expect(backoffDelay(policy, 0, { "retry-after-ms": "250" }, () => 0.9)).toBe(250);
  });

  it("gives up on the deployment (undefined) when the provider asks for longer than the cap", () => {
    expect(backoffDelay(policy, 0, { "retry-after": "30" })).toBeUndefined();
    expect(backoffDelay(policy, 0, { "retry-after-ms": "1001" })).toBeUndefined();
    expect(backoffDelay(policy, 0, { "retry-after": new Date(now + 60_000).toUTCString() }, Math.random, now)).toBeUndefined();
  });
});

describe("retryAfterMs", () => {
  it("prefers retry-after-ms, rounding fractions up", () => {
    expect(retryAfterMs({ "retry-after-ms": "12.2", "retry-after": "9" })).toBe(13);
  });

  it("reads retry-after in seconds, fractions included", () => {
    expect(retryAfterMs({ "retry-after": "2" })).toBe(2_000);
    expect(retryAfterMs({ "retry-after": " 0.5 " })).toBe(500);
  });

  it("reads retry-after as an HTTP date, never negative", () => {
    expect(retryAfterMs({ "retry-after": new Date(now + 3_000).toUTCString() }, now)).toBe(3_000);
    expect(retryAfterMs({ "retry-after": new Date(now - 3_000).toUTCString() }, now)).toBe(0);
  });

  it("takes the first of repeated headers", () => {
    expect(retryAfterMs({ "retry-after": ["1", "7"] })).toBe(1_000);
  });

  it("ignores what it cannot read, falling back to retry-after", () => {
    expect(retryAfterMs({ "retry-after-ms": "soon", "retry-after": "3" })).toBe(3_000);
    expect(retryAfterMs({ "retry-after": "-1" })).toBeUndefined();
    expect(retryAfterMs({ "retry-after": "later" })).toBeUndefined();
    expect(retryAfterMs({ "retry-after": "" })).toBeUndefined();
    expect(retryAfterMs({})).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});
