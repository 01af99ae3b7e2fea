/**
 * An open-loop load generator at a fixed request rate, with microsecond latencies.
 *
 * Requests are scheduled at fixed times (start + i / rate) whether or not earlier ones have answered,
 * and each latency is measured from the time the request was due, not from when it was sent: a
 * server that stalls is charged for the requests that queued behind the stall ("coordinated
 * omission" is avoided). A latency is the time until the whole response body has been read.
 */
import { Agent, type Dispatcher } from "undici";

export interface OpenLoopTarget {
  origin: string;
  path: string;
  headers: Record<string, string>;
  /** The body, or one per request (by its index), for protocols whose messages carry unique ids. */
  body: string | ((index: number) => string);
  /** TLS options for an https origin (client certificate, CA). */
  tls?: { ca: Buffer; cert: Buffer; key: Buffer; servername: string };
}

export interface OpenLoopResult {
  /** Latencies in milliseconds, sorted. */
  latencies: Float64Array;
  errors: number;
  achievedRate: number;
}

/**
 * A keep-alive connection pool for a target, as an agent's SDK keeps one. Reuse it across runs so
 * that measurements see steady state, not the TLS handshakes of a cold pool.
 */
export function connectionPool(target: OpenLoopTarget, connections = 64): Agent {
  return new Agent({ connections, pipelining: 1, ...(target.tls === undefined ? {} : { connect: target.tls }) });
}

export async function runOpenLoop(target: OpenLoopTarget, rate: number, durationMs: number, dispatcher: Dispatcher): Promise<OpenLoopResult> {
  const total = Math.max(1, Math.round((rate * durationMs) / 1000));
  const latencies = new Float64Array(total);
  let done = 0;
  let errors = 0;
  const interval = 1000 / rate;
  const start = performance.now();
  const pending: Promise<void>[] = [];

  const fire = (index: number, due: number) =>
    send(dispatcher, target, index).then(
      () => {
        latencies[index] = performance.now() - due;
        done++;
      },
      () => {
        latencies[index] = performance.now() - due;
        errors++;
        done++;
      },
    );

  let next = 0;
  while (next < total) {
    const now = performance.now();
    while (next < total && start + next * interval <= now) {
      pending.push(fire(next, start + next * interval));
      next++;
    }
    if (next < total) await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + next * interval - performance.now())));
  }
  await Promise.all(pending);
  const elapsed = performance.now() - start;
  latencies.sort();
  return { latencies, errors, achievedRate: (done * 1000) / elapsed };
}

async function send(dispatcher: Dispatcher, target: OpenLoopTarget, index = 0): Promise<void> {
  const response = await dispatcher.request({
    origin: target.origin,
    path: target.path,
    method: "POST",
    headers: { "content-type": "application/json", ...target.headers },
    body: typeof target.body === "function" ? target.body(index) : target.body,
  });
  for await (const _chunk of response.body) {
    // Read the whole body: a streamed answer counts when its last event has arrived.
  }
  if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** Milliseconds for each of `count` requests made on a brand-new connection (handshake included). */
export async function newConnectionLatencies(target: OpenLoopTarget, count: number): Promise<Float64Array> {
  const latencies = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const pool = connectionPool(target, 1);
    const start = performance.now();
    await send(pool, target);
    latencies[i] = performance.now() - start;
    await pool.destroy();
  }
  return latencies.sort();
}
