import { TollgateError } from "../../errors/tollgate-error.ts";

/** MCP forbids null ids; JSON-RPC allows strings and numbers. */
export type JsonRpcId = string | number;

export type JsonObject = Record<string, unknown>;

/**
 * One JSON-RPC message an agent POSTed, read only as far as the gateway must: its kind, id, method and
 * params. `raw` is the body exactly as it came, which is what an HTTP server receives.
 */
export type ClientMessage =
  | { kind: "request"; id: JsonRpcId; method: string; params: JsonObject | undefined; raw: Buffer; json: JsonObject }
  | { kind: "notification"; method: string; params: JsonObject | undefined; raw: Buffer; json: JsonObject }
  | { kind: "response"; id: JsonRpcId; raw: Buffer; json: JsonObject };

function invalid(message: string, reason = "jsonrpc.invalid_request"): TollgateError {
  return new TollgateError("TG_ERR_BAD_REQUEST", message, { reason });
}

/**
 * Parses a POSTed body into one JSON-RPC message. A batch (a JSON array) is refused: since 2025-06-18
 * the body of a POST "MUST be a single JSON-RPC request, notification, or response", and a gateway
 * that split batches would have to authorize, forward and answer each part as its own exchange.
 */
export function parseClientMessage(raw: Buffer): ClientMessage {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch (error) {
    throw invalid(`Parse error: the body is not valid JSON (${(error as Error).message}).`, "jsonrpc.parse_error");
  }
  if (Array.isArray(json)) {
    throw invalid("JSON-RPC batches are not accepted: MCP sends one message per POST (since protocol version 2025-06-18).", "jsonrpc.batch");
  }
  if (!isObject(json)) throw invalid("A JSON-RPC message must be a JSON object.");
  if (json.jsonrpc !== "2.0") throw invalid('A JSON-RPC message must have "jsonrpc": "2.0".');
  const hasId = "id" in json;
  const id = json.id;
  if (hasId && !isJsonRpcId(id)) throw invalid("A JSON-RPC id must be a string or an integer (MCP does not allow null).");
  const method = json.method;
  if (method !== undefined) {
    if (typeof method !== "string" || method === "") throw invalid("A JSON-RPC method must be a non-empty string.");
    const params = json.params;
    if (params !== undefined && !isObject(params)) throw invalid("MCP params must be a JSON object.", "jsonrpc.invalid_params");
    return hasId
      ? { kind: "request", id: id as JsonRpcId, method, params, raw, json }
      : { kind: "notification", method, params, raw, json };
  }
  if (hasId && ("result" in json || "error" in json)) return { kind: "response", id: id as JsonRpcId, raw, json };
  throw invalid("A JSON-RPC message must be a request (method and id), a notification (method) or a response (id and result or error).");
}

export function isJsonRpcId(value: unknown): value is JsonRpcId {
  return typeof value === "string" || (typeof value === "number" && Number.isSafeInteger(value));
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The request id of a message, for error answers: null when it has none (a notification, a parse error). */
export function idOf(message: ClientMessage | undefined): JsonRpcId | null {
  return message !== undefined && message.kind !== "notification" ? message.id : null;
}

/** `params._meta` of a request or notification, when it is an object. */
export function metaOf(params: JsonObject | undefined): JsonObject | undefined {
  const meta = params?._meta;
  return isObject(meta) ? meta : undefined;
}
