/**
 * The catalogue of Tollgate's own errors.
 *
 * Every error the gateway raises has a stable `TG_ERR_*` code, an HTTP status and a class that each
 * protocol module maps to its own wire format (OpenAI's `type`, Anthropic's `error.type`, a JSON-RPC
 * code, a vector database's error body). The audit record keeps the code and the reason; only the
 * message, which is written for the caller, leaves the gateway.
 */
export type ErrorClass =
  | "invalid_request"
  | "authentication"
  | "permission"
  | "not_found"
  | "payload_too_large"
  | "rate_limit"
  | "upstream"
  | "timeout"
  | "unavailable"
  | "internal";

export interface CatalogueEntry {
  readonly status: number;
  readonly class: ErrorClass;
}

export const catalogue = {
  /** The request is malformed: bad JSON, a missing or mistyped field the gateway must read. */
  TG_ERR_BAD_REQUEST: { status: 400, class: "invalid_request" },
  /** No client certificate (and no other credential) was presented. */
  TG_ERR_UNAUTHENTICATED: { status: 401, class: "authentication" },
  /** A client certificate was presented but is not a valid X.509-SVID for a configured trust domain. */
  TG_ERR_SVID_REJECTED: { status: 401, class: "authentication" },
  /** The policy denied the request. */
  TG_ERR_POLICY_DENIED: { status: 403, class: "permission" },
  /** The request matches no classified operation, so no policy could allow it. */
  TG_ERR_UNCLASSIFIED: { status: 404, class: "not_found" },
  /** The model named in the request has no route in the configuration. */
  TG_ERR_UNKNOWN_MODEL: { status: 404, class: "not_found" },
  /** The path names an MCP server that is not configured. */
  TG_ERR_MCP_UNKNOWN_SERVER: { status: 404, class: "not_found" },
  /** The Mcp-Session-Id is unknown, ended, bound to another caller, or lives on another replica (stdio): start a new session. */
  TG_ERR_MCP_SESSION_NOT_FOUND: { status: 404, class: "not_found" },
  /** MCP 2026-07-28: a mirrored header (Mcp-Method, Mcp-Name, MCP-Protocol-Version) is missing or disagrees with the body (JSON-RPC -32020). */
  TG_ERR_MCP_HEADER_MISMATCH: { status: 400, class: "invalid_request" },
  /** The MCP-Protocol-Version is one this gateway cannot check (JSON-RPC -32022). */
  TG_ERR_MCP_UNSUPPORTED_VERSION: { status: 400, class: "invalid_request" },
  /** The HTTP method is not one this endpoint serves (e.g. GET on a 2026-07-28 MCP endpoint). */
  TG_ERR_METHOD_NOT_ALLOWED: { status: 405, class: "invalid_request" },
  /** The model exists but none of its deployments speaks the API that was called. */
  TG_ERR_NO_DEPLOYMENT: { status: 400, class: "invalid_request" },
  /** The request body is larger than the configured limit. */
  TG_ERR_BODY_TOO_LARGE: { status: 413, class: "payload_too_large" },
  /** Budgets or rate limits are exhausted. */
  TG_ERR_BUDGET_EXCEEDED: { status: 429, class: "rate_limit" },
  /** A USD budget applies but the model has no price, so it cannot be enforced. */
  TG_ERR_UNPRICED_MODEL: { status: 403, class: "permission" },
  /** Every deployment failed: connection refused or reset, or a 5xx after all retries. */
  TG_ERR_UPSTREAM_FAILED: { status: 502, class: "upstream" },
  /** The upstream did not answer in time. */
  TG_ERR_UPSTREAM_TIMEOUT: { status: 504, class: "timeout" },
  /** A dependency of the gateway (policy bundle, budget store, audit sink) is not available. */
  TG_ERR_UNAVAILABLE: { status: 503, class: "unavailable" },
  /** A bug: never shown with details to the caller. */
  TG_ERR_INTERNAL: { status: 500, class: "internal" },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof catalogue;
