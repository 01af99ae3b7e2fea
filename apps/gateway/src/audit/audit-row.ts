/**
 * One audit row as the `audit_events` table holds it (snake_case, the column names): what the writer
 * inserts, what the spool keeps, what `audit verify` re-hashes. Money is integer micro-dollars.
 */
export interface AuditRow {
  request_id: string;
  /** ISO 8601 with milliseconds, UTC: the instant the request was received. */
  occurred_at: string;
  trace_id: string | null;
  protocol: string;
  method: string;
  path: string;
  /** The caller's SPIFFE ID; null when it could not be authenticated. */
  caller: string | null;
  auth_method: string | null;
  /** The spend team the caller belongs to when the row was written (see team-resolver.ts). */
  team: string | null;
  target: string | null;
  resource_kind: string | null;
  resource_name: string | null;
  resource_action: string | null;
  /** "allow" or "deny"; null when the policy was never asked (authentication failed, unknown route). */
  decision: string | null;
  reasons: string[];
  policy_revision: string | null;
  provider: string | null;
  model: string | null;
  attempts: number;
  status: number;
  /** ok, denied, rejected, upstream_error, aborted or error (Exchange's Outcome). */
  outcome: string;
  error_code: string | null;
  error_reason: string | null;
  latency_us: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  reasoning_tokens: number;
  cost_micro_usd: number;
  price_id: string | null;
  /** Protocol-specific facts (MCP server and method, the upstream's own model name, ...). */
  detail: Record<string, unknown>;
  /** Prompt and completion, redacted, when capture is on; null otherwise. */
  capture: Record<string, unknown> | null;
}

/** The chain fields the writer adds; `row_hash` covers every other field and `prev_hash`. */
export interface ChainFields {
  chain_id: string;
  chain_seq: number;
  prev_hash: string;
  row_hash: string;
}

export type ChainedAuditRow = AuditRow & ChainFields;

/** The table's columns in insertion order (the writer's statement and the verifier read this list). */
export const auditColumns = [
  "request_id",
  "chain_id",
  "chain_seq",
  "prev_hash",
  "row_hash",
  "occurred_at",
  "trace_id",
  "protocol",
  "method",
  "path",
  "caller",
  "auth_method",
  "team",
  "target",
  "resource_kind",
  "resource_name",
  "resource_action",
  "decision",
  "reasons",
  "policy_revision",
  "provider",
  "model",
  "attempts",
  "status",
  "outcome",
  "error_code",
  "error_reason",
  "latency_us",
  "input_tokens",
  "output_tokens",
  "cached_input_tokens",
  "reasoning_tokens",
  "cost_micro_usd",
  "price_id",
  "detail",
  "capture",
] as const satisfies ReadonlyArray<keyof ChainedAuditRow>;

/** PostgreSQL types of the columns, for json_to_recordset in the insert statement. */
export const auditColumnTypes: Readonly<Record<(typeof auditColumns)[number], string>> = {
  request_id: "text",
  chain_id: "text",
  chain_seq: "bigint",
  prev_hash: "text",
  row_hash: "text",
  occurred_at: "timestamptz",
  trace_id: "text",
  protocol: "text",
  method: "text",
  path: "text",
  caller: "text",
  auth_method: "text",
  team: "text",
  target: "text",
  resource_kind: "text",
  resource_name: "text",
  resource_action: "text",
  decision: "text",
  reasons: "text[]",
  policy_revision: "text",
  provider: "text",
  model: "text",
  attempts: "integer",
  status: "integer",
  outcome: "text",
  error_code: "text",
  error_reason: "text",
  latency_us: "bigint",
  input_tokens: "bigint",
  output_tokens: "bigint",
  cached_input_tokens: "bigint",
  reasoning_tokens: "bigint",
  cost_micro_usd: "bigint",
  price_id: "text",
  detail: "jsonb",
  capture: "jsonb",
};
