import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, type Dispatcher, Pool } from "undici";
import type { LlmApi } from "../config/schema.ts";
import { type BackoffPolicy, backoffDelay, type ResponseHeaders } from "./backoff.ts";
import type { Deployment } from "./model-routes.ts";
import { classifyFailure, type FailureKind, failureError } from "./upstream-failure.ts";

export interface UpstreamRequest {
  /** Deployments in the order to try them (see ModelRoutes.plan). */
  plan: readonly Deployment[];
  api: LlmApi;
  method: "GET" | "POST" | "DELETE";
  subpath: string;
  search: string;
  /** Headers of the caller's request that the protocol allows through (never credentials). */
  headers: Record<string, string>;
  /**
   * The body: a buffer (re-sent on retries; a function gives each deployment its own, e.g. with the
   * deployment's model name), or a stream, which can be sent only once and so is never retried.
   */
  body?: Buffer | ((deployment: Deployment) => Buffer) | Readable | undefined;
  signal: AbortSignal;
  /** Called before each attempt, e.g. to record it on the exchange. */
  onAttempt?: (deployment: Deployment, attempt: number) => void;
}

interface AnswerBase {
  status: number;
  headers: ResponseHeaders;
  deployment: Deployment;
  /** Attempts made in all, retries and fallbacks included. */
  attempts: number;
}

/** A 2xx: the body is still streaming from the provider, for the protocol to pass on. */
export interface SuccessAnswer extends AnswerBase {
  ok: true;
  body: Dispatcher.ResponseData["body"];
}

/**
 * Anything else: the start of the body (at most `maxErrorBody` bytes) was read as soon as it came, so
 * the connection went back to the pool and a failure while reading it counted as a failed attempt.
 */
export interface ErrorAnswer extends AnswerBase {
  ok: false;
  body: Buffer;
}

export type UpstreamAnswer = SuccessAnswer | ErrorAnswer;

/** The most of an upstream error body that is kept (to scrub and pass on). */
export const maxErrorBody = 64 * 1024;

/**
 * Whether another attempt may help: a 429 or a 5xx, unless the provider says otherwise with
 * `x-should-retry` (OpenAI and Anthropic send it, e.g. `false` on a 500 that will not get better, or
 * `true` on a 409 lock conflict).
 */
export function retryable(status: number, headers: ResponseHeaders): boolean {
  const advice = headers["x-should-retry"];
  if (advice === "true") return true;
  if (advice === "false") return false;
  return status === 429 || status >= 500;
}

/** What an attempt that got no HTTP answer leaves behind, for the caller's error if nothing answers. */
interface Failure {
  kind: Exclude<FailureKind, "aborted">;
  error: unknown;
  provider: string;
}

/**
 * Sends a request to the first deployment of a plan that answers, with retries and fallback: on a 429,
 * a 5xx, a timeout or a connection error, before any byte has reached the caller, the same deployment
 * is retried with backoff, then the next deployment is tried. Connections are pooled per origin
 * (undici). When the plan is exhausted, the last HTTP answer is returned (a 429 or 5xx for the protocol
 * to pass on), or, when there was none, a 502/504 TollgateError is thrown.
 */
export class UpstreamClient {
  private readonly agent: Agent;
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;

  /**
   * `connections`: the most connections to keep open per upstream origin (default 256).
   * `random`: the jitter source (tests inject their own).
   */
  constructor(backoff: BackoffPolicy, connections: ReadonlyMap<string, number> = new Map(), random: () => number = Math.random) {
    this.backoff = backoff;
    this.random = random;
    this.agent = new Agent({
      factory: (origin, options) => new Pool(origin, { ...options, connections: connections.get(originKey(origin)) ?? 256 }),
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      connect: { timeout: 10_000 },
    });
  }

  async send(request: UpstreamRequest): Promise<UpstreamAnswer> {
    const streamed = request.body !== undefined && !Buffer.isBuffer(request.body) && typeof request.body !== "function";
    const retries = streamed ? 0 : this.backoff.attempts;
    let attempts = 0;
    let lastAnswer: ErrorAnswer | undefined;
    let lastFailure: Failure | undefined;

    for (const deployment of request.plan) {
      for (let retry = 0; retry <= retries; retry++) {
        attempts++;
        request.onAttempt?.(deployment, attempts);
        let askedHeaders: ResponseHeaders | undefined;
        try {
          const answer = await this.attempt(request, deployment, attempts);
          if (answer.ok || !retryable(answer.status, answer.headers) || streamed) return answer;
          lastAnswer = answer;
          askedHeaders = answer.headers;
        } catch (error) {
          const kind = classifyFailure(error, request.signal);
          if (kind === undefined) throw error;
          if (kind === "aborted") throw failureError("aborted", deployment.provider.name, attempts, error);
          // A stream body is gone once sent: nothing can be tried again.
          if (streamed) throw failureError(kind, deployment.provider.name, attempts, error);
          lastFailure = { kind, error, provider: deployment.provider.name };
        }
        if (retry === retries) break;
        const delay = backoffDelay(this.backoff, retry, askedHeaders, this.random);
        // The provider asked for a longer wait than the policy allows: the next deployment now is better.
        if (delay === undefined) break;
        if (delay > 0) {
          try {
            await sleep(delay, undefined, { signal: request.signal });
          } catch (error) {
            throw failureError("aborted", deployment.provider.name, attempts, error);
          }
        }
      }
    }
    // An HTTP answer says more than a failure to connect (a 429 carries its retry-after), so it wins.
    if (lastAnswer !== undefined) return { ...lastAnswer, attempts };
    if (lastFailure !== undefined) throw failureError(lastFailure.kind, lastFailure.provider, attempts, lastFailure.error);
    throw failureError("connection", "none", attempts, new Error("empty deployment plan"));
  }

  /** One request to one deployment; an error answer's body is read here, within `maxErrorBody`. */
  private async attempt(request: UpstreamRequest, deployment: Deployment, attempts: number): Promise<UpstreamAnswer> {
    const target = deployment.provider.target({
      api: request.api,
      subpath: request.subpath,
      search: request.search,
      model: deployment.model,
    });
    const body = typeof request.body === "function" ? request.body(deployment) : request.body;
    const response = await this.agent.request({
      origin: target.origin,
      path: target.path,
      method: request.method,
      headers: { ...target.headers, ...request.headers, "accept-encoding": "identity" },
      body: body ?? null,
      signal: request.signal,
      headersTimeout: deployment.timeoutMs,
      bodyTimeout: deployment.idleTimeoutMs,
    });
    const base = { status: response.statusCode, headers: response.headers, deployment, attempts };
    if (response.statusCode >= 200 && response.statusCode < 300) return { ...base, ok: true, body: response.body };
    return { ...base, ok: false, body: await readBounded(response.body, maxErrorBody) };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** Reads at most `limit` bytes of a body, then lets go of the rest. */
async function readBounded(body: Dispatcher.ResponseData["body"], limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = limit - size;
    if (chunk.length >= room) {
      chunks.push(chunk.subarray(0, room));
      body.destroy();
      break;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks);
}

/** undici hands the factory the origin as it was given (a string) or as a URL. */
function originKey(origin: string | URL): string {
  return typeof origin === "string" ? origin : origin.origin;
}
