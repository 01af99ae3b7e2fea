/**
 * The latency Tollgate adds to an MCP tools/call, at fixed request rates.
 *
 * One run measures, side by side and interleaved (direct, gateway, direct, gateway, ...), the demo MCP
 * server `tickets` (the SDK's McpServer, in its own process) called directly over plain HTTP with its
 * bearer token, and called through the gateway (in its own process) over mutual TLS: SVID
 * authentication, the JSON-RPC body parsed, the policy asked about the tool by name, the session id
 * unsealed, the request forwarded with the gateway's token, and the answer's SSE events inspected as
 * they pass. Two shapes of the same call:
 *
 *  - 2025-11-25: within a session (Mcp-Session-Id), the answer an SSE stream (priming event, result);
 *  - 2026-07-28: stateless, mirrored headers checked against the body, the answer one JSON object.
 *
 * The machine is shared and noisy: read the differences and ratios of one run, not absolute numbers.
 *
 *   npm run loadtest:mcp                       # defaults: rates 100,200,400 req/s, 8 s per measurement
 *   LOADTEST_RATES=200 LOADTEST_SECONDS=15 npm run loadtest:mcp
 *   LOADTEST_AUDIT=off npm run loadtest:mcp    # without the audit trail (PGlite in the gateway's process)
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { type Agent, request } from "undici";
import { freePort, startGatewayProcess } from "../apps/gateway/test/harness/gateway-processes.ts";
import { fmt, type Figures, measure, median } from "./support/figures.ts";
import { agentTls, benchmarkGatewayConfig } from "./support/gateway-config.ts";
import { connectionPool, type OpenLoopTarget } from "./support/open-loop.ts";

const rates = (process.env.LOADTEST_RATES ?? "100,200,400").split(",").map(Number);
const seconds = Number(process.env.LOADTEST_SECONDS ?? 8);
const rounds = Number(process.env.LOADTEST_ROUNDS ?? 2);
const token = "mcp-loadtest-upstream-token";
const legacyVersion = "2025-11-25";
const modernVersion = "2026-07-28";

type Path = "direct" | "gateway";
type Scenario = "legacy" | "modern";

let nextId = 1;
const toolCall = (meta: Record<string, unknown> | undefined) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id: nextId++,
    method: "tools/call",
    params: { name: "get_ticket", arguments: { id: "T-1001" }, ...(meta === undefined ? {} : { _meta: meta }) },
  });
const modernMeta = { "io.modelcontextprotocol/protocolVersion": modernVersion, "io.modelcontextprotocol/clientCapabilities": {} };

async function startUpstream(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, [join(import.meta.dirname, "support", "mcp-upstream-main.ts"), token], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: proc.stdout });
  for await (const line of lines) {
    const message = JSON.parse(line) as { url?: string };
    if (message.url === undefined) continue;
    lines.close();
    return {
      url: message.url,
      pid: proc.pid as number,
      stop: async () => {
        if (proc.exitCode !== null) return;
        proc.kill("SIGTERM");
        await once(proc, "exit");
      },
    };
  }
  throw new Error("the MCP server exited before it listened");
}

/** Opens a 2025-11-25 session on a path (initialize, then initialized), as an SDK client does. */
async function openSession(origin: string, path: string, pool: Agent, headers: Record<string, string>): Promise<string> {
  const accept = "application/json, text/event-stream";
  const init = await request(`${origin}${path}`, {
    dispatcher: pool,
    method: "POST",
    headers: { ...headers, "content-type": "application/json", accept },
    body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: legacyVersion, capabilities: {}, clientInfo: { name: "loadtest", version: "1" } } }),
  });
  await init.body.dump();
  const session = init.headers["mcp-session-id"];
  if (init.statusCode !== 200 || typeof session !== "string") throw new Error(`initialize failed on ${origin}: HTTP ${init.statusCode}`);
  const initialized = await request(`${origin}${path}`, {
    dispatcher: pool,
    method: "POST",
    headers: { ...headers, "content-type": "application/json", accept, "mcp-session-id": session, "mcp-protocol-version": legacyVersion },
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
  });
  await initialized.body.dump();
  return session;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "tollgate-mcp-loadtest-"));
  const upstream = await startUpstream();
  const [dataPort, healthPort] = [await freePort(), await freePort()];
  await writeFile(
    join(work, "tollgate.yaml"),
    `${benchmarkGatewayConfig({ dir: work, dataPort, healthPort, devCa: true })}mcp:
  session_keys: ["${Buffer.alloc(32, 7).toString("base64")}"]
  servers:
    tickets:
      target: spiffe://ai.company.org/mcp/tickets
      url: ${upstream.url}
      auth: { kind: bearer, token: ${token} }
telemetry:
  log_level: info
${process.env.LOADTEST_AUDIT === "off" ? "audit: { enabled: false }\n" : ""}`,
  );
  const gateway = await startGatewayProcess(join(work, "tollgate.yaml"), `http://127.0.0.1:${healthPort}`, work);
  const gatewayPid = gateway.process.pid as number;
  const tls = await agentTls(work);
  const upstreamUrl = new URL(upstream.url);
  const endpoints: Record<Path, { origin: string; path: string; headers: Record<string, string>; tls?: typeof tls }> = {
    direct: { origin: upstreamUrl.origin, path: upstreamUrl.pathname, headers: { authorization: `Bearer ${token}` } },
    gateway: { origin: `https://localhost:${dataPort}`, path: "/mcp/tickets", headers: {}, tls },
  };

  try {
    console.log(`Tollgate MCP latency benchmark: tools/call, open loop at fixed rates, ${seconds}s per measurement, ${rounds} interleaved rounds`);
    console.log(
      `node ${process.version}, MCP server: demo tickets (SDK McpServer, own process), gateway: tollgate serve (own process), audit ${process.env.LOADTEST_AUDIT === "off" ? "off" : "on (embedded PGlite)"}\n`,
    );
    const pools: Record<Path, Agent> = {
      direct: connectionPool({ ...endpoints.direct, body: "" }),
      gateway: connectionPool({ ...endpoints.gateway, body: "" }),
    };
    const sessions: Record<Path, string> = {
      direct: await openSession(endpoints.direct.origin, endpoints.direct.path, pools.direct, endpoints.direct.headers),
      gateway: await openSession(endpoints.gateway.origin, endpoints.gateway.path, pools.gateway, endpoints.gateway.headers),
    };
    const target = (path: Path, scenario: Scenario): OpenLoopTarget => {
      const endpoint = endpoints[path];
      const headers =
        scenario === "legacy"
          ? { ...endpoint.headers, accept: "application/json, text/event-stream", "mcp-session-id": sessions[path], "mcp-protocol-version": legacyVersion }
          : { ...endpoint.headers, accept: "application/json, text/event-stream", "mcp-protocol-version": modernVersion, "mcp-method": "tools/call", "mcp-name": "get_ticket" };
      return {
        origin: endpoint.origin,
        path: endpoint.path,
        headers,
        body: () => toolCall(scenario === "legacy" ? undefined : modernMeta),
        ...(endpoint.tls === undefined ? {} : { tls: endpoint.tls }),
      };
    };
    // Warm up both paths (JIT, pools, caches).
    for (const path of ["direct", "gateway"] as const) {
      for (const scenario of ["legacy", "modern"] as const) await measure(target(path, scenario), Math.max(...rates), 2, pools[path], upstream.pid);
    }

    const header = "scenario                 rate/s   path      p50 ms   p90 ms   p99 ms    rps   errors   cpu ms/req";
    console.log(header);
    console.log("-".repeat(header.length));
    const summary: string[] = [];
    for (const scenario of ["legacy", "modern"] as const) {
      const label = scenario === "legacy" ? "2025-11-25 session SSE" : "2026-07-28 JSON";
      for (const rate of rates) {
        const results: Record<Path, Figures[]> = { direct: [], gateway: [] };
        for (let round = 0; round < rounds; round++) {
          for (const path of ["direct", "gateway"] as const) {
            results[path].push(await measure(target(path, scenario), rate, seconds, pools[path], path === "gateway" ? gatewayPid : upstream.pid));
          }
        }
        const direct = median(results.direct);
        const viaGateway = median(results.gateway);
        for (const [path, f] of [["direct", direct], ["gateway", viaGateway]] as const) {
          console.log(
            `${label.padEnd(24)} ${String(rate).padStart(6)}   ${path.padEnd(8)} ${fmt(f.p50)} ${fmt(f.p90)} ${fmt(f.p99)} ${String(Math.round(f.rps)).padStart(6)} ${String(f.errors).padStart(8)} ${fmt(f.cpuPerRequest)} (${path === "direct" ? "server" : "gateway"})`,
          );
        }
        summary.push(
          `${label.padEnd(24)} ${String(rate).padStart(6)}   added p50 ${fmt(viaGateway.p50 - direct.p50)} ms   added p99 ${fmt(viaGateway.p99 - direct.p99)} ms   gateway CPU ${fmt(viaGateway.cpuPerRequest)} ms/req`,
        );
      }
    }
    console.log("\nLatency added by the gateway to a tools/call (median of rounds):");
    for (const line of summary) console.log(line);
    await Promise.all(Object.values(pools).map((pool) => pool.close()));
  } finally {
    await gateway.stop();
    await upstream.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
