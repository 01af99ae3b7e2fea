/**
 * Fixtures for the policy tests: the shipped policies, copied or built into temporary directories
 * (never into the repository), and inputs for the seed's three demo agents.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { extract } from "tar-stream";
import type { ModelAction } from "../gate/resource.ts";
import { buildWasmBundle } from "./bundle-builder.ts";
import { readBundleFile, type PolicyBundle } from "./bundle-reader.ts";
import { buildPolicyInput, type PolicyCaller, type PolicyInput } from "./input.ts";

export const shippedPolicies = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../policies");

export const llmProxy = "spiffe://ai.company.org/service/llm-proxy";

export const demoAgents = {
  customerSupport: caller("spiffe://ai.company.org/agent/customer-support/v2"),
  codeReview: caller("spiffe://ai.company.org/agent/code-review/v1"),
  training: caller("spiffe://ai.company.org/pipeline/training/job-abc"),
} as const;

export type DemoAgent = keyof typeof demoAgents;

/** A caller as the identity stage records it, for a SPIFFE ID. */
export function caller(uri: string): PolicyCaller {
  const match = /^spiffe:\/\/([^/]+)(\/.*)$/.exec(uri);
  if (match === null) throw new Error(`not a SPIFFE ID with a path: ${uri}`);
  const [, trustDomain = "", path = ""] = match;
  return { id: { uri, trustDomain, path, segments: path.split("/").slice(1) }, auth: "x509-svid" };
}

export interface LlmOperation {
  method: string;
  path: string;
  action: ModelAction;
  /** The model, or "" when none is involved. */
  name: string;
}

export function llmInput(who: PolicyCaller, operation: LlmOperation): PolicyInput {
  return buildPolicyInput(who, {
    target: llmProxy,
    method: operation.method,
    path: operation.path,
    resource: { kind: "model", name: operation.name, action: operation.action },
    facts: {},
  });
}

/** A scratch directory under the system's temporary directory; `remove` deletes it. */
export async function scratchDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `tollgate-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A copy of the shipped policies (Rego, data, tests) in `dir`/policies. */
export async function copyShippedPolicies(dir: string): Promise<string> {
  const target = join(dir, "policies");
  await cp(shippedPolicies, target, { recursive: true });
  return target;
}

/** Builds `policyDir` with the real opa into `dir` and reads the bundle back. */
export async function buildBundle(policyDir: string, dir: string, name = "bundle.tar.gz"): Promise<PolicyBundle & { file: string }> {
  const file = join(dir, name);
  await buildWasmBundle(policyDir, file);
  return { ...(await readBundleFile(file)), file };
}

/** A policy directory holding just these files (name -> content). */
export async function writePolicyDir(dir: string, files: Record<string, string>): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

/** Entry name (as stored, e.g. "/policy.wasm") -> content, of a .tar.gz. */
export async function archiveEntries(file: string): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>();
  const extractor = extract();
  const reading = (async () => {
    for await (const entry of extractor) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      entries.set(entry.header.name, Buffer.concat(chunks));
    }
  })();
  extractor.end(gunzipSync(await readFile(file)));
  await reading;
  return entries;
}

/** The policy input example of DESIGN.md, verbatim. */
export const designExampleInput = {
  source: "spiffe://ai.company.org/agent/customer-support/v2",
  target: "spiffe://ai.company.org/service/llm-proxy",
  method: "POST",
  path: "/v1/chat/completions",
  source_id: { trust_domain: "ai.company.org", path: "/agent/customer-support/v2", segments: ["agent", "customer-support", "v2"], auth: "x509-svid" },
  resource: { kind: "model", name: "gpt-4o-mini", provider: "openai", action: "chat" },
  request: { stream: true, max_tokens: 512 },
  now: "2026-12-04T19:00:00Z",
};
