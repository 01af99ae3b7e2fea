import type { Resource } from "../gate/resource.ts";

/**
 * The policy input: a public API (DESIGN.md, "Policy input"), changed only by adding fields.
 *
 * ```json
 * { "source": "spiffe://ai.company.org/agent/customer-support/v2",
 *   "target": "spiffe://ai.company.org/service/llm-proxy",
 *   "method": "POST", "path": "/v1/chat/completions",
 *   "source_id": {"trust_domain": "ai.company.org", "path": "/agent/customer-support/v2",
 *                 "segments": ["agent", "customer-support", "v2"], "auth": "x509-svid"},
 *   "resource": {"kind": "model", "name": "gpt-4o-mini", "provider": "openai", "action": "chat"},
 *   "request": {"stream": true, "max_tokens": 512},
 *   "now": "2026-12-04T19:00:00Z" }
 * ```
 */
export interface PolicyInput {
  /** The caller's SPIFFE ID. */
  source: string;
  /** The SPIFFE ID configured for the upstream (LLM route, MCP server, vector database). */
  target: string;
  method: string;
  /** The request path, without the query string. */
  path: string;
  source_id: PolicySourceId;
  resource: Resource;
  /** Facts about the request the policy may use (never the prompt): stream, max_tokens, ... */
  request: PolicyRequestFacts;
  /** RFC 3339 in UTC to the second: the wasm target has no time built-ins, so rules read this. */
  now: string;
}

export type AuthMethod = "x509-svid" | "jwt-svid";

export interface PolicySourceId {
  trust_domain: string;
  /** The ID's path, with its leading "/". */
  path: string;
  segments: readonly string[];
  auth: AuthMethod;
}

export type PolicyRequestFacts = Readonly<Record<string, unknown>>;

/** An authenticated caller, as the identity stage records it on the exchange. */
export interface PolicyCaller {
  readonly id: {
    readonly uri: string;
    readonly trustDomain: string;
    readonly path: string;
    readonly segments: readonly string[];
  };
  readonly auth: AuthMethod;
}

export interface PolicyRequest {
  target: string;
  method: string;
  /** The URL path; a query string is cut off, so rules on `input.path` cannot be sidestepped with one. */
  path: string;
  resource: Resource;
  facts?: PolicyRequestFacts;
}

interface CallerFacts {
  source: string;
  source_id: PolicySourceId;
}

// The caller's part of the input is the same for every request on a connection: it is built once
// per verified identity (the identity stage keeps one id object per connection) and then shared.
const callerFacts = new WeakMap<PolicyCaller["id"], Map<AuthMethod, CallerFacts>>();

const noFacts: PolicyRequestFacts = Object.freeze({});

export function buildPolicyInput(caller: PolicyCaller, request: PolicyRequest, nowMs: number = Date.now()): PolicyInput {
  const { source, source_id } = factsOf(caller);
  const query = request.path.indexOf("?");
  return {
    source,
    target: request.target,
    method: request.method,
    path: query === -1 ? request.path : request.path.slice(0, query),
    source_id,
    resource: request.resource,
    request: request.facts ?? noFacts,
    now: policyNow(nowMs),
  };
}

function factsOf(caller: PolicyCaller): CallerFacts {
  let byAuth = callerFacts.get(caller.id);
  if (byAuth === undefined) {
    byAuth = new Map();
    callerFacts.set(caller.id, byAuth);
  }
  let facts = byAuth.get(caller.auth);
  if (facts === undefined) {
    facts = {
      source: caller.id.uri,
      source_id: Object.freeze({
        trust_domain: caller.id.trustDomain,
        path: caller.id.path,
        segments: Object.freeze([...caller.id.segments]),
        auth: caller.auth,
      }),
    };
    byAuth.set(caller.auth, facts);
  }
  return facts;
}

let nowSecond = Number.NaN;
let nowText = "";

/** `input.now` for a time in epoch milliseconds: "2026-12-04T19:00:00Z" (formatted once per second). */
export function policyNow(epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  if (second !== nowSecond) {
    nowText = new Date(second * 1000).toISOString().replace(".000Z", "Z");
    nowSecond = second;
  }
  return nowText;
}
