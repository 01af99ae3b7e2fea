import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, type Dispatcher, Pool } from "undici";
import type { LlmApi } from "../config/schema.ts";
import { type BackoffPolicy, backoffDelay } from "./backoff.ts";
import type { Deployment } from "./model-routes.ts";
import { classifyFailure, failureError } from "./upstream-failure.ts";

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

export interface UpstreamAnswer {
  response: Dispatcher.ResponseData;
  deployment: Deployment;
  attempts: number;
}

const retryableStatus = (status: number): boolean => status === 429 || status >= 500;

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

  /** `connections`: the most connections to keep open per upstream origin (default 256). */
  constructor(backoff: BackoffPolicy, connections: ReadonlyMap<string, number> = new Map()) {
    this.backoff = backoff;
    this.agent = new Agent({
      factory: (origin, options) =>
        new Pool(origin, { ...options, connections: connections.get(String(origin)) ?? 256 }),
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      connect: { timeout: 10_000 },
    });
  }

  async send(request: UpstreamRequest): Promise<UpstreamAnswer> {
    const streamed = request.body !== undefined && !Buffer.isBuffer(request.body) && typeof request.body !== "function";
    let attempts = 0;
    let lastAnswer: UpstreamAnswer | undefined;
    let lastFailure: { kind: "timeout" | "connection" | "aborted"; error: unknown; provider: string } | undefined;

    for (const deployment of request.plan) {
      const retries = streamed ? 0 : this.backoff.attempts;
      for (let retry = 0; retry <= retries; retry++) {
        attempts++;
        request.onAttempt?.(deployment, attempts);
        const target = deployment.provider.target({
          api: request.api,
          subpath: request.subpath,
          search: request.search,
          model: deployment.model,
        });
        let headersForRetry: Record<string, string | string[] | undefined> | undefined;
        try {
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
          if (!retryableStatus(response.statusCode) || streamed) {
            if (lastAnswer !== undefined) lastAnswer.response.body.destroy();
            return { response, deployment, attempts };
          }
          if (lastAnswer !== undefined) lastAnswer.response.body.destroy();
          lastAnswer = { response, deployment, attempts };
          lastFailure = undefined;
          headersForRetry = response.headers;
          // Keep the body of the latest failure unread: it is what the caller gets if nothing succeeds.
        } catch (error) {
          const kind = classifyFailure(error, request.signal);
          if (kind === undefined) throw error;
          if (kind === "aborted") throw failureError("aborted", deployment.provider.name, attempts, error);
          lastFailure = { kind, error, provider: deployment.provider.name };
          if (lastAnswer !== undefined) {
            lastAnswer.response.body.destroy();
            lastAnswer = undefined;
          }
          if (streamed) throw failureError(kind, deployment.provider.name, attempts, error);
        }
        if (retry === retries) break;
        const delay = backoffDelay(this.backoff, retry, headersForRetry);
        if (delay === undefined) break;
        if (delay > 0) {
          try {
            await sleep(delay, undefined, { signal: request.signal });
          } catch (error) {
            lastAnswer?.response.body.destroy();
            throw failureError("aborted", deployment.provider.name, attempts, error);
          }
        }
      }
    }
    if (lastAnswer !== undefined) return { ...lastAnswer, attempts };
    if (lastFailure !== undefined) throw failureError(lastFailure.kind, lastFailure.provider, attempts, lastFailure.error);
    throw failureError("connection", "none", attempts, new Error("empty deployment plan"));
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
