/**
 * The latency Tollgate adds to a chat completion, at fixed request rates.
 *
 * One run measures, side by side and interleaved (direct, gateway, direct, gateway, ...), the same
 * local upstream (the demo provider, in its own process) called directly over plain HTTP, and called
 * through the gateway (in its own process) over mutual TLS with SPIFFE authentication, OPA
 * authorization, routing and usage accounting. It prints p50/p90/p99 for both and the difference, for
 * non-streamed and streamed (SSE) chat completions. The machine is shared and noisy: read the
 * differences and ratios of one run, not absolute numbers across runs.
 *
 *   npm run loadtest:llm                      # defaults: rates 100,400,800 req/s, 8 s per measurement
 *   LOADTEST_RATES=200,1000 LOADTEST_SECONDS=15 npm run loadtest:llm
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fmt, type Figures, measure, median } from "./support/figures.ts";
import { agentTls, benchmarkGatewayConfig, demoChatRoute } from "./support/gateway-config.ts";
import { connectionPool, newConnectionLatencies, type OpenLoopTarget, percentile } from "./support/open-loop.ts";
import type { Agent } from "undici";
import { freePort, startGatewayProcess, startUpstreamProcess } from "../apps/gateway/test/harness/gateway-processes.ts";

const run = promisify(execFile);
const rates = (process.env.LOADTEST_RATES ?? "100,200,400").split(",").map(Number);
const seconds = Number(process.env.LOADTEST_SECONDS ?? 8);
const rounds = Number(process.env.LOADTEST_ROUNDS ?? 2);
const apiKey = "sk-loadtest-upstream";

const chatBody = (stream: boolean) =>
  JSON.stringify({
    model: "demo-chat",
    messages: [
      { role: "system", content: "You are a support agent for an online shop." },
      { role: "user", content: "My parcel has not arrived yet. Can you check order 12345 for me?" },
    ],
    max_tokens: 256,
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "tollgate-loadtest-"));
  // Every request writes its audit row, as in production: to a PostgreSQL database of its own.
  const database = `tollgate_bench_${process.pid}`;
  await run("createdb", ["-h", "127.0.0.1", "-U", "postgres", database]);
  const upstream = await startUpstreamProcess(apiKey);
  const [dataPort, healthPort] = [await freePort(), await freePort()];
  const config = `${benchmarkGatewayConfig({ dir: work, dataPort, healthPort, devCa: true })}${demoChatRoute(upstream.url, apiKey)}
audit:
  database: { kind: postgres, url: "postgresql://postgres@127.0.0.1:5432/${database}" }
telemetry:
  log_level: info
`;
  await writeFile(join(work, "tollgate.yaml"), config);
  const gateway = await startGatewayProcess(join(work, "tollgate.yaml"), `http://127.0.0.1:${healthPort}`, work);
  const gatewayPid = gateway.process.pid as number;
  const upstreamPid = upstream.process.pid as number;
  const tls = await agentTls(work);
  const target = (name: "direct" | "gateway", stream: boolean): OpenLoopTarget =>
    name === "direct"
      ? { origin: upstream.url, path: "/v1/chat/completions", headers: { authorization: `Bearer ${apiKey}` }, body: chatBody(stream) }
      : { origin: `https://localhost:${dataPort}`, path: "/v1/chat/completions", headers: {}, body: chatBody(stream), tls };

  try {
    console.log(`Tollgate LLM latency benchmark: open loop at fixed rates, ${seconds}s per measurement, ${rounds} interleaved rounds`);
    console.log(`node ${process.version}, upstream: demo provider (own process), gateway: tollgate serve (own process)\n`);
    // One keep-alive pool per path, as an agent's SDK keeps, warmed up (JIT, pools, caches) first.
    const pools = { direct: connectionPool(target("direct", false)), gateway: connectionPool(target("gateway", false)) };
    for (const name of ["direct", "gateway"] as const) await measure(target(name, false), Math.max(...rates), 3, pools[name], upstreamPid);

    const header = "scenario        rate/s   path      p50 ms   p90 ms   p99 ms    rps   errors   cpu ms/req";
    console.log(header);
    console.log("-".repeat(header.length));
    const summary: string[] = [];
    for (const stream of [false, true]) {
      for (const rate of rates) {
        const results: Record<"direct" | "gateway", Figures[]> = { direct: [], gateway: [] };
        for (let round = 0; round < rounds; round++) {
          for (const name of ["direct", "gateway"] as const) results[name].push(await measure(target(name, stream), rate, seconds, pools[name], name === "gateway" ? gatewayPid : upstreamPid));
        }
        const direct = median(results.direct);
        const viaGateway = median(results.gateway);
        const scenario = stream ? "chat (SSE)" : "chat (JSON)";
        for (const [name, f] of [["direct", direct], ["gateway", viaGateway]] as const) {
          console.log(
            `${scenario.padEnd(15)} ${String(rate).padStart(6)}   ${name.padEnd(8)} ${fmt(f.p50)} ${fmt(f.p90)} ${fmt(f.p99)} ${String(Math.round(f.rps)).padStart(6)} ${String(f.errors).padStart(8)} ${fmt(f.cpuPerRequest)} (${name === "direct" ? "upstream" : "gateway"})`,
          );
        }
        summary.push(
          `${scenario.padEnd(15)} ${String(rate).padStart(6)}   added p50 ${fmt(viaGateway.p50 - direct.p50)} ms   added p99 ${fmt(viaGateway.p99 - direct.p99)} ms   p50 ratio ${(viaGateway.p50 / Math.max(direct.p50, 0.001)).toFixed(2)}x   gateway CPU ${fmt(viaGateway.cpuPerRequest)} ms/req`,
        );
      }
    }
    console.log("\nLatency added by the gateway (median of rounds):");
    for (const line of summary) console.log(line);

    // A new connection costs a TLS handshake with client certificate and one SVID verification.
    const fresh = { direct: await newConnectionLatencies(target("direct", false), 50), gateway: await newConnectionLatencies(target("gateway", false), 50) };
    console.log("\nFirst request on a new connection (50 sequential connections):");
    for (const name of ["direct", "gateway"] as const) {
      console.log(`${name.padEnd(8)} p50 ${fmt(percentile(fresh[name], 50))} ms   p99 ${fmt(percentile(fresh[name], 99))} ms`);
    }
    await Promise.all(Object.values(pools).map((pool: Agent) => pool.close()));
  } finally {
    await gateway.stop();
    await upstream.stop();
    await rm(work, { recursive: true, force: true });
    await run("dropdb", ["-h", "127.0.0.1", "-U", "postgres", "--if-exists", database]);
  }
}

await main();
