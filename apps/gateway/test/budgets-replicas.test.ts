/**
 * Budgets shared by several gateway processes through one Redis: three replicas (real processes, each
 * `tollgate serve`), hundreds of concurrent requests, streamed and not, against small budgets. Settled
 * usage must never exceed a limit (the documented bound is zero when the model's tokenizer is exact
 * and the provider honours max_tokens, as here), and must equal what the provider reported: nothing
 * lost, nothing counted twice. Then a replica killed mid-request (its lease lapses) and Redis
 * restarted under load (fail closed while it is down, recovery without a restart).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetBook } from "../src/budget/budget-book.ts";
import { RedisBudgetStore } from "../src/budget/redis-store.ts";
import { budgetSchema } from "../src/config/budgets-schema.ts";
import { type DemoProvider, startDemoProvider } from "../src/demo/demo-provider.ts";
import { ensureQuickstartPki } from "../src/identity/quickstart-pki.ts";
import { type Child, freePort, repoRoot, startGatewayProcess } from "./harness/gateway-processes.ts";
import { type RedisServer, startRedisServer } from "./harness/redis-servers.ts";

const apiKey = "sk-replicas-upstream";
const team = "spiffe://ai.company.org/agent/customer-support/v2";
const limits = { total_tokens: 10_000, requests: 400 };
const budgetConfig = { name: "team-daily", split: "shared" as const, window: "day" as const, limits };

interface Replica {
  child: Child;
  url: string;
  port: number;
  healthPort: number;
}

describe("budgets across three gateway replicas sharing one Redis", () => {
  let dir: string;
  let redis: RedisServer;
  let upstream: DemoProvider;
  let replicas: Replica[] = [];
  let dispatcher: Agent;
  let store: RedisBudgetStore;

  const startReplica = async (index: number): Promise<Replica> => {
    const [port, healthPort] = [await freePort(), await freePort()];
    const file = join(dir, `replica-${index}.yaml`);
    await writeFile(
      file,
      `
data_dir: ${dir}/replica-${index}
server: { listen: { host: 127.0.0.1, port: ${port} }, health: { host: 127.0.0.1, port: ${healthPort} } }
identity:
  svid: { cert: ${dir}/pki/gateway.pem, key: ${dir}/pki/gateway-key.pem }
  bundles: { ai.company.org: ${dir}/pki/ca.pem }
policy: { dir: ${join(repoRoot, "policies")} }
llm:
  providers: { local: { type: openai-compatible, base_url: "${upstream.url}/v1", api_key: ${apiKey}, apis: [chat, messages] } }
  models: { demo-chat: { deployments: [{ provider: local }] } }
budgets:
  store: { kind: redis, url: "${redis.url}", key_prefix: replicas, timeout: 2s }
  lease: 2s
  limits:
    - { name: team-daily, split: shared, window: day, limits: { total_tokens: ${limits.total_tokens}, requests: ${limits.requests} } }
telemetry: { log_level: warn }
`,
    );
    const child = await startGatewayProcess(file, `http://127.0.0.1:${healthPort}`, dir);
    return { child, port, healthPort, url: `https://localhost:${port}` };
  };

  /** The team's counter as Redis holds it. */
  const teamCounter = async (now = Date.now()) => {
    const book = new BudgetBook([budgetSchema.parse(budgetConfig)]);
    const [counter] = book.counters(book.definitions(), team, { costMicroUsd: 0, inputTokens: 0, outputTokens: 0, requests: 0 }, now);
    const [snapshot] = await store.snapshot([counter!], now);
    return snapshot!;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tollgate-replicas-"));
    await ensureQuickstartPki(join(dir, "pki"), {
      trustDomain: "ai.company.org",
      gateway: { spiffeId: "spiffe://ai.company.org/service/tollgate", dnsNames: ["localhost"] },
      identities: { "customer-support": team },
      ttl: 3600_000,
    });
    redis = await startRedisServer();
    upstream = await startDemoProvider({ apiKey, anthropicApiKey: apiKey, requestLogLimit: 0 });
    // One at a time, each kept as soon as it runs, so that afterAll stops every started process even
    // when a later one fails to start.
    for (const index of [0, 1, 2]) replicas.push(await startReplica(index));
    dispatcher = new Agent({
      connections: 64,
      connect: {
        ca: await readFile(join(dir, "pki/ca.pem")),
        cert: await readFile(join(dir, "pki/customer-support.pem")),
        key: await readFile(join(dir, "pki/customer-support-key.pem")),
        servername: "localhost",
      },
    });
    store = new RedisBudgetStore({ url: redis.url, keyPrefix: "replicas", timeoutMs: 2000 });
    await store.ready();
  });
  afterAll(async () => {
    await dispatcher?.close();
    await store?.close();
    for (const replica of replicas) await replica.child.stop();
    await upstream?.close();
    await redis?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** A chat completion through a replica: its status and the usage the provider reported for it. */
  const call = async (replica: Replica, i: number) => {
    const stream = i % 2 === 0;
    const askUsage = i % 4 === 0;
    const body = JSON.stringify({
      model: "demo-chat",
      messages: [{ role: "user", content: `Question number ${i % 7}: where is my parcel?` }],
      max_tokens: 40 + (i % 5) * 20,
      ...(stream ? { stream: true } : {}),
      ...(askUsage ? { stream_options: { include_usage: true } } : {}),
    });
    const response = await request(`${replica.url}/v1/chat/completions`, { method: "POST", dispatcher, headers: { "content-type": "application/json" }, body });
    const text = await response.body.text();
    return { status: response.statusCode, body: text, requestBody: body };
  };

  /** What the provider reports for a request, asked of it directly (its answers are deterministic). */
  const reported = new Map<string, { prompt: number; completion: number }>();
  const usageOf = async (requestBody: string) => {
    const json = JSON.parse(requestBody) as Record<string, unknown>;
    const key = JSON.stringify([json.messages, json.max_tokens]);
    let usage = reported.get(key);
    if (usage === undefined) {
      const direct = await request(`${upstream.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ model: "demo-chat", messages: json.messages, max_tokens: json.max_tokens }),
      });
      const answer = (await direct.body.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
      usage = { prompt: answer.usage.prompt_tokens, completion: answer.usage.completion_tokens };
      reported.set(key, usage);
    }
    return usage;
  };

  it("never overspends and loses or double-counts nothing under 240 concurrent requests", async () => {
    const results = await Promise.all(Array.from({ length: 240 }, (_, i) => call(replicas[i % 3] as Replica, i)));
    const served = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    const others = results.filter((r) => r.status !== 200 && r.status !== 429);
    expect(others.map((r) => `${r.status} ${r.body.slice(0, 300)}`).slice(0, 3)).toEqual([]);
    expect(served.length + refused.length).toBe(240);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect((JSON.parse(r.body) as { error: { message: string } }).error.message).toContain('Budget "team-daily" is exhausted');

    let expectedTokens = 0;
    for (const r of served) {
      const usage = await usageOf(r.requestBody);
      expectedTokens += usage.prompt + usage.completion;
    }
    // Settlements run just after each response; wait until nothing is reserved any more.
    let counter = await teamCounter();
    while (counter.reserved.some((v) => v !== 0)) counter = await teamCounter();
    expect(counter.used[3]).toBe(expectedTokens); // nothing lost, nothing twice
    expect(counter.used[4]).toBe(served.length);
    expect(counter.used[3]).toBeLessThanOrEqual(limits.total_tokens); // never over the limit
  });

  it("lets the lease of a replica killed mid-request lapse", async () => {
    const victim = replicas[2] as Replica;
    upstream.faults.push({ kind: "hang", path: "/v1/chat/completions" });
    const arrived = upstream.nextRequest({ path: "/v1/chat/completions" });
    const hanging = call(victim, 1).catch(() => undefined);
    await arrived;
    const held = await teamCounter();
    expect(held.reserved[4]).toBe(1);
    victim.child.process.kill("SIGKILL");
    await hanging;
    // The dead replica never settles; once its lease (2 s) is over, the reservation is gone.
    const later = await teamCounter(Date.now() + 2_001);
    expect(later.reserved).toEqual([0, 0, 0, 0, 0]);
    replicas[2] = await startReplica(2);
  });

  it("fails closed while Redis restarts under load, and recovers without a restart", async () => {
    // Load on every replica for the whole restart: 12 callers in a loop until told to stop.
    let stop = false;
    const statuses: number[] = [];
    const load = Promise.all(
      Array.from({ length: 12 }, async (_, worker) => {
        for (let i = worker; !stop; i += 12) statuses.push((await call(replicas[i % 3] as Replica, i)).status);
      }),
    );
    const seen = (status: number) => statuses.filter((s) => s === status).length;
    while (seen(200) + seen(429) < 30) await new Promise((resolve) => setImmediate(resolve));
    await redis.stop();
    const downAt = statuses.length;
    while (!statuses.slice(downAt).includes(503)) await new Promise((resolve) => setImmediate(resolve));
    await redis.start();
    // Redis restarted empty; every replica finds it again on its own.
    const upAt = statuses.length;
    while (statuses.slice(upAt).filter((s) => s === 200).length < 30) await new Promise((resolve) => setImmediate(resolve));
    stop = true;
    await load;
    // Only answers the design allows: served, short of budget, or refused while the store was down.
    expect(statuses.filter((s) => s !== 200 && s !== 429 && s !== 503)).toEqual([]);
    // And each replica, on its own, is back to answering from Redis.
    for (const replica of replicas) {
      let status = 503;
      while (status === 503) status = (await call(replica, 3)).status;
      expect([200, 429]).toContain(status);
    }
    // Each replica settled its requests in the new Redis (settlements run just after the responses).
    let counter = await teamCounter();
    while (counter.reserved.some((v) => v !== 0)) counter = await teamCounter();
    expect(counter.used[4]).toBeGreaterThanOrEqual(30);
  });
});
