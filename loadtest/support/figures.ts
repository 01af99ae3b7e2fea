/** One measurement's figures, and the median of a benchmark's rounds. */
import type { Agent } from "undici";
import { cpuTimeMs } from "../../apps/gateway/test/harness/gateway-processes.ts";
import { type OpenLoopTarget, percentile, runOpenLoop } from "./open-loop.ts";

export interface Figures {
  /** CPU milliseconds the measured server process spent per request. */
  cpuPerRequest: number;
  p50: number;
  p90: number;
  p99: number;
  rps: number;
  errors: number;
}

/** Runs `target` open loop at `rate` for `seconds`, charging CPU to process `pid`. */
export async function measure(target: OpenLoopTarget, rate: number, seconds: number, pool: Agent, pid: number): Promise<Figures> {
  const cpuBefore = cpuTimeMs(pid);
  const result = await runOpenLoop(target, rate, seconds * 1000, pool);
  return {
    cpuPerRequest: (cpuTimeMs(pid) - cpuBefore) / result.latencies.length,
    p50: percentile(result.latencies, 50),
    p90: percentile(result.latencies, 90),
    p99: percentile(result.latencies, 99),
    rps: result.achievedRate,
    errors: result.errors,
  };
}

/** Each figure's median over rounds (taken figure by figure). */
export function median(list: readonly Figures[]): Figures {
  const pick = (key: keyof Figures) => {
    const sorted = list.map((f) => f[key]).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? 0;
  };
  return { cpuPerRequest: pick("cpuPerRequest"), p50: pick("p50"), p90: pick("p90"), p99: pick("p99"), rps: pick("rps"), errors: pick("errors") };
}

/** Milliseconds, right-aligned for tables. */
export function fmt(ms: number): string {
  return ms.toFixed(3).padStart(8);
}
