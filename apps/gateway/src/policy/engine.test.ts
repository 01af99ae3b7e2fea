import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBundleFile, type PolicyBundle } from "./bundle-reader.ts";
import type { Decision } from "./decision.ts";
import { PolicyEngine, PolicyLoadError } from "./engine.ts";
import type { PolicyInput } from "./input.ts";
import { runOpa } from "./opa-command.ts";
import {
  archiveEntries,
  buildBundle,
  copyShippedPolicies,
  demoAgents,
  llmInput,
  scratchDir,
  shippedPolicies,
  writePolicyDir,
  type DemoAgent,
  type LlmOperation,
} from "./test-fixtures.ts";

/** The shipped grants, endpoint by endpoint: `allowed` lists the agents let through, all others are denied. */
const matrix: (LlmOperation & { allowed: DemoAgent[] })[] = [
  { method: "POST", path: "/v1/chat/completions", action: "chat", name: "demo-chat", allowed: ["customerSupport", "codeReview"] },
  { method: "POST", path: "/v1/chat/completions", action: "chat", name: "gpt-4o-mini", allowed: ["customerSupport", "codeReview"] },
  { method: "POST", path: "/v1/responses", action: "chat", name: "gpt-4.1", allowed: ["customerSupport", "codeReview"] },
  { method: "POST", path: "/v1/messages", action: "chat", name: "claude-haiku-4-5", allowed: ["customerSupport", "codeReview"] },
  { method: "POST", path: "/v1/chat/completions", action: "chat", name: "unlisted-model", allowed: [] },
  { method: "POST", path: "/v1/embeddings", action: "embed", name: "demo-embed", allowed: ["codeReview", "training"] },
  { method: "POST", path: "/v1/embeddings", action: "embed", name: "text-embedding-3-large", allowed: ["codeReview", "training"] },
  { method: "GET", path: "/v1/models", action: "list", name: "", allowed: ["customerSupport", "codeReview"] },
  { method: "GET", path: "/v1/models", action: "list", name: "demo-chat", allowed: ["customerSupport", "codeReview"] },
  { method: "GET", path: "/v1/models", action: "list", name: "demo-embed", allowed: ["codeReview"] },
  { method: "POST", path: "/v1/files", action: "file.upload", name: "", allowed: ["training"] },
  { method: "GET", path: "/v1/files", action: "file.list", name: "", allowed: ["training"] },
  { method: "GET", path: "/v1/files/file-abc", action: "file.read", name: "", allowed: ["training"] },
  { method: "DELETE", path: "/v1/files/file-abc", action: "file.delete", name: "", allowed: [] },
  { method: "POST", path: "/v1/fine_tuning/jobs", action: "fine_tune.create", name: "gpt-4o-mini", allowed: ["training"] },
  { method: "POST", path: "/v1/fine_tuning/jobs", action: "fine_tune.create", name: "gpt-4o-mini-2024-07-18", allowed: ["training"] },
  { method: "POST", path: "/v1/fine_tuning/jobs", action: "fine_tune.create", name: "claude-haiku-4-5", allowed: [] },
  { method: "GET", path: "/v1/fine_tuning/jobs", action: "fine_tune.list", name: "", allowed: ["training"] },
  { method: "GET", path: "/v1/fine_tuning/jobs/ftjob-abc", action: "fine_tune.read", name: "", allowed: ["training"] },
  { method: "POST", path: "/v1/fine_tuning/jobs/ftjob-abc/cancel", action: "fine_tune.cancel", name: "", allowed: [] },
  { method: "POST", path: "/v1/batches", action: "batch.create", name: "", allowed: ["training"] },
  { method: "GET", path: "/v1/batches", action: "batch.list", name: "", allowed: ["training"] },
  { method: "GET", path: "/v1/batches/batch_abc", action: "batch.read", name: "", allowed: ["training"] },
  { method: "POST", path: "/v1/batches/batch_abc/cancel", action: "batch.cancel", name: "", allowed: [] },
];

const agents = Object.keys(demoAgents) as DemoAgent[];
const cases = matrix.flatMap((operation) =>
  agents.map((agent) => ({ agent, operation, allow: operation.allowed.includes(agent), input: llmInput(demoAgents[agent], operation) })),
);

const chatWithDemo: LlmOperation = { method: "POST", path: "/v1/chat/completions", action: "chat", name: "demo-chat" };
const fineTune: LlmOperation = { method: "POST", path: "/v1/fine_tuning/jobs", action: "fine_tune.create", name: "gpt-4o-mini" };

let dir: Awaited<ReturnType<typeof scratchDir>>;
let shipped: PolicyBundle;

beforeAll(async () => {
  dir = await scratchDir("engine");
  shipped = await buildBundle(shippedPolicies, dir.path, "shipped.tar.gz");
});

afterAll(async () => {
  await dir.remove();
});

describe("PolicyEngine with the shipped policies", () => {
  let engine: PolicyEngine;
  beforeAll(async () => {
    engine = new PolicyEngine();
    await engine.load(shipped);
  });

  it.each(agents)("decides every endpoint for %s as the grants say", (agent) => {
    const wrong = cases
      .filter((c) => c.agent === agent)
      .filter((c) => engine.evaluate(c.input).allow !== c.allow)
      .map((c) => `${c.operation.action} "${c.operation.name}" on ${c.operation.path}: expected ${c.allow ? "allow" : "deny"}`);
    expect(wrong).toEqual([]);
    // Both outcomes occur for each agent, so the matrix cannot pass by allowing or denying everything.
    expect(new Set(cases.filter((c) => c.agent === agent).map((c) => c.allow))).toEqual(new Set([true, false]));
  });

  it("agrees with opa itself (the topdown evaluator) on every input of the matrix, reasons and obligations included", async () => {
    const casesFile = join(dir.path, "matrix-inputs", "data.json");
    await writePolicyDir(join(dir.path, "matrix-inputs"), {});
    await writeFile(casesFile, JSON.stringify({ matrix_inputs: cases.map((c) => c.input) }));
    const query = "[d | some i in data.matrix_inputs; d := data.tollgate.authz.decision with input as i]";
    const result = await runOpa(["eval", "--format", "json", "--data", join(shippedPolicies, "data.json"), "--data", casesFile, ...regoFiles(), query]);
    expect(result.stderr).toBe("");
    const topdown = (JSON.parse(result.stdout) as { result: { expressions: { value: Decision[] }[] }[] }).result[0]?.expressions[0]?.value;
    const wasm = cases.map((c) => {
      const { revision: _revision, ...decision } = engine.evaluate(c.input);
      return decision;
    });
    expect(wasm).toEqual(topdown);
  });

  it("passes the policy's reasons and obligations on", () => {
    expect(engine.evaluate(llmInput(demoAgents.customerSupport, chatWithDemo))).toEqual({
      allow: true,
      reasons: ["allowed by grant customer-support-chat"],
      obligations: { max_output_tokens: 4096 },
      revision: shipped.revision,
    });
    expect(engine.evaluate(llmInput(demoAgents.customerSupport, fineTune))).toEqual({
      allow: false,
      reasons: [
        'no grant allows spiffe://ai.company.org/agent/customer-support/v2 to fine_tune.create model "gpt-4o-mini" on spiffe://ai.company.org/service/llm-proxy',
      ],
      obligations: {},
      revision: shipped.revision,
    });
  });

  it("reports the revision it uses", () => {
    const status = engine.status();
    expect(status).toMatchObject({ revision: shipped.revision, ready: true, lastError: undefined, lastErrorAt: undefined });
    expect(status.loadedAt).toBeInstanceOf(Date);
  });

  it("denies, without throwing, an input that cannot even be serialised", () => {
    const input = { ...llmInput(demoAgents.customerSupport, chatWithDemo), request: { big: 1n } } as unknown as PolicyInput;
    const decision = engine.evaluate(input);
    expect(decision.allow).toBe(false);
    expect(decision.fault).toBe("evaluation_failed");
    expect(decision.reasons[0]).toMatch(/^the policy could not be evaluated: /);
  });
});

describe("PolicyEngine without a bundle", () => {
  it("denies everything, saying why", () => {
    const engine = new PolicyEngine();
    for (const c of cases.filter((c) => c.allow)) {
      expect(engine.evaluate(c.input)).toEqual({ allow: false, reasons: ["no policy bundle is loaded"], obligations: {}, fault: "no_bundle" });
    }
    expect(engine.status()).toEqual({ revision: undefined, loadedAt: undefined, lastError: undefined, lastErrorAt: undefined, ready: false });
  });
});

describe("PolicyEngine with a policy that misbehaves on some requests", () => {
  let engine: PolicyEngine;
  beforeAll(async () => {
    const policyDir = await writePolicyDir(join(dir.path, "misbehaving"), {
      "authz.rego": `package tollgate.authz

default decision := {"allow": true, "reasons": ["fine"], "obligations": {}}

# A malformed answer for one model.
decision := {"allow": true, "reasons": ["capped"], "obligations": {"max_output_tokens": -1}} if input.resource.name == "malformed"

# Two answers at once for another: the wasm module aborts the evaluation.
decision := {"allow": true, "reasons": ["a"], "obligations": {}} if input.resource.name == "conflict"

decision := {"allow": false, "reasons": ["b"], "obligations": {}} if input.resource.name == "conflict"
`,
    });
    engine = new PolicyEngine();
    await engine.load(await buildBundle(policyDir, dir.path, "misbehaving.tar.gz"));
  });

  it("denies a malformed decision, saying that the policy returned an invalid one", () => {
    const decision = engine.evaluate(llmInput(demoAgents.customerSupport, { ...chatWithDemo, name: "malformed" }));
    expect(decision).toMatchObject({
      allow: false,
      reasons: ["the policy returned an invalid decision: obligations.max_output_tokens must be a positive integer"],
      fault: "invalid_decision",
    });
  });

  it("denies when the evaluation fails, and keeps answering afterwards", () => {
    const decision = engine.evaluate(llmInput(demoAgents.customerSupport, { ...chatWithDemo, name: "conflict" }));
    expect(decision.allow).toBe(false);
    expect(decision.fault).toBe("evaluation_failed");
    expect(decision.reasons[0]).toContain("var assignment conflict");
    expect(engine.evaluate(llmInput(demoAgents.customerSupport, chatWithDemo))).toMatchObject({ allow: true, reasons: ["fine"] });
  });
});

describe("PolicyEngine refusing a bundle", () => {
  let engine: PolicyEngine;
  beforeAll(async () => {
    engine = new PolicyEngine();
    await engine.load(shipped);
  });

  async function refusal(name: string, files: Record<string, string>): Promise<PolicyLoadError> {
    const bundle = await buildBundle(await writePolicyDir(join(dir.path, name), files), dir.path, `${name}.tar.gz`);
    const error: unknown = await engine.load(bundle).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(PolicyLoadError);
    // The last good bundle stays in use, and the status says why the new one is not.
    expect(engine.status()).toMatchObject({ revision: shipped.revision, ready: true, lastError: (error as Error).message });
    expect(engine.evaluate(llmInput(demoAgents.customerSupport, chatWithDemo)).allow).toBe(true);
    return error as PolicyLoadError;
  }

  it("refuses a policy whose decision is malformed for every request", async () => {
    const error = await refusal("always-malformed", {
      "authz.rego": 'package tollgate.authz\n\ndecision := {"allow": "yes", "reasons": []}\n',
    });
    expect(error.message).toBe("the policy does not answer a probe request: the policy returned an invalid decision: allow must be a boolean");
  });

  it("refuses a policy that calls built-ins the wasm engine cannot run", async () => {
    const error = await refusal("time-builtin", {
      "authz.rego": `package tollgate.authz

default decision := {"allow": false, "reasons": ["closed"], "obligations": {}}

decision := {"allow": true, "reasons": ["open"], "obligations": {}} if time.now_ns() > 0
`,
    });
    expect(error.message).toContain("time.now_ns (not available to OPA's wasm target: read the time from input.now)");
  });

  it("refuses data that fails the grant checks, listing the problems", async () => {
    const policyDir = await copyShippedPolicies(join(dir.path, "typo"));
    const data = JSON.parse(await readFile(join(policyDir, "data.json"), "utf8")) as { tollgate: { grants: Record<string, unknown>[] } };
    const first = data.tollgate.grants[0];
    if (first === undefined) throw new Error("the shipped data has no grants");
    first.agent = first.agents;
    delete first.agents;
    await writeFile(join(policyDir, "data.json"), JSON.stringify(data));
    const bundle = await buildBundle(policyDir, dir.path, "typo.tar.gz");
    await expect(engine.load(bundle)).rejects.toThrow(
      'the policy data has problems (tollgate/grant_checks/problems):\n  - grant 0 ("customer-support-chat") has an unknown field "agent"\n  - grant 0 ("customer-support-chat"): agents must be a non-empty array of strings',
    );
    expect(engine.status().revision).toBe(shipped.revision);
  });

  it("refuses a bundle built without the decision entrypoint", async () => {
    const policyDir = await writePolicyDir(join(dir.path, "other-entrypoint"), {
      "other.rego": "package other\n\nanswer := 42\n",
    });
    const out = join(dir.path, "other-entrypoint.tar.gz");
    const built = await runOpa(["build", "--bundle", "--target", "wasm", "--entrypoint", "other/answer", "--output", out, policyDir]);
    expect(built.exitCode).toBe(0);
    // The reader already refuses it by its manifest; the engine checks the module itself.
    await expect(readBundleFile(out)).rejects.toThrow("its wasm modules do not include the entrypoint tollgate/authz/decision");
    const wasm = (await archiveEntries(out)).get("/policy.wasm");
    if (wasm === undefined) throw new Error("opa built no policy.wasm");
    await expect(engine.load({ wasm, data: {}, revision: "other" })).rejects.toThrow(
      "the bundle has no entrypoint tollgate/authz/decision: build it with `opa build -t wasm -e tollgate/authz/decision`",
    );
  });

  it("clears the error once a good bundle loads", async () => {
    await expect(engine.load({ ...shipped, wasm: new Uint8Array([1, 2, 3]) })).rejects.toThrow("cannot be instantiated");
    expect(engine.status().lastError).toBeDefined();
    await engine.load(shipped);
    expect(engine.status()).toMatchObject({ ready: true, lastError: undefined, lastErrorAt: undefined });
  });
});

/** The shipped Rego sources without the tests, as `--data` arguments. */
function regoFiles(): string[] {
  return ["authz.rego", "blocked_agents.rego", "grant_checks.rego", "grants.rego", "obligations.rego", "spiffe_id_patterns.rego"].flatMap(
    (file) => ["--data", join(shippedPolicies, file)],
  );
}
