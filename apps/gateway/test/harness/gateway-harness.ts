/**
 * A real gateway for end-to-end tests: real TLS with certificates from the development CA, the real
 * opa building a copy of the shipped policies, and local upstreams that speak OpenAI's and
 * Anthropic's wire formats (the demo provider, with fault injection). Clients are the official SDKs
 * with the agent's SVID as client certificate.
 */
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import Anthropic from "@anthropic-ai/sdk";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import OpenAI from "openai";
import { Agent, FormData as UndiciFormData, fetch as undiciFetch } from "undici";
import { quickstartIdentities, shippedPolicyDir } from "../../src/config/embedded.ts";
import { type Config, type ConfigInput, configSchema } from "../../src/config/schema.ts";
import { type DemoProvider, startDemoProvider } from "../../src/demo/demo-provider.ts";
import { type RunningGateway, startGateway } from "../../src/server/gateway.ts";
import { createLogger } from "../../src/telemetry/logger.ts";

export type Identity = keyof typeof quickstartIdentities;

/** The key the gateway holds for the upstreams, which must never reach a caller. */
export const upstreamKey = "sk-proj-UPSTREAM-secret-key-0123456789abcdef";
/** What an agent's SDK sends as its API key, which must never reach a provider. */
export const agentKey = "sk-agent-side-key-that-must-not-travel";

export interface HarnessOptions {
  /** Adjusts the configuration before it is validated. */
  configure?: (config: ConfigInput, upstreams: readonly DemoProvider[]) => void;
  /** How many local upstreams to start (default 2: a primary and a fallback). */
  upstreams?: number;
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
  spans: InMemorySpanExporter;
  /** Every log line the gateway wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  /** An undici dispatcher presenting the identity's SVID (undefined: no client certificate). */
  dispatcher(identity?: Identity | { certPem: string; keyPem: string }): Agent;
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
  const upstreams = await Promise.all(
    Array.from({ length: options.upstreams ?? 2 }, () => startDemoProvider({ apiKey: upstreamKey, anthropicApiKey: upstreamKey })),
  );
  const pkiDir = join(dataDir, "pki");
  const input: ConfigInput = {
    data_dir: dataDir,
    server: { listen: { host: "127.0.0.1", port: 0 }, health: { host: "127.0.0.1", port: 0 } },
    identity: {
      svid: { cert: join(pkiDir, "gateway.pem"), key: join(pkiDir, "gateway-key.pem") },
      bundles: { "ai.company.org": join(pkiDir, "ca.pem") },
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
  };
  options.configure?.(input, upstreams);
  const config = configSchema.parse(input);

  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim() !== "") logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const spans = new InMemorySpanExporter();
  const gateway = await startGateway({
    config,
    logger: createLogger(config.telemetry.log_level, "tollgate-test", sink),
    spanExporter: spans,
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
    spans,
    logs,
    dispatcher,
    fetch: (identity, path, init) => {
      const agent = identity === undefined ? dispatcher(undefined) : cached(identity);
      return undiciFetch(`${url}${path}`, { ...init, dispatcher: agent });
    },
    openai: (identity) => new OpenAI({ baseURL: `${url}/v1`, apiKey: agentKey, fetch: sdkFetch(cached(identity)), maxRetries: 0 }),
    anthropic: (identity) => new Anthropic({ baseURL: url, apiKey: agentKey, fetch: sdkFetch(cached(identity)), maxRetries: 0 }),
    close: async () => {
      await Promise.all(dispatchers.map((d) => d.close()));
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
