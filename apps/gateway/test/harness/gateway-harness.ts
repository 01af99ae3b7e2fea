/**
 * A real gateway for end-to-end tests: real TLS with certificates from the development CA, the real
 * opa building a copy of the shipped policies, and local upstreams that speak OpenAI's and
 * Anthropic's wire formats (the demo provider, with fault injection). Clients are the official SDKs
 * with the agent's SVID as client certificate.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { TLSSocket } from "node:tls";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { Agent, buildConnector, Client, FormData as UndiciFormData, fetch as undiciFetch } from "undici";
import { quickstartIdentities, shippedPolicyDir } from "../../src/config/embedded.ts";
import { type Config, type ConfigInput, configSchema } from "../../src/config/schema.ts";
import { type DemoProvider, startDemoProvider } from "../../src/demo/demo-provider.ts";
import { type RunningGateway, startGateway } from "../../src/server/gateway.ts";
import { createLogger } from "../../src/telemetry/logger.ts";
import { ObservedSpanExporter } from "./observed-span-exporter.ts";

export type Identity = keyof typeof quickstartIdentities;

/** The key the gateway holds for the upstreams, which must never reach a caller. */
export const upstreamKey = "sk-proj-UPSTREAM-secret-key-0123456789abcdef";
/** What an agent's SDK sends as its API key, which must never reach a provider. */
export const agentKey = "sk-agent-side-key-that-must-not-travel";

/** An agent's SVID as files hold it; a dev-CA identity name stands for its files. */
export type PresentedSvid = Identity | { certPem: string; keyPem: string };

/** One keep-alive connection to the gateway, and the TLS sockets it took (one, unless it was closed). */
export interface SingleConnection {
  /** Requests go one after the other over the same connection while it stays open. */
  client: Client;
  sockets: TLSSocket[];
}

export interface HarnessOptions {
  /** Adjusts the configuration before it is validated. */
  configure?: (config: ConfigInput, upstreams: readonly DemoProvider[]) => void;
  /** How many local upstreams to start (default 2: a primary and a fallback). */
  upstreams?: number;
  /**
   * Trust bundles of further trust domains (federation), trust domain -> file content (PEM
   * certificates or a SPIFFE bundle document). Each is written to `bundleFiles[trustDomain]` and
   * configured beside the development CA's own trust domain.
   */
  bundles?: Readonly<Record<string, string>>;
  /** Grants appended to the copy of policies/data.json before the gateway starts (for test trust domains' agents, say). */
  grants?: readonly Record<string, unknown>[];
  /** The clock the gateway's budgets read (epoch ms), to cross calendar windows in tests. */
  clock?: () => number;
  /** Runs after the policies are copied into `policyDir` and before the gateway starts (to break them, say). */
  beforeStart?: (paths: { policyDir: string; dataDir: string }) => Promise<void>;
  /**
   * The audit trail and the admin API (off unless given, so other tests do not start a database):
   * `embedded` (PGlite under the test's data directory) or a PostgreSQL URL, plus any other audit
   * settings. The admin listener is then on, on a free port.
   */
  audit?: { database: "embedded" | string } & Omit<NonNullable<ConfigInput["audit"]>, "database">;
}

export interface Harness {
  gateway: RunningGateway;
  config: Config;
  /** https://127.0.0.1:PORT */
  url: string;
  upstreams: DemoProvider[];
  /** A writable copy of the shipped policies that this gateway builds and watches. */
  policyDir: string;
  dataDir: string;
  /** The development CA's directory: ca.pem, ca-key.pem, gateway.pem, NAME.pem, NAME-key.pem. */
  pkiDir: string;
  /** The bundle files of the trust domains given in `bundles`, which the gateway watches. */
  bundleFiles: Record<string, string>;
  /** Every span the gateway finished; `finishedSpan` waits for one. */
  spans: ObservedSpanExporter;
  /** Every log line the gateway wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  /**
   * The access log line ("request") of the request with this id (its `x-request-id`), once written:
   * it is written when the response is over on the gateway's side, which can be just after the
   * caller has read the response.
   */
  requestLog(requestId: string | null | undefined): Promise<Record<string, unknown>>;
  /**
   * The first request log line from index `from` on (default 0) that `matches`, waited for as an event
   * if it is not written yet: for a request whose response never reached the caller, pass
   * `h.logs.length` taken before making it.
   */
  logLine(matches: (line: Record<string, unknown>) => boolean, from?: number): Promise<Record<string, unknown>>;
  /** An undici dispatcher presenting the identity's SVID (undefined: no client certificate). */
  dispatcher(identity?: PresentedSvid): Agent;
  /** A client that keeps one connection open, presenting the identity's SVID (undefined: none). */
  connection(identity?: PresentedSvid): SingleConnection;
  /** The admin API's origin (https://127.0.0.1:PORT) when `audit` was given. */
  adminUrl: string | undefined;
  /** fetch on the admin API with the identity's SVID. */
  adminFetch(identity: Identity | undefined, path: string, init?: Parameters<typeof undiciFetch>[1]): ReturnType<typeof undiciFetch>;
  /** fetch with the identity's SVID. */
  fetch(identity: Identity | undefined, path: string, init?: Parameters<typeof undiciFetch>[1]): ReturnType<typeof undiciFetch>;
  openai(identity: Identity): OpenAI;
  anthropic(identity: Identity): Anthropic;
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dataDir = await mkdtemp(join(tmpdir(), "tollgate-e2e-"));
  const policyDir = join(dataDir, "policies");
  await cp(shippedPolicyDir, policyDir, { recursive: true });
  if (options.grants !== undefined) {
    const dataFile = join(policyDir, "data.json");
    const data = JSON.parse(await readFile(dataFile, "utf8")) as { tollgate: { grants: unknown[] } };
    data.tollgate.grants.push(...options.grants);
    await writeFile(dataFile, JSON.stringify(data, null, 2));
  }
  const bundleFiles: Record<string, string> = {};
  for (const [trustDomain, content] of Object.entries(options.bundles ?? {})) {
    const file = join(dataDir, "bundles", `${trustDomain}.bundle`);
    await mkdir(join(dataDir, "bundles"), { recursive: true });
    await writeFile(file, content);
    bundleFiles[trustDomain] = file;
  }
  await options.beforeStart?.({ policyDir, dataDir });
  const upstreams = await Promise.all(
    Array.from({ length: options.upstreams ?? 2 }, () => startDemoProvider({ apiKey: upstreamKey, anthropicApiKey: upstreamKey })),
  );
  const pkiDir = join(dataDir, "pki");
  const input: ConfigInput = {
    data_dir: dataDir,
    server: { listen: { host: "127.0.0.1", port: 0 }, health: { host: "127.0.0.1", port: 0 } },
    identity: {
      svid: { cert: join(pkiDir, "gateway.pem"), key: join(pkiDir, "gateway-key.pem") },
      bundles: { "ai.company.org": join(pkiDir, "ca.pem"), ...bundleFiles },
      dev_ca: { enabled: true, dir: pkiDir, identities: { ...quickstartIdentities } },
    },
    policy: { dir: policyDir },
    llm: {
      providers: Object.fromEntries(
        upstreams.map((upstream, i) => [
          i === 0 ? "primary" : `upstream${i + 1}`,
          {
            type: "openai-compatible" as const,
            base_url: `${upstream.url}/v1`,
            api_key: upstreamKey,
            apis: ["chat", "responses", "embeddings", "messages", "models", "files", "fine_tuning", "batches"],
          },
        ]),
      ),
      models: {
        "demo-chat": { deployments: [{ provider: "primary" }] },
        "demo-embed": { deployments: [{ provider: "primary" }] },
      },
      account_provider: "primary",
      retries: { attempts: 2, initial_backoff: 1, max_backoff: 50 },
    },
    telemetry: { log_level: "info" },
    audit: { enabled: false },
  };
  if (options.audit !== undefined) {
    const { database, ...rest } = options.audit;
    input.audit = { ...rest, database: database === "embedded" ? { kind: "embedded" } : { kind: "postgres", url: database } };
    input.admin = { enabled: true, listen: { host: "127.0.0.1", port: 0 } };
  }
  options.configure?.(input, upstreams);
  const config = configSchema.parse(input);

  const logs: Array<Record<string, unknown>> = [];
  const logWaiters: Array<{ matches: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString("utf8").split("\n")) {
        if (text.trim() === "") continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        logs.push(line);
        if (line.msg !== "request") continue;
        for (let i = logWaiters.length - 1; i >= 0; i--) {
          const waiter = logWaiters[i];
          if (waiter?.matches(line)) {
            logWaiters.splice(i, 1);
            waiter.resolve(line);
          }
        }
      }
      callback();
    },
  });
  const logLine: Harness["logLine"] = (matches, from = 0) => {
    const written = logs.slice(from).find((line) => line.msg === "request" && matches(line));
    if (written !== undefined) return Promise.resolve(written);
    return new Promise((resolve) => logWaiters.push({ matches, resolve }));
  };
  const requestLog: Harness["requestLog"] = (requestId) => {
    if (typeof requestId !== "string") return Promise.reject(new Error("the response carried no x-request-id"));
    return logLine((line) => line.reqId === requestId);
  };
  const spans = new ObservedSpanExporter();
  const gateway = await startGateway({
    config,
    logger: createLogger(config.telemetry.log_level, "tollgate-test", sink),
    spanExporter: spans,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  }).catch(async (error: unknown) => {
    await Promise.all(upstreams.map((u) => u.close()));
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  });

  const caPem = await readFile(join(pkiDir, "ca.pem"), "utf8");
  const dispatchers: Agent[] = [];
  const material = new Map<string, { certPem: string; keyPem: string }>();
  for (const name of Object.keys(quickstartIdentities)) {
    material.set(name, {
      certPem: await readFile(join(pkiDir, `${name}.pem`), "utf8"),
      keyPem: await readFile(join(pkiDir, `${name}-key.pem`), "utf8"),
    });
  }
  const dispatcher: Harness["dispatcher"] = (identity) => {
    const svid = typeof identity === "string" ? material.get(identity) : identity;
    const agent = new Agent({
      connect: { ca: caPem, servername: "localhost", ...(svid === undefined ? {} : { cert: svid.certPem, key: svid.keyPem }) },
    });
    dispatchers.push(agent);
    return agent;
  };
  const clients: Client[] = [];
  const connection: Harness["connection"] = (identity) => {
    const svid = typeof identity === "string" ? material.get(identity) : identity;
    const connect = buildConnector({ ca: caPem, servername: "localhost", ...(svid === undefined ? {} : { cert: svid.certPem, key: svid.keyPem }) });
    const sockets: TLSSocket[] = [];
    const client = new Client(gateway.dataPlaneUrl, {
      pipelining: 1,
      // Long enough that the connection outlives any test; the gateway's own keep-alive is longer still.
      keepAliveTimeout: 60_000,
      connect: (options, callback) =>
        connect(options, (error, socket) => {
          if (socket !== null) sockets.push(socket as TLSSocket);
          // undici's callback is typed as two overloads; each branch passes one of them.
          if (error !== null) callback(error, null);
          else callback(null, socket as TLSSocket);
        }),
    });
    clients.push(client);
    return { client, sockets };
  };
  const byIdentity = new Map<string, Agent>();
  const cached = (identity: Identity) => {
    let agent = byIdentity.get(identity);
    if (agent === undefined) {
      agent = dispatcher(identity);
      byIdentity.set(identity, agent);
    }
    return agent;
  };
  const url = gateway.dataPlaneUrl;
  // The SDKs build uploads with the global FormData, which undici's own fetch does not recognise:
  // copy it into undici's FormData, and let the SDKs' probe see the global Response it expects.
  const sdkFetch = (agent: Agent) =>
    Object.assign(
      (input: string | URL | Request, init?: RequestInit) => {
        const body = init?.body instanceof FormData ? toUndiciForm(init.body) : init?.body;
        return undiciFetch(input as string, { ...(init as Parameters<typeof undiciFetch>[1]), body: body as never, dispatcher: agent });
      },
      { Response: globalThis.Response },
    ) as unknown as typeof fetch;

  return {
    gateway,
    config,
    url,
    upstreams,
    policyDir,
    dataDir,
    pkiDir,
    bundleFiles,
    spans,
    logs,
    requestLog,
    logLine,
    dispatcher,
    connection,
    adminUrl: gateway.adminUrl,
    adminFetch: (identity, path, init) => {
      if (gateway.adminUrl === undefined) throw new Error("the admin API is off: start the harness with `audit`");
      const agent = identity === undefined ? dispatcher(undefined) : cached(identity);
      return undiciFetch(`${gateway.adminUrl}${path}`, { ...init, dispatcher: agent });
    },
    fetch: (identity, path, init) => {
      const agent = identity === undefined ? dispatcher(undefined) : cached(identity);
      return undiciFetch(`${url}${path}`, { ...init, dispatcher: agent });
    },
    openai: (identity) => new OpenAI({ baseURL: `${url}/v1`, apiKey: agentKey, fetch: sdkFetch(cached(identity)), maxRetries: 0 }),
    anthropic: (identity) => new Anthropic({ baseURL: url, apiKey: agentKey, fetch: sdkFetch(cached(identity)), maxRetries: 0 }),
    close: async () => {
      await Promise.all([...dispatchers, ...clients].map((d) => d.close()));
      await gateway.close();
      await Promise.all(upstreams.map((u) => u.close()));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function toUndiciForm(form: FormData): UndiciFormData {
  const copy = new UndiciFormData();
  for (const [name, value] of form.entries()) {
    if (typeof value === "string") copy.append(name, value);
    else copy.append(name, value, value.name);
  }
  return copy;
}
