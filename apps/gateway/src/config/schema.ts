/**
 * The configuration file's schema: one strict zod schema, from which the TypeScript types and the
 * committed JSON Schema (docs/config.schema.json) are both derived. Unknown keys are rejected so a typo
 * never silently turns a setting off.
 */
import { z } from "zod";
import { parseByteSize } from "./byte-size.ts";
import { parseDuration } from "./duration.ts";

const duration = z
  .union([z.string(), z.number().int().nonnegative()])
  .transform((value, ctx) => {
    if (typeof value === "number") return value;
    try {
      return parseDuration(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  })
  .meta({ description: "A duration: milliseconds as a number, or text such as 250ms, 30s, 5m, 24h, 7d" });

const byteSize = z
  .union([z.string(), z.number().int().nonnegative()])
  .transform((value, ctx) => {
    try {
      return parseByteSize(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  })
  .meta({ description: "A size: bytes as a number, or text such as 64KiB, 10MiB, 1GiB" });

const spiffeIdText = z
  .string()
  .regex(/^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, "must be a SPIFFE ID such as spiffe://example.org/service/name");

const trustDomainName = z.string().regex(/^[a-z0-9._-]{1,255}$/, "must be a trust domain name such as example.org");

const listener = z.strictObject({
  host: z.string().default("0.0.0.0"),
  port: z.number().int().min(0).max(65535),
});

const server = z.strictObject({
  listen: listener.default({ host: "0.0.0.0", port: 8443 }),
  health: listener.default({ host: "0.0.0.0", port: 8080 }),
  /** DNS names the gateway is reached by; the development CA puts them in the gateway's SVID. */
  dns_names: z.array(z.string().min(1)).default(["localhost"]),
  /** Largest JSON request body (chat, embeddings, ...). */
  body_limit: byteSize.default(10 * 1024 * 1024),
  /** Largest upload to /v1/files, streamed to the provider without being buffered. */
  upload_limit: byteSize.default(512 * 1024 * 1024),
  keep_alive_timeout: duration.default(72_000),
  /** How long a graceful shutdown waits for open requests before closing their connections. */
  shutdown_grace: duration.default(25_000),
});

const svidFiles = z.strictObject({
  cert: z.string().min(1).meta({ description: "PEM file: the gateway's X.509-SVID, leaf first, then intermediates" }),
  key: z.string().min(1).meta({ description: "PEM file: the SVID's private key (PKCS#8)" }),
});

const devCa = z.strictObject({
  enabled: z.boolean().default(false),
  /** Where the CA (ca.pem, ca-key.pem) and the SVIDs it issues are written. */
  dir: z.string().default(".data/pki"),
  /** SVIDs issued at start: file name -> SPIFFE ID. */
  identities: z.record(z.string().regex(/^[A-Za-z0-9._-]+$/), spiffeIdText).default({}),
  ttl: duration.default(7 * 24 * 3600_000),
});

const identity = z.strictObject({
  /** The gateway's own SPIFFE ID (its server SVID carries it). */
  spiffe_id: spiffeIdText.default("spiffe://ai.company.org/service/tollgate"),
  svid: svidFiles.default({ cert: ".data/pki/gateway.pem", key: ".data/pki/gateway-key.pem" }),
  /** Trust domain -> bundle file (PEM certificates, or a SPIFFE bundle in JWK Set JSON). Never merged. */
  bundles: z.record(trustDomainName, z.string().min(1)).default({ "ai.company.org": ".data/pki/ca.pem" }),
  dev_ca: devCa.default({ enabled: false, dir: ".data/pki", identities: {}, ttl: 7 * 24 * 3600_000 }),
});

const policy = z
  .strictObject({
    /** Rego and data files, built into a wasm bundle with the real opa, rebuilt when they change. */
    dir: z.string().optional(),
    /** Or a bundle built elsewhere (`opa build -t wasm -e tollgate/authz/decision`), reloaded when replaced. */
    bundle: z.string().optional(),
    /**
     * Start even when the policy cannot be loaded (a bundle a sidecar delivers later, say): until one
     * loads, every request is refused with 503 and /readyz says why. Default: fail at start.
     */
    start_without_policy: z.boolean().default(false),
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
  type: z.enum(providerTypes),
  /** Base URL including the version prefix, e.g. https://api.openai.com/v1 or http://vllm:8000/v1. */
  base_url: z.url({ protocol: /^https?$/ }).optional(),
  api_key: z.string().optional(),
  /** Azure OpenAI: with api_version, deployment-style URLs (/openai/deployments/NAME/...); without, the v1 API. */
  api_version: z.string().optional(),
  organization: z.string().optional(),
  project: z.string().optional(),
  /** Overrides which client APIs this provider serves (OpenAI-compatible servers differ). */
  apis: z.array(z.enum(llmApis)).optional(),
  /** Extra headers sent to the provider (e.g. a tenant header); never the caller's. */
  headers: z.record(z.string(), z.string()).default({}),
  /** Connections kept open to this provider. */
  connections: z.number().int().positive().default(256),
});

const deployment = z.strictObject({
  provider: z.string().min(1),
  /** The model's name at the provider (Azure: the deployment name); defaults to the route's name. */
  model: z.string().min(1).optional(),
  weight: z.number().int().min(0).default(1),
  /** Longest wait for the response headers from this deployment. */
  timeout: duration.default(60_000),
  /** Longest silence between two chunks of a streamed body. */
  idle_timeout: duration.default(120_000),
});

const model = z.strictObject({
  deployments: z.array(deployment).min(1),
  /** Shown by GET /v1/models. */
  owned_by: z.string().optional(),
});

const retries = z.strictObject({
  /** Further attempts on the same deployment after a 429, a 5xx or a connection error before the first byte. */
  attempts: z.number().int().min(0).max(10).default(2),
  initial_backoff: duration.default(200),
  max_backoff: duration.default(5_000),
});

const llm = z.strictObject({
  /** The SPIFFE ID that policies see as `input.target` for every LLM route. */
  target: spiffeIdText.default("spiffe://ai.company.org/service/llm-proxy"),
  /** Start the built-in demo provider (models demo-chat and demo-embed) on a loopback port. */
  demo: z.boolean().default(false),
  providers: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/), provider).default({}),
  models: z.record(z.string().min(1), model).default({}),
  /** The provider that receives account-level APIs: /v1/files, /v1/fine_tuning/jobs, /v1/batches. */
  account_provider: z.string().optional(),
  retries: retries.default({ attempts: 2, initial_backoff: 200, max_backoff: 5_000 }),
});

const telemetry = z.strictObject({
  log_level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** OTLP/HTTP traces endpoint, e.g. http://otel-collector:4318/v1/traces; env OTEL_EXPORTER_OTLP_ENDPOINT also works. */
  otlp_endpoint: z.url().optional(),
  service_name: z.string().default("tollgate"),
});

export const configSchema = z
  .strictObject({
    /** Where the gateway keeps its state (development PKI, built policy bundles). */
    data_dir: z.string().default(".data"),
    server: server.default(server.parse({})),
    identity: identity.default(identity.parse({})),
    policy: policy.default({ start_without_policy: false }),
    llm: llm.default(llm.parse({})),
    telemetry: telemetry.default(telemetry.parse({})),
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
