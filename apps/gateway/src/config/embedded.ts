import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ConfigInput } from "./schema.ts";

/** The SVIDs the quickstart issues: the seed's three agents and one operator. */
export const quickstartIdentities = {
  "customer-support": "spiffe://ai.company.org/agent/customer-support/v2",
  "code-review": "spiffe://ai.company.org/agent/code-review/v1",
  training: "spiffe://ai.company.org/pipeline/training/job-abc",
  operator: "spiffe://ai.company.org/operator/platform-team",
} as const;

/** The repository's shipped policies, used when the working directory has no `policies/` of its own. */
export const shippedPolicyDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../policies");

/**
 * What `tollgate serve` runs on with no configuration file: a development CA that issues the
 * quickstart's SVIDs, the shipped policies, and the local demo provider; plus the real providers whose
 * keys are in the environment.
 */
export function embeddedConfig(env: NodeJS.ProcessEnv, cwd: string): ConfigInput {
  const providers: NonNullable<NonNullable<ConfigInput["llm"]>["providers"]> = {};
  const models: NonNullable<NonNullable<ConfigInput["llm"]>["models"]> = {
    "demo-chat": { deployments: [{ provider: "demo" }], owned_by: "tollgate-demo" },
    "demo-embed": { deployments: [{ provider: "demo" }], owned_by: "tollgate-demo" },
  };
  if (env.OPENAI_API_KEY) {
    providers.openai = { type: "openai", api_key: env.OPENAI_API_KEY };
    for (const name of ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "text-embedding-3-small", "text-embedding-3-large"]) {
      models[name] = { deployments: [{ provider: "openai" }], owned_by: "openai" };
    }
  }
  if (env.ANTHROPIC_API_KEY) {
    providers.anthropic = { type: "anthropic", api_key: env.ANTHROPIC_API_KEY };
    for (const name of ["claude-sonnet-4-5", "claude-haiku-4-5"]) {
      models[name] = { deployments: [{ provider: "anthropic" }], owned_by: "anthropic" };
    }
  }
  const localPolicies = join(cwd, "policies");
  return {
    data_dir: join(cwd, ".data"),
    identity: {
      svid: { cert: join(cwd, ".data/pki/gateway.pem"), key: join(cwd, ".data/pki/gateway-key.pem") },
      bundles: { "ai.company.org": join(cwd, ".data/pki/ca.pem") },
      dev_ca: { enabled: true, dir: join(cwd, ".data/pki"), identities: { ...quickstartIdentities } },
    },
    policy: { dir: existsSync(join(localPolicies, "authz.rego")) ? localPolicies : shippedPolicyDir },
    // The operators' API on https://localhost:8444 (the CLI's default), audited into PGlite under .data/.
    admin: { enabled: true },
    llm: {
      demo: true,
      providers,
      models,
      account_provider: env.OPENAI_API_KEY ? "openai" : "demo",
    },
    mcp: { demo: true },
    // Budgets to see at work in the quickstart (x-ratelimit headers, `tollgate budgets list`), in memory.
    budgets: {
      limits: [
        {
          name: "quickstart-daily-spend",
          match: { agents: ["spiffe://ai.company.org/**"] },
          split: "per_agent",
          window: "day",
          limits: { cost_usd: "5.00", requests: 5000 },
        },
        { name: "quickstart-rate", match: { agents: ["spiffe://ai.company.org/**"] }, split: "per_agent", rate: { requests_per_minute: 120, tokens_per_minute: 200_000 } },
      ],
    },
  };
}
