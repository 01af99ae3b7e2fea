/**
 * What every benchmark's gateway shares: its configuration's common part (loopback listeners, the
 * gateway's SVID and the quickstart trust domain's bundle under `<dir>/pki`, the shipped policies), a
 * route of demo-chat to a local provider, and the customer-support agent's TLS material.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "../../apps/gateway/test/harness/gateway-processes.ts";

export const customerSupport = "spiffe://ai.company.org/agent/customer-support/v2";

export interface BenchmarkGatewayOptions {
  /** Holds `pki/` (the CA and SVIDs). */
  dir: string;
  /** The gateway's own state; default `dir`. */
  dataDir?: string;
  dataPort: number;
  healthPort: number;
  /** Issue the PKI at start with the development CA (otherwise the benchmark issued it already). */
  devCa?: boolean;
}

/** The YAML every benchmark's configuration starts with. */
export function benchmarkGatewayConfig(options: BenchmarkGatewayOptions): string {
  const { dir } = options;
  const devCa = options.devCa
    ? `\n  dev_ca: { enabled: true, dir: ${dir}/pki, identities: { customer-support: "${customerSupport}" } }`
    : "";
  return `
data_dir: ${options.dataDir ?? dir}
server: { listen: { host: 127.0.0.1, port: ${options.dataPort} }, health: { host: 127.0.0.1, port: ${options.healthPort} } }
identity:
  svid: { cert: ${dir}/pki/gateway.pem, key: ${dir}/pki/gateway-key.pem }
  bundles: { ai.company.org: ${dir}/pki/ca.pem }${devCa}
policy: { dir: ${join(repoRoot, "policies")} }
`;
}

/** An LLM section routing demo-chat to a local OpenAI-compatible provider. */
export function demoChatRoute(upstreamUrl: string, apiKey: string): string {
  return `
llm:
  providers: { local: { type: openai-compatible, base_url: "${upstreamUrl}/v1", api_key: ${apiKey} } }
  models: { demo-chat: { deployments: [{ provider: local }] } }
`;
}

/** The customer-support agent's SVID and the trust bundle, for a benchmark's client. */
export async function agentTls(dir: string): Promise<{ ca: Buffer; cert: Buffer; key: Buffer; servername: string }> {
  return {
    ca: await readFile(join(dir, "pki/ca.pem")),
    cert: await readFile(join(dir, "pki/customer-support.pem")),
    key: await readFile(join(dir, "pki/customer-support-key.pem")),
    servername: "localhost",
  };
}
