/**
 * The configuration file's schema: one strict zod schema, from which the TypeScript types and the
 * committed JSON Schema (docs/config.schema.json) are both derived. Unknown keys are rejected so a typo
 * never silently turns a setting off.
 */
import { z } from "zod";
import { parseUsdToMicros } from "../budget/pricing.ts";
import { budgetsSectionSchema, priceSchema } from "./budgets-schema.ts";
import { mcpSectionSchema } from "./mcp-schema.ts";
import { adminSectionSchema, auditSectionSchema } from "./audit-schema.ts";
import { byteSize, duration, spiffeIdText } from "./schema-types.ts";

const trustDomainName = z.string().regex(/^[a-z0-9._-]{1,255}$/, "must be a trust domain name such as example.org");

const listener = z.strictObject({
  host: z.string().default("0.0.0.0").describe("Address to listen on."),
  port: z.number().int().min(0).max(65535).describe("Port to listen on; 0 picks a free one."),
});

const server = z.strictObject({
  listen: listener.default({ host: "0.0.0.0", port: 8443 }).describe("The data plane: HTTPS with mutual TLS, where agents call."),
  health: listener.default({ host: "0.0.0.0", port: 8080 }).describe("Plain-HTTP probes: /healthz and /readyz."),
  dns_names: z.array(z.string().min(1)).default(["localhost"]).describe("DNS names the gateway is reached by; the development CA puts them in the gateway's SVID."),
  body_limit: byteSize.default(10 * 1024 * 1024).describe("Largest JSON request body (chat, embeddings, ...)."),
  upload_limit: byteSize.default(512 * 1024 * 1024).describe("Largest upload to /v1/files, streamed to the provider without being buffered."),
  keep_alive_timeout: duration.default(72_000).describe("How long an idle agent connection stays open."),
  shutdown_grace: duration.default(25_000).describe("How long a graceful shutdown waits for open requests before closing their connections."),
});

const svidFiles = z.strictObject({
  cert: z.string().min(1).describe("PEM file: the gateway's X.509-SVID, leaf first, then intermediates. Reloaded when it changes."),
  key: z.string().min(1).describe("PEM file: the SVID's private key (PKCS#8). Reloaded when it changes."),
});

const devCa = z.strictObject({
  enabled: z.boolean().default(false).describe("Issue SVIDs from a local development CA at start (the quickstart). Never in production."),
  dir: z.string().default(".data/pki").describe("Where the CA (ca.pem, ca-key.pem) and the SVIDs it issues are written."),
  identities: z.record(z.string().regex(/^[A-Za-z0-9._-]+$/), spiffeIdText).default({}).describe("SVIDs issued at start: file name -> SPIFFE ID."),
  ttl: duration.default(7 * 24 * 3600_000).describe("Lifetime of the SVIDs it issues; they are re-issued at start when a third of it is left."),
});

const identity = z.strictObject({
  spiffe_id: spiffeIdText.default("spiffe://ai.company.org/service/tollgate").describe("The gateway's own SPIFFE ID (its server SVID carries it)."),
  svid: svidFiles.default({ cert: ".data/pki/gateway.pem", key: ".data/pki/gateway-key.pem" }).describe("The gateway's own X.509-SVID, served to agents, as files (SPIRE's spiffe-helper or csi-driver-spiffe write them)."),
  bundles: z.record(trustDomainName, z.string().min(1)).default({ "ai.company.org": ".data/pki/ca.pem" }).describe("Trust domain -> bundle file (PEM certificates, or a SPIFFE bundle in JWK Set JSON). Never merged."),
  dev_ca: devCa.describe("A development CA for the quickstart and tests.").default({ enabled: false, dir: ".data/pki", identities: {}, ttl: 7 * 24 * 3600_000 }),
});

const policy = z
  .strictObject({
    dir: z.string().optional().describe("Rego and data files, built into a wasm bundle with the real opa, rebuilt when they change. Embedded default: the repository's policies/."),
    bundle: z.string().optional().describe("Or a bundle built elsewhere (`opa build -t wasm -e tollgate/authz/decision`), reloaded when replaced."),
    start_without_policy: z
      .boolean()
      .default(false)
      .describe(
        "Start even when no policy can be loaded (a bundle a sidecar delivers later, say): until one loads, every request is refused with 503 and /readyz says why. Default: fail at start.",
      ),
  })
  .refine((p) => !(p.dir !== undefined && p.bundle !== undefined), {
    message: "set either policy.dir (Rego sources) or policy.bundle (a built bundle), not both",
  });

export const providerTypes = ["openai", "azure-openai", "anthropic", "openai-compatible"] as const;
export type ProviderType = (typeof providerTypes)[number];

/** The client APIs a deployment can serve. */
export const llmApis = ["chat", "responses", "embeddings", "messages", "models", "files", "fine_tuning", "batches"] as const;
export type LlmApi = (typeof llmApis)[number];

const provider = z.strictObject({
  type: z.enum(providerTypes).describe("openai, azure-openai, anthropic, or openai-compatible (vLLM, Ollama, LiteLLM, ...)."),
  base_url: z.url({ protocol: /^https?$/ }).optional().describe("Base URL including the version prefix, e.g. https://api.openai.com/v1 or http://vllm:8000/v1."),
  api_key: z.string().optional().describe("The provider key, held by the gateway alone; write ${ENV_VAR} to read it from the environment."),
  api_version: z.string().optional().describe("Azure OpenAI: with api_version, deployment-style URLs (/openai/deployments/NAME/...); without, the v1 API."),
  organization: z.string().optional().describe("OpenAI: the OpenAI-Organization header."),
  project: z.string().optional().describe("OpenAI: the OpenAI-Project header."),
  apis: z.array(z.enum(llmApis)).optional().describe("Overrides which client APIs this provider serves (OpenAI-compatible servers differ)."),
  headers: z.record(z.string(), z.string()).default({}).describe("Extra headers sent to the provider (e.g. a tenant header); never the caller's."),
  connections: z.number().int().positive().default(256).describe("Connections kept open to this provider."),
});

const deployment = z.strictObject({
  provider: z.string().min(1).describe("A provider declared under llm.providers."),
  model: z.string().min(1).optional().describe("The model's name at the provider (Azure: the deployment name); defaults to the route's name."),
  weight: z.number().int().min(0).default(1).describe("Share of first attempts; 0 makes the deployment a standby, used only as a fallback."),
  timeout: duration.default(60_000).describe("Longest wait for the response headers from this deployment (default 60s)."),
  idle_timeout: duration.default(120_000).describe("Longest silence between two chunks of a streamed body (default 120s)."),
});

const model = z.strictObject({
  deployments: z.array(deployment).min(1).describe("Where the model is served, tried in order after the first (drawn by weight)."),
  owned_by: z.string().optional().describe("Shown by GET /v1/models."),
});

const retries = z.strictObject({
  attempts: z.number().int().min(0).max(10).default(2).describe("Further attempts on the same deployment after a 429, a 5xx or a connection error before the first byte."),
  initial_backoff: duration.default(200).describe("First wait before a retry; doubled each time, with jitter. A provider's retry-after wins."),
  max_backoff: duration.default(5_000).describe("Longest wait before a retry; a provider asking for longer is left for the next deployment."),
});

const llm = z.strictObject({
  target: spiffeIdText.default("spiffe://ai.company.org/service/llm-proxy").describe("The SPIFFE ID that policies see as `input.target` for every LLM route."),
  demo: z.boolean().default(false).describe("Start the built-in demo provider (models demo-chat and demo-embed) on a loopback port."),
  providers: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/), provider).default({}).describe("LLM providers by name, with the gateway's credentials for each."),
  models: z.record(z.string().min(1), model).default({}).describe("The models agents may name, each routed to one or more deployments."),
  account_provider: z.string().optional().describe("The provider that receives account-level APIs: /v1/files, /v1/fine_tuning/jobs, /v1/batches."),
  retries: retries.default({ attempts: 2, initial_backoff: 200, max_backoff: 5_000 }).describe("Retries before the first byte reaches the caller."),
});

const telemetry = z.strictObject({
  log_level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info").describe("Level of the JSON logs on stdout; info writes one line per request."),
  otlp_endpoint: z.url().optional().describe("OTLP/HTTP traces endpoint, e.g. http://otel-collector:4318/v1/traces; env OTEL_EXPORTER_OTLP_TRACES_ENDPOINT also works."),
  service_name: z.string().default("tollgate").describe("service.name of traces and the service field of logs."),
});

export const configSchema = z
  .strictObject({
    data_dir: z.string().default(".data").describe("Where the gateway keeps its state (development PKI, built policy bundles)."),
    server: server.default(server.parse({})).describe("Listeners and request limits."),
    identity: identity.default(identity.parse({})).describe("The gateway's own SVID and the trust bundles agents are verified against."),
    policy: policy.default({ start_without_policy: false }).describe("Where the OPA policy comes from."),
    llm: llm.default(llm.parse({})).describe("The LLM path: providers, models and their deployments."),
    telemetry: telemetry.default(telemetry.parse({})).describe("Logs and traces."),
    budgets: budgetsSectionSchema.default(budgetsSectionSchema.parse({})).describe("Token and cost budgets and rate limits."),
    mcp: mcpSectionSchema.default(mcpSectionSchema.parse({})).describe("MCP servers agents reach at /mcp/{server}, with per-tool authorization."),
    audit: auditSectionSchema.default(auditSectionSchema.parse({})).describe("The audit trail: where every request is recorded, and spend roll-ups."),
    admin: adminSectionSchema.default(adminSectionSchema.parse({})).describe("The operators' admin API."),
    pricing: z
      .record(z.string().min(1), priceSchema)
      .default({})
      .describe("Token prices by model name, over the built-in list prices (USD per million tokens)."),
  })
  .superRefine((config, ctx) => {
    const providers = config.llm.providers;
    for (const [name, route] of Object.entries(config.llm.models)) {
      route.deployments.forEach((d, i) => {
        if (providers[d.provider] === undefined && !(config.llm.demo && d.provider === "demo")) {
          ctx.addIssue({
            code: "custom",
            path: ["llm", "models", name, "deployments", i, "provider"],
            message: `unknown provider "${d.provider}"; declare it under llm.providers (known: ${
              Object.keys(providers).join(", ") || "none"
            })`,
          });
        }
      });
      if (route.deployments.every((d) => d.weight === 0)) {
        ctx.addIssue({
          code: "custom",
          path: ["llm", "models", name, "deployments"],
          message: "every deployment has weight 0; give at least one a positive weight",
        });
      }
    }
    for (const [name, p] of Object.entries(providers)) {
      if (p.base_url === undefined && (p.type === "openai-compatible" || p.type === "azure-openai")) {
        ctx.addIssue({
          code: "custom",
          path: ["llm", "providers", name, "base_url"],
          message: `a provider of type ${p.type} needs base_url`,
        });
      }
    }
    const account = config.llm.account_provider;
    if (account !== undefined && providers[account] === undefined && !(config.llm.demo && account === "demo")) {
      ctx.addIssue({
        code: "custom",
        path: ["llm", "account_provider"],
        message: `unknown provider "${account}"; name one declared under llm.providers`,
      });
    }
    const budgetNames = new Set<string>();
    config.budgets.limits.forEach((budget, i) => {
      if (budgetNames.has(budget.name)) {
        ctx.addIssue({ code: "custom", path: ["budgets", "limits", i, "name"], message: `another budget is already named "${budget.name}"; names must be unique` });
      }
      budgetNames.add(budget.name);
      for (const name of budget.match.providers ?? []) {
        if (providers[name] === undefined && !(config.llm.demo && name === "demo")) {
          ctx.addIssue({ code: "custom", path: ["budgets", "limits", i, "match", "providers"], message: `unknown provider "${name}"; name one declared under llm.providers` });
        }
      }
    });
    for (const [model, price] of Object.entries(config.pricing)) {
      for (const field of ["input", "output", "cached_input", "cache_write_input"] as const) {
        const value = price[field];
        if (value === undefined) continue;
        try {
          parseUsdToMicros(value);
        } catch (error) {
          ctx.addIssue({ code: "custom", path: ["pricing", model, field], message: (error as Error).message });
        }
      }
    }
    if (config.policy.dir === undefined && config.policy.bundle === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["policy"],
        message: "no policy source: set policy.dir (Rego sources) or policy.bundle (a built bundle)",
      });
    }
  });

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type ProviderConfig = Config["llm"]["providers"][string];
export type ModelConfig = Config["llm"]["models"][string];
export type DeploymentConfig = ModelConfig["deployments"][number];
