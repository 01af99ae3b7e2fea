/**
 * Budget accounting at scale, and what the budget step costs.
 *
 * 1. Accuracy: three gateway processes share one Redis; thousands of concurrent chat completions
 *    (half streamed, some asking for usage themselves) run against a small shared token budget.
 *    Prints overspend (settled usage above the limit), lost (usage the provider reported that was not
 *    settled) and double-counted (settled above what the provider reported), which should all be 0.
 * 2. Cost: the same gateway configuration with and without a budget that applies, side by side at a
 *    fixed rate (interleaved): latency, gateway CPU per request, and Redis calls and Redis CPU time per
 *    request (from Redis's own command statistics).
 *
 *   npm run loadtest:budgets            # BUDGET_REQUESTS=3000 BUDGET_CONCURRENCY=300 BUDGET_RATE=300 BUDGET_SECONDS=8
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Agent, request } from "undici";
import { BudgetBook } from "../apps/gateway/src/budget/budget-book.ts";
import { RedisBudgetStore } from "../apps/gateway/src/budget/redis-store.ts";
import { budgetSchema } from "../apps/gateway/src/config/budgets-schema.ts";
import { ensureQuickstartPki } from "../apps/gateway/src/identity/quickstart-pki.ts";
import { cpuTimeMs, freePort, startGatewayProcess, startUpstreamProcess } from "../apps/gateway/test/harness/gateway-processes.ts";
import { startRedisServer } from "../apps/gateway/test/harness/redis-servers.ts";
import { agentTls, benchmarkGatewayConfig, customerSupport, demoChatRoute } from "./support/gateway-config.ts";
import { connectionPool, type OpenLoopTarget, percentile, runOpenLoop } from "./support/open-loop.ts";

const run = promisify(execFile);
const total = Number(process.env.BUDGET_REQUESTS ?? 3000);
const concurrency = Number(process.env.BUDGET_CONCURRENCY ?? 300);
const rate = Number(process.env.BUDGET_RATE ?? 300);
const seconds = Number(process.env.BUDGET_SECONDS ?? 8);
const apiKey = "sk-budget-bench";
const agent = customerSupport;
const tokenLimit = 60_000;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tollgate-budget-bench-"));
  const redis = await startRedisServer();
  const upstream = await startUpstreamProcess(apiKey);
  await ensureQuickstartPki(join(dir, "pki"), {
    trustDomain: "ai.company.org",
    gateway: { spiffeId: "spiffe://ai.company.org/service/tollgate", dnsNames: ["localhost"] },
    identities: { "customer-support": agent },
    ttl: 3600_000,
  });
  const tls = await agentTls(dir);
  const gateway = async (name: string, budgets: string) => {
    const [port, health] = [await freePort(), await freePort()];
    await writeFile(
      join(dir, `${name}.yaml`),
      `${benchmarkGatewayConfig({ dir, dataDir: `${dir}/${name}`, dataPort: port, healthPort: health })}${demoChatRoute(upstream.url, apiKey)}budgets:
  store: { kind: redis, url: "${redis.url}", key_prefix: bench }
${budgets}
# Off here, to measure the budget step alone (loadtest:llm measures the whole path, audit included).
audit: { enabled: false }
telemetry: { log_level: warn }
`,
    );
    const child = await startGatewayProcess(join(dir, `${name}.yaml`), `http://127.0.0.1:${health}`, dir);
    return { child, origin: `https://localhost:${port}` };
  };
  const limited = `  limits: [{ name: team, split: shared, window: day, limits: { total_tokens: ${tokenLimit} } }]`;
  const replicas = await Promise.all([0, 1, 2].map((i) => gateway(`replica-${i}`, limited)));

  try {
    console.log(`Budget accounting: ${total} requests, ${concurrency} at a time, over 3 gateway processes sharing one Redis`);
    console.log(`shared budget: ${tokenLimit} total tokens a day; half the requests streamed, a quarter asking for usage themselves\n`);
    const dispatcher = new Agent({ connections: 128, connect: tls });
    const body = (i: number) =>
      JSON.stringify({
        model: "demo-chat",
        messages: [{ role: "user", content: `Question ${i % 11}: where is my parcel?` }],
        max_tokens: 30 + (i % 7) * 15,
        ...(i % 2 === 0 ? { stream: true } : {}),
        ...(i % 4 === 0 ? { stream_options: { include_usage: true } } : {}),
      });
    const reported = new Map<string, number>();
    const usageOf = async (i: number) => {
      const key = `${i % 11}/${i % 7}`;
      let tokens = reported.get(key);
      if (tokens === undefined) {
        const direct = await request(`${upstream.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
          body: JSON.stringify({ model: "demo-chat", messages: [{ role: "user", content: `Question ${i % 11}: where is my parcel?` }], max_tokens: 30 + (i % 7) * 15 }),
        });
        const answer = (await direct.body.json()) as { usage: { total_tokens: number } };
        tokens = answer.usage.total_tokens;
        reported.set(key, tokens);
      }
      return tokens;
    };
    let next = 0;
    let served = 0;
    let refused = 0;
    let other = 0;
    let expected = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (;;) {
          const i = next++;
          if (i >= total) return;
          const replica = replicas[i % 3] as (typeof replicas)[number];
          const response = await request(`${replica.origin}/v1/chat/completions`, { method: "POST", dispatcher, headers: { "content-type": "application/json" }, body: body(i) });
          await response.body.text();
          if (response.statusCode === 200) {
            served++;
            // Not "expected += await ...": that reads `expected` before awaiting and loses concurrent additions.
            const tokens = await usageOf(i);
            expected += tokens;
          } else if (response.statusCode === 429) refused++;
          else other++;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const store = new RedisBudgetStore({ url: redis.url, keyPrefix: "bench", timeoutMs: 2000 });
    await store.ready();
    const book = new BudgetBook([budgetSchema.parse({ name: "team", split: "shared", window: "day", limits: { total_tokens: tokenLimit } })]);
    const counters = book.counters(book.definitions(), agent, { costMicroUsd: 0, inputTokens: 0, outputTokens: 0, requests: 0 }, Date.now());
    let snapshot = (await store.snapshot(counters, Date.now()))[0];
    while (snapshot !== undefined && snapshot.reserved.some((v) => v !== 0)) snapshot = (await store.snapshot(counters, Date.now()))[0];
    await store.close();
    const settled = snapshot?.used[3] ?? 0;
    console.log(`served ${served}, refused 429 ${refused}, other ${other}, in ${elapsed.toFixed(1)} s`);
    console.log(`limit ${tokenLimit}, settled ${settled}, reported by the provider for the served requests ${expected}`);
    console.log(`overspend      ${Math.max(0, settled - tokenLimit)} tokens`);
    console.log(`lost           ${Math.max(0, expected - settled)} tokens`);
    console.log(`double-counted ${Math.max(0, settled - expected)} tokens\n`);
    await dispatcher.close();
  } finally {
    for (const replica of replicas) await replica.child.stop();
  }

  // 2. The cost of the budget step: the same gateway with and without a budget that applies.
  const roomy = `  limits: [{ name: roomy, split: per_agent, window: month, limits: { total_tokens: 1000000000, requests: 1000000000 } }, { name: rpm, split: shared, rate: { requests_per_minute: 10000000 } }]`;
  const withBudgets = await gateway("with-budgets", roomy);
  const without = await gateway("without-budgets", "  limits: []");
  try {
    const target = (origin: string): OpenLoopTarget => ({
      origin,
      path: "/v1/chat/completions",
      headers: {},
      body: JSON.stringify({ model: "demo-chat", messages: [{ role: "user", content: "Where is my parcel?" }], max_tokens: 64 }),
      tls,
    });
    const pools = { with: connectionPool(target(withBudgets.origin)), without: connectionPool(target(without.origin)) };
    for (const [name, g] of [["with", withBudgets], ["without", without]] as const) await runOpenLoop(target(g.origin), rate, 2000, pools[name]);
    const stats = async () => {
      const { stdout } = await run("redis-cli", ["-p", String(redis.port), "info", "commandstats"]);
      let calls = 0;
      let usec = 0;
      for (const line of stdout.split("\n")) {
        // Round trips are the scripts a gateway sends; their time includes the commands they run.
        const match = /^cmdstat_(evalsha|eval):calls=(\d+),usec=(\d+)/.exec(line.trim());
        if (match !== null) {
          calls += Number(match[2]);
          usec += Number(match[3]);
        }
      }
      return { calls, usec };
    };
    const rows: string[] = [];
    for (let round = 0; round < 2; round++) {
      for (const [name, g] of [["without", without], ["with", withBudgets]] as const) {
        const cpu = cpuTimeMs(g.child.process.pid as number);
        const before = await stats();
        const result = await runOpenLoop(target(g.origin), rate, seconds * 1000, pools[name]);
        const after = await stats();
        const n = result.latencies.length;
        rows.push(
          `${(name === "with" ? "with budgets" : "no budget applies").padEnd(18)} p50 ${percentile(result.latencies, 50).toFixed(3)} ms  p99 ${percentile(result.latencies, 99).toFixed(3)} ms  ` +
            `gateway CPU ${((cpuTimeMs(g.child.process.pid as number) - cpu) / n).toFixed(3)} ms/req  ` +
            `Redis ${((after.calls - before.calls) / n).toFixed(2)} round trips/req, ${((after.usec - before.usec) / n).toFixed(1)} µs/req in Redis  errors ${result.errors}`,
        );
      }
    }
    console.log(`The cost of the budget step at ${rate} req/s (${seconds} s per run, interleaved):`);
    for (const row of rows) console.log(row);
    await Promise.all(Object.values(pools).map((p) => p.close()));
  } finally {
    await withBudgets.child.stop();
    await without.child.stop();
    await upstream.stop();
    await redis.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
