import { randomUUID } from "node:crypto";
import type { Span } from "@opentelemetry/api";
import type { BudgetHold } from "../budget/budget-hold.ts";
import type { TollgateError } from "../errors/tollgate-error.ts";
import type { SpiffeId } from "../identity/spiffe-id.ts";
import type { Resource } from "./resource.ts";

export type Protocol = "llm" | "mcp" | "vector" | "admin";

export interface Caller {
  id: SpiffeId;
  auth: "x509-svid" | "jwt-svid";
}

export interface RecordedDecision {
  allow: boolean;
  reasons: readonly string[];
  /** The policy bundle revision that decided. */
  revision: string | undefined;
}

export interface UpstreamRecord {
  /** The configured provider (or server) name, never its URL or credentials. */
  provider: string;
  /** The model name at the provider. */
  model?: string;
  /** Attempts made, retries and fallbacks included. */
  attempts: number;
}

export interface TokenUsage {
  input: number;
  output: number;
  /** Input tokens served from the provider's prompt cache (a subset of `input`). */
  cachedInput?: number;
  /** Input tokens written to the provider's prompt cache (a subset of `input`; Anthropic prices them higher). */
  cacheWriteInput?: number;
  /** Output tokens spent on reasoning (a subset of `output`). */
  reasoning?: number;
  /** Counted by the gateway (the provider reported none, e.g. the caller left mid-stream). */
  estimated?: boolean;
}

/** What a request cost, priced when it was made. */
export interface RequestCost {
  /** Integer micro-dollars (1 USD = 1,000,000). */
  microUsd: number;
  /** The price list entry used, so a report can show which price was in force. */
  priceId: string;
}

/**
 * How a request ended: `ok` (the upstream answered 2xx), `denied` (authentication or policy),
 * `rejected` (bad input, unknown route, budget), `upstream_error` (the provider answered an error or
 * could not be reached), `aborted` (the caller went away first), `error` (a gateway bug).
 */
export type Outcome = "ok" | "denied" | "rejected" | "upstream_error" | "aborted" | "error";

/**
 * Everything the gateway learns about one request as it passes the gate stages. Stages and protocol
 * modules fill it in; when the response is over (sent, failed or abandoned) the exchange is finished
 * exactly once, and the finishers registered at start (access log, tracing; budgets and audit later)
 * read it. Nothing is recorded twice and no exit path escapes it.
 */
export class Exchange {
  readonly id: string;
  readonly receivedAt: Date;
  readonly startedAt: number;
  readonly method: string;
  readonly path: string;
  protocol: Protocol;
  target: string | undefined;
  caller: Caller | undefined;
  resource: Resource | undefined;
  decision: RecordedDecision | undefined;
  upstream: UpstreamRecord | undefined;
  usage: TokenUsage | undefined;
  cost: RequestCost | undefined;
  /** What the budget stage reserved for this request, settled when it finishes. */
  budget: BudgetHold | undefined;
  /**
   * Set by a protocol module once a response is under way: the usage to count if the exchange ends
   * before the provider reported any (the caller left, the stream was cut), from what was seen.
   */
  usageFallback: (() => TokenUsage) | undefined;
  status = 0;
  outcome: Outcome | undefined;
  error: TollgateError | undefined;
  span: Span | undefined;
  durationMs = 0;
  private finished = false;

  /** Whether the exchange has finished (its finishers ran): anything learnt later is too late for them. */
  get isFinished(): boolean {
    return this.finished;
  }

  constructor(method: string, path: string, protocol: Protocol, id: string = randomUUID()) {
    this.id = id;
    this.receivedAt = new Date();
    this.startedAt = performance.now();
    this.method = method;
    this.path = path;
    this.protocol = protocol;
  }

  /** Records an error the caller was answered with, and the outcome it implies. */
  fail(error: TollgateError): void {
    this.error = error;
    this.outcome ??= outcomeOf(error);
  }

  /** Runs the finishers once; later calls do nothing. Returns whether this call finished it. */
  finish(status: number, aborted: boolean, finishers: readonly ExchangeFinisher[]): boolean {
    if (this.finished) return false;
    this.finished = true;
    this.status = status;
    this.durationMs = performance.now() - this.startedAt;
    // An outcome already known (the provider cut the stream off, say) is kept; otherwise an unfinished
    // response means the caller went away.
    if (aborted) this.outcome ??= "aborted";
    this.outcome ??= status >= 200 && status < 400 ? "ok" : "error";
    for (const finisher of finishers) finisher(this);
    return true;
  }
}

export type ExchangeFinisher = (exchange: Exchange) => void;

function outcomeOf(error: TollgateError): Outcome {
  switch (error.class) {
    case "authentication":
    case "permission":
      return "denied";
    case "invalid_request":
    case "not_found":
    case "payload_too_large":
    case "rate_limit":
      return "rejected";
    case "upstream":
    case "timeout":
      return "upstream_error";
    case "unavailable":
    case "internal":
      return "error";
  }
}
