/**
 * Where the gateway's CPU goes: runs `tollgate serve` under V8's CPU profiler, drives chat completions
 * at a fixed rate through it, and prints the functions that took the most time (inclusive and self)
 * during the measured run, start-up and warm-up excluded. The raw profile is kept for Chrome DevTools or speedscope.
 *
 *   npm run loadtest:profile              # PROFILE_RATE=300 PROFILE_SECONDS=10 PROFILE_STREAM=0
 */
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ensureQuickstartPki } from "../apps/gateway/src/identity/quickstart-pki.ts";
import { freePort, repoRoot, startUpstreamProcess } from "../apps/gateway/test/harness/gateway-processes.ts";
import { agentTls, benchmarkGatewayConfig, customerSupport, demoChatRoute } from "./support/gateway-config.ts";
import { connectionPool, percentile, runOpenLoop } from "./support/open-loop.ts";

const run = promisify(execFile);
const rate = Number(process.env.PROFILE_RATE ?? 300);
const seconds = Number(process.env.PROFILE_SECONDS ?? 10);
const stream = process.env.PROFILE_STREAM === "1";
const apiKey = "sk-profile";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tollgate-profile-"));
  const database = `tollgate_profile_${process.pid}`;
  await run("createdb", ["-h", "127.0.0.1", "-U", "postgres", database]);
  const upstream = await startUpstreamProcess(apiKey);
  await ensureQuickstartPki(join(dir, "pki"), {
    trustDomain: "ai.company.org",
    gateway: { spiffeId: "spiffe://ai.company.org/service/tollgate", dnsNames: ["localhost"] },
    identities: { "customer-support": customerSupport },
    ttl: 3600_000,
  });
  const [port, health] = [await freePort(), await freePort()];
  await writeFile(
    join(dir, "tollgate.yaml"),
    `${benchmarkGatewayConfig({ dir, dataPort: port, healthPort: health })}${demoChatRoute(upstream.url, apiKey)}audit: { database: { kind: postgres, url: "postgresql://postgres@127.0.0.1:5432/${database}" } }
`,
  );
  const profiles = join(dir, "profiles");
  const gateway = spawn(
    process.execPath,
    ["--cpu-prof", `--cpu-prof-dir=${profiles}`, join(repoRoot, "apps/gateway/src/cli/main.ts"), "serve", "--config", join(dir, "tollgate.yaml")],
    { cwd: dir, stdio: ["ignore", "ignore", "inherit"] },
  );
  try {
    for (;;) {
      const ready = await fetch(`http://127.0.0.1:${health}/readyz`).then((r) => r.ok, () => false);
      if (ready) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const target = {
      origin: `https://localhost:${port}`,
      path: "/v1/chat/completions",
      headers: {},
      body: JSON.stringify({ model: "demo-chat", messages: [{ role: "user", content: "Where is my parcel?" }], max_tokens: 64, ...(stream ? { stream: true } : {}) }),
      tls: await agentTls(dir),
    };
    const pool = connectionPool(target);
    await runOpenLoop(target, rate, 2000, pool);
    const result = await runOpenLoop(target, rate, seconds * 1000, pool);
    await pool.close();
    console.log(`${result.latencies.length} ${stream ? "streamed " : ""}chat completions at ${rate}/s: p50 ${percentile(result.latencies, 50).toFixed(3)} ms, p99 ${percentile(result.latencies, 99).toFixed(3)} ms, errors ${result.errors}`);
    gateway.kill("SIGINT");
    await once(gateway, "exit");
    const [file] = await readdir(profiles);
    if (file === undefined) throw new Error("no profile was written");
    summarize(JSON.parse(await readFile(join(profiles, file), "utf8")), seconds);
    console.log(`\nprofile: ${join(profiles, file)} (open in Chrome DevTools > Performance, or speedscope)`);
  } finally {
    if (gateway.exitCode === null) gateway.kill("SIGKILL");
    await upstream.stop();
    await run("dropdb", ["-h", "127.0.0.1", "-U", "postgres", "--if-exists", database]);
  }
}

/** Prints the heaviest functions over the measured part of the profile, inclusive and self. */
function summarize(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }, measuredSeconds: number): void {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const label = (node: ProfileNode) => `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.split("/").slice(-2).join("/")}:${node.callFrame.lineNumber + 1}`;
  const inclusive = new Map<string, number>();
  const self = new Map<string, number>();
  let busy = 0;
  let at = profile.startTime;
  // Profile times are monotonic microseconds: the measured run is the last `measuredSeconds` before the
  // gateway was stopped (shutdown itself takes a moment, counted in the margin).
  const from = profile.endTime - (measuredSeconds + 0.5) * 1_000_000;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    const node = nodes.get(id);
    if (node === undefined || at < from || node.callFrame.functionName === "(idle)") return;
    busy++;
    self.set(label(node), (self.get(label(node)) ?? 0) + 1);
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const key = label(nodes.get(current) as ProfileNode);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + 1);
    }
  });
  const top = (map: Map<string, number>, count: number) =>
    [...map.entries()]
      .filter(([key]) => !key.startsWith("(root)") && !key.startsWith("(program)"))
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([key, n]) => `${((100 * n) / busy).toFixed(1).padStart(5)}%  ${key}`);
  console.log(`\nbusy samples: ${busy}\n\ninclusive (a function and what it calls):`);
  for (const line of top(inclusive, 30)) console.log(line);
  console.log("\nself:");
  for (const line of top(self, 20)) console.log(line);
}

await main();
