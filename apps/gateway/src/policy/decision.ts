/**
 * The policy's answer for one request, and a strict reader of what the wasm module returned.
 *
 * Whatever the policy returns that is not exactly a decision is a deny whose reason says so: a
 * policy bug must never turn into an allow, nor into an obligation the gateway silently ignores.
 */

/** What the gateway must enforce on an allowed request. */
export interface Obligations {
  /** Cap on the tokens the model may generate (the request's max_tokens is lowered to it). */
  max_output_tokens?: number;
  /** Budgets to charge besides the caller's own (names from the budget configuration). */
  budgets?: readonly string[];
}

/** Why a decision came from the engine rather than from the policy's rules. */
export type PolicyFault = "no_bundle" | "evaluation_failed" | "invalid_decision";

export interface Decision {
  allow: boolean;
  /** Shown to the caller and recorded in the audit trail. */
  reasons: string[];
  obligations: Obligations;
  /** The bundle revision that decided; absent when no bundle was loaded. */
  revision?: string;
  /** Set when the policy did not decide (no bundle, an evaluation error, a malformed answer). */
  fault?: PolicyFault;
}

export function denyDecision(reason: string, fault?: PolicyFault): Decision {
  return fault === undefined ? { allow: false, reasons: [reason], obligations: {} } : { allow: false, reasons: [reason], obligations: {}, fault };
}

const decisionFields = new Set(["allow", "reasons", "obligations"]);

/**
 * Reads the result set of `LoadedPolicy.evaluate(input, "tollgate/authz/decision")`:
 * `[{"result": {"allow": ..., "reasons": [...], "obligations": {...}}}]`.
 */
export function readDecision(resultSet: unknown): Decision {
  if (!Array.isArray(resultSet)) return invalid("the result set is not an array");
  if (resultSet.length === 0) return invalid("the decision is undefined for this input");
  if (resultSet.length > 1) return invalid("the result set has more than one result");
  const entry: unknown = resultSet[0];
  if (!isRecord(entry) || !("result" in entry)) return invalid("the result set has no result");
  const result = entry.result;
  if (!isRecord(result)) return invalid("the decision is not an object");

  for (const field of Object.keys(result)) {
    if (!decisionFields.has(field)) return invalid(`unknown field "${field}"`);
  }
  if (typeof result.allow !== "boolean") return invalid("allow must be a boolean");
  const reasons = result.reasons;
  if (!isStringArray(reasons)) return invalid("reasons must be an array of strings");

  if (!result.allow) {
    // A deny needs no obligations; it does need a reason the caller can read.
    return { allow: false, reasons: reasons.length > 0 ? reasons : ["the policy denied this request without giving a reason"], obligations: {} };
  }
  const obligations = readObligations(result.obligations);
  if (typeof obligations === "string") return invalid(obligations);
  return { allow: true, reasons, obligations };
}

/** The obligations, or what is wrong with them. */
function readObligations(raw: unknown): Obligations | string {
  if (raw === undefined) return {};
  if (!isRecord(raw)) return "obligations must be an object";
  const obligations: Obligations = {};
  for (const [name, value] of Object.entries(raw)) {
    switch (name) {
      case "max_output_tokens":
        if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
          return "obligations.max_output_tokens must be a positive integer";
        }
        obligations.max_output_tokens = value;
        break;
      case "budgets":
        if (!isStringArray(value) || value.includes("")) return "obligations.budgets must be an array of budget names";
        obligations.budgets = value;
        break;
      default:
        // An obligation the gateway cannot enforce would be silently dropped: refuse instead.
        return `obligation "${name}" is not one this gateway can enforce`;
    }
  }
  return obligations;
}

function invalid(problem: string): Decision {
  return denyDecision(`the policy returned an invalid decision: ${problem}`, "invalid_decision");
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((element) => typeof element === "string");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
