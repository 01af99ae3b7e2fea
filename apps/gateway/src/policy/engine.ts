import { loadPolicy, type LoadedPolicy } from "@open-policy-agent/opa-wasm";
import type { PolicyBundle } from "./bundle-reader.ts";
import { denyDecision, readDecision, type Decision } from "./decision.ts";
import { decisionEntrypoint, grantChecksEntrypoint } from "./entrypoints.ts";
import { hostBuiltinsOf, unrunnableBuiltins } from "./host-builtins.ts";
import { policyNow, type PolicyInput } from "./input.ts";

export interface PolicyEngineStatus {
  /** The revision of the bundle in use. */
  revision: string | undefined;
  loadedAt: Date | undefined;
  /** Why the newest policy source is not the one in use; cleared when a bundle loads. */
  lastError: string | undefined;
  lastErrorAt: Date | undefined;
  /** Whether a bundle is loaded (without one, every request is denied). */
  ready: boolean;
}

/** A bundle the engine refuses to use; the message is written for the operator. */
export class PolicyLoadError extends Error {
  override readonly name = "PolicyLoadError";
}

interface ActivePolicy {
  readonly policy: LoadedPolicy;
  readonly decisionId: number;
  readonly revision: string;
  readonly loadedAt: Date;
}

/**
 * The in-process OPA: evaluates `tollgate/authz/decision` in the wasm module of a bundle.
 *
 * A bundle's module is instantiated and checked once, when the bundle is loaded, and then swapped
 * in with one assignment: a request is decided wholly by the old bundle or wholly by the new one.
 * `evaluate` is synchronous and never throws: with no bundle, on an evaluation error or on a
 * malformed answer it denies, with a reason and a `fault`.
 */
export class PolicyEngine {
  #active: ActivePolicy | undefined;
  #lastError: string | undefined;
  #lastErrorAt: Date | undefined;

  /** Instantiates and checks the bundle, then makes it the one in use. A refused bundle leaves the current one in place. */
  async load(bundle: PolicyBundle): Promise<void> {
    let active: ActivePolicy;
    try {
      active = await prepare(bundle);
    } catch (error) {
      const refused = error instanceof PolicyLoadError ? error : new PolicyLoadError(`the policy bundle cannot be loaded: ${describe(error)}`);
      this.recordLoadError(refused);
      throw refused;
    }
    this.#active = active;
    this.#lastError = undefined;
    this.#lastErrorAt = undefined;
  }

  /** Records why a newer policy could not be used (a build error, say); the current bundle stays. */
  recordLoadError(error: unknown): void {
    this.#lastError = describe(error);
    this.#lastErrorAt = new Date();
  }

  evaluate(input: PolicyInput): Decision {
    const active = this.#active;
    if (active === undefined) return denyDecision("no policy bundle is loaded", "no_bundle");
    return decide(active, input);
  }

  status(): PolicyEngineStatus {
    const active = this.#active;
    return {
      revision: active?.revision,
      loadedAt: active?.loadedAt,
      lastError: this.#lastError,
      lastErrorAt: this.#lastErrorAt,
      ready: active !== undefined,
    };
  }
}

function decide(active: ActivePolicy, input: PolicyInput): Decision {
  let resultSet: unknown;
  try {
    resultSet = active.policy.evaluate(input, active.decisionId);
  } catch (error) {
    const decision = denyDecision(`the policy could not be evaluated: ${describe(error)}`, "evaluation_failed");
    decision.revision = active.revision;
    return decision;
  }
  const decision = readDecision(resultSet);
  decision.revision = active.revision;
  return decision;
}

async function prepare(bundle: PolicyBundle): Promise<ActivePolicy> {
  let policy: LoadedPolicy;
  try {
    policy = await loadPolicy(bundle.wasm);
  } catch (error) {
    throw new PolicyLoadError(`the bundle's wasm module cannot be instantiated: ${describe(error)}`);
  }
  const decisionId = entrypointId(policy, decisionEntrypoint);
  if (decisionId === undefined) {
    throw new PolicyLoadError(`the bundle has no entrypoint ${decisionEntrypoint}: build it with \`opa build -t wasm -e ${decisionEntrypoint}\``);
  }
  const unrunnable = unrunnableBuiltins(hostBuiltinsOf(policy));
  if (unrunnable.length > 0) {
    throw new PolicyLoadError(`the policy calls built-in functions the in-process engine cannot run: ${unrunnable.join("; ")}`);
  }
  try {
    policy.setData(bundle.data);
  } catch (error) {
    throw new PolicyLoadError(`the bundle's data cannot be loaded: ${describe(error)}`);
  }
  const problems = grantProblems(policy);
  if (problems.length > 0) {
    throw new PolicyLoadError(`the policy data has problems (${grantChecksEntrypoint}):\n  - ${problems.join("\n  - ")}`);
  }
  const active: ActivePolicy = { policy, decisionId, revision: bundle.revision, loadedAt: new Date() };
  // One evaluation now, so a policy that cannot answer at all is refused here and not on every request.
  const probe = decide(active, probeInput());
  if (probe.fault !== undefined) throw new PolicyLoadError(`the policy does not answer a probe request: ${probe.reasons.join("; ")}`);
  return active;
}

function entrypointId(policy: LoadedPolicy, name: string): number | undefined {
  const entrypoints: unknown = policy.entrypoints;
  if (typeof entrypoints !== "object" || entrypoints === null || !Object.hasOwn(entrypoints, name)) return undefined;
  const id: unknown = (entrypoints as Record<string, unknown>)[name];
  return typeof id === "number" ? id : undefined;
}

function grantProblems(policy: LoadedPolicy): string[] {
  const id = entrypointId(policy, grantChecksEntrypoint);
  if (id === undefined) return [];
  let resultSet: unknown;
  try {
    resultSet = policy.evaluate({}, id);
  } catch (error) {
    return [`the checks themselves failed: ${describe(error)}`];
  }
  const result: unknown = Array.isArray(resultSet) && resultSet.length === 1 ? (resultSet[0] as { result?: unknown }).result : undefined;
  if (!Array.isArray(result)) return [`the checks returned ${JSON.stringify(resultSet)}, not a set of messages`];
  return result.map((problem) => (typeof problem === "string" ? problem : JSON.stringify(problem))).sort();
}

function probeInput(): PolicyInput {
  return {
    source: "spiffe://tollgate.invalid/probe",
    target: "spiffe://tollgate.invalid/probe",
    method: "GET",
    path: "/v1/models",
    source_id: { trust_domain: "tollgate.invalid", path: "/probe", segments: ["probe"], auth: "x509-svid" },
    resource: { kind: "model", name: "", action: "list" },
    request: {},
    now: policyNow(Date.now()),
  };
}

/** The SDK throws strings and plain objects as well as Errors. */
function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  if (typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string") {
    return (error as { message: string }).message;
  }
  return String(error);
}
