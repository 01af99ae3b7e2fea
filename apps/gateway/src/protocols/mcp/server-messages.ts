import { TollgateError } from "../../errors/tollgate-error.ts";
import { jsonRpcCodes } from "./json-rpc-errors.ts";
import { isJsonRpcId, isObject, type JsonObject, type JsonRpcId } from "./json-rpc.ts";
import { filterListResult, mayHoldList } from "./list-filter.ts";
import type { ItemDecider } from "./mcp-authorization.ts";

/**
 * What the server may ask of the agent, and the action the policy is asked about (as kind `tool`,
 * named after the tool whose call the request arrived in, or "" outside a tool call).
 */
const serverRequestActions: Readonly<Record<string, string>> = {
  "sampling/createMessage": "sampling",
  "elicitation/create": "elicitation",
  "roots/list": "roots",
};

/** Server-to-client requests that ask nothing of the agent's own: liveness, and tasks the agent created. */
const neutralServerRequests = new Set(["ping", "tasks/get", "tasks/result", "tasks/list", "tasks/cancel"]);

/**
 * What to do with one message from the server on its way to the agent:
 *  - `pass`: its bytes go on unchanged;
 *  - `replace`: `text` goes instead (a list with the items the caller may not use removed);
 *  - `drop`: the agent does not see it; `answer` (a JSON-RPC error) goes back to the server, so a
 *    request the policy refused fails at once instead of waiting for an answer that never comes;
 *  - `refuse`: a 2026-07-28 result asking for input the policy refuses: the agent gets `text`, an
 *    error response carrying the reasons, and the exchange is failed with `error`.
 */
export type Verdict =
  | { kind: "pass" }
  | { kind: "replace"; text: string }
  | { kind: "drop"; why: string; reasons: readonly string[]; answer: JsonObject | undefined }
  | { kind: "refuse"; text: string; error: TollgateError };

export interface InspectionContext {
  decide: ItemDecider;
  /** The tool whose call this stream belongs to, if any. */
  tool: string | undefined;
  /** The gateway's request id, quoted in errors. */
  requestId: string;
}

const pass: Verdict = { kind: "pass" };

/**
 * Inspects a message from the server (one SSE event's data, or a JSON response body). Most messages
 * (tool results above all) are recognised as harmless from their text and never parsed.
 */
export function inspectServerMessage(text: string, context: InspectionContext): Verdict {
  const hasMethod = text.includes('"method"');
  const mayList = mayHoldList(text);
  const mayAskInput = text.includes('"input_required"');
  if (!hasMethod && !mayList && !mayAskInput) return pass;
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    // Not JSON: not something the gateway could judge, nor anything a client will act on.
    return pass;
  }
  if (!isObject(message)) return pass;
  if (typeof message.method === "string") return inspectServerCall(message, message.method, context);
  const result = message.result;
  if (!isObject(result)) return pass;
  if (result.resultType === "input_required") {
    const refused = refusedInputRequest(result, context);
    if (refused !== undefined) return refuse(message.id, refused, context);
  }
  if (mayList && filterListResult(result, context.decide)) return { kind: "replace", text: JSON.stringify(message) };
  return pass;
}

function inspectServerCall(message: JsonObject, method: string, context: InspectionContext): Verdict {
  const isRequest = "id" in message;
  if (!isRequest) {
    if (method === "notifications/resources/updated") {
      const uri = isObject(message.params) ? message.params.uri : undefined;
      if (typeof uri !== "string" || !context.decide("resource", uri, "read").allow) {
        return { kind: "drop", why: "a resource update the caller may not read", reasons: [], answer: undefined };
      }
    }
    return pass;
  }
  const id = isJsonRpcId(message.id) ? message.id : null;
  if (neutralServerRequests.has(method)) return pass;
  const action = serverRequestActions[method];
  if (action === undefined) {
    return {
      kind: "drop",
      why: `a server request "${method}" the gateway does not forward`,
      reasons: [],
      answer: errorAnswer(id, jsonRpcCodes.methodNotFound, `Method not found: the gateway does not forward "${method}" to agents.`, []),
    };
  }
  const decision = context.decide("tool", context.tool ?? "", action);
  if (decision.allow) return pass;
  return {
    kind: "drop",
    why: `${method} refused by policy`,
    reasons: decision.reasons,
    answer: errorAnswer(id, jsonRpcCodes.forbidden, `Denied by policy: ${decision.reasons.join("; ") || "no rule allows it"}`, decision.reasons),
  };
}

/** The reasons a 2026-07-28 InputRequiredResult asks for something the policy refuses, if it does. */
function refusedInputRequest(result: JsonObject, context: InspectionContext): { method: string; reasons: readonly string[] } | undefined {
  const requests = result.inputRequests;
  if (requests === undefined) return undefined;
  if (!isObject(requests)) return { method: "inputRequests", reasons: ["the server's inputRequests is malformed"] };
  for (const request of Object.values(requests)) {
    const method = isObject(request) && typeof request.method === "string" ? request.method : "";
    const action = serverRequestActions[method];
    if (action === undefined) return { method: method || "(none)", reasons: [`the gateway does not forward "${method}" input requests`] };
    const decision = context.decide("tool", context.tool ?? "", action);
    if (!decision.allow) return { method, reasons: decision.reasons };
  }
  return undefined;
}

function refuse(id: unknown, refused: { method: string; reasons: readonly string[] }, context: InspectionContext): Verdict {
  const why = refused.reasons.join("; ") || "no rule allows it";
  const error = new TollgateError("TG_ERR_POLICY_DENIED", `Denied by policy: the server asked the agent for ${refused.method}: ${why}`, {
    reason: "mcp.input_request_denied",
    reasons: refused.reasons,
  });
  const answer = errorAnswer(isJsonRpcId(id) ? id : null, jsonRpcCodes.forbidden, error.message, refused.reasons);
  const data = (answer.error as JsonObject).data as JsonObject;
  data.request_id = context.requestId;
  return { kind: "refuse", text: JSON.stringify(answer), error };
}

function errorAnswer(id: JsonRpcId | null, code: number, message: string, reasons: readonly string[]): JsonObject {
  const data: JsonObject = { code: code === jsonRpcCodes.forbidden ? "TG_ERR_POLICY_DENIED" : "TG_ERR_UNCLASSIFIED" };
  if (reasons.length > 0) data.reasons = reasons;
  return { jsonrpc: "2.0", id, error: { code, message, data } };
}
