import type { ErrorClass, ErrorCode } from "../../errors/catalogue.ts";
import type { TollgateError } from "../../errors/tollgate-error.ts";
import type { JsonRpcId } from "./json-rpc.ts";
import { supportedProtocolVersions } from "./protocol-version.ts";

/**
 * JSON-RPC error codes of the gateway's own answers. JSON-RPC's standard codes where they fit; the
 * MCP specification's own (-32020 header mismatch, -32022 unsupported version); otherwise codes from
 * -32000 to -32019, which MCP leaves to implementations. -32001 is "Session not found", as the official
 * SDK's servers answer it.
 */
export const jsonRpcCodes = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  serverError: -32000,
  sessionNotFound: -32001,
  forbidden: -32003,
  quotaExceeded: -32005,
  unauthenticated: -32006,
  unknownServer: -32007,
  upstreamFailed: -32010,
  upstreamTimeout: -32011,
  headerMismatch: -32020,
  unsupportedProtocolVersion: -32022,
} as const;

/** By the error's class, so that catalogue entries added later are covered without a change here. */
const byClass: Record<ErrorClass, number> = {
  invalid_request: jsonRpcCodes.invalidRequest,
  authentication: jsonRpcCodes.unauthenticated,
  permission: jsonRpcCodes.forbidden,
  not_found: jsonRpcCodes.methodNotFound,
  payload_too_large: jsonRpcCodes.invalidRequest,
  rate_limit: jsonRpcCodes.quotaExceeded,
  upstream: jsonRpcCodes.upstreamFailed,
  timeout: jsonRpcCodes.upstreamTimeout,
  unavailable: jsonRpcCodes.serverError,
  internal: jsonRpcCodes.internalError,
};

/** Codes more precise than their class's. */
const byCode: Partial<Record<ErrorCode, number>> = {
  TG_ERR_MCP_UNKNOWN_SERVER: jsonRpcCodes.unknownServer,
  TG_ERR_MCP_SESSION_NOT_FOUND: jsonRpcCodes.sessionNotFound,
  TG_ERR_MCP_HEADER_MISMATCH: jsonRpcCodes.headerMismatch,
  TG_ERR_MCP_UNSUPPORTED_VERSION: jsonRpcCodes.unsupportedProtocolVersion,
  TG_ERR_METHOD_NOT_ALLOWED: jsonRpcCodes.serverError,
};

/** Reasons of TG_ERR_BAD_REQUEST that JSON-RPC has a more precise code for. */
const byReason: Readonly<Record<string, number>> = {
  "jsonrpc.parse_error": jsonRpcCodes.parseError,
  "request.invalid_json": jsonRpcCodes.parseError,
  "jsonrpc.invalid_params": jsonRpcCodes.invalidParams,
};

export function jsonRpcCodeOf(error: TollgateError): number {
  return byReason[error.reason] ?? byCode[error.code] ?? byClass[error.class];
}

/**
 * A gateway error as a JSON-RPC error response. `data` carries what a client can act on: the
 * catalogue code, the policy's reasons, the request id to quote to an operator, and for an
 * unsupported version the versions that are supported (as MCP's UnsupportedProtocolVersionError has it).
 */
export function jsonRpcErrorBody(error: TollgateError, id: JsonRpcId | null, requestId: string, requestedVersion?: string): Record<string, unknown> {
  const data: Record<string, unknown> = { code: error.code, request_id: requestId };
  if (error.reasons.length > 0) data.reasons = error.reasons;
  const retryAfter = error.headers?.["retry-after"];
  if (retryAfter !== undefined) data.retry_after_seconds = Number(retryAfter);
  if (error.code === "TG_ERR_MCP_UNSUPPORTED_VERSION") {
    data.requested = requestedVersion ?? "";
    data.supported = supportedProtocolVersions;
  }
  return { jsonrpc: "2.0", id, error: { code: jsonRpcCodeOf(error), message: error.message, data } };
}

/**
 * The HTTP status an error answer goes out with. A refusal the gateway makes on behalf of the server
 * about a request it understood (the policy's deny, a quota) is an ordinary JSON-RPC error response,
 * HTTP 200, as an MCP server answers a request it will not serve: MCP clients then raise it as a
 * protocol error with its code and data, not as a transport failure. Everything else (the message
 * could not be read, the session is gone, the server could not be reached) keeps the catalogue's
 * status, as the transport specification asks (400 for a header mismatch, 404 for an ended session).
 */
export function jsonRpcErrorStatus(error: TollgateError, id: JsonRpcId | null): number {
  if (id !== null && (error.class === "permission" || error.class === "rate_limit")) return 200;
  return error.status;
}
