import type { Span } from "@opentelemetry/api";
import type { FastifyReply } from "fastify";
import type { LlmApi } from "../../config/schema.ts";
import { TollgateError } from "../../errors/tollgate-error.ts";
import type { Exchange } from "../../gate/exchange.ts";
import type { ErrorAnswer, UpstreamAnswer } from "../../upstream/upstream-client.ts";
import { endGenAiSpan, recordDeployment } from "./gen-ai-span.ts";
import { returnedHeaders } from "./passthrough-headers.ts";
import { ResponseTap } from "./response-tap.ts";
import type { ResponseFacts } from "./usage.ts";
import { streamEnding } from "./stream-cut.ts";
import { UsageChunkRemover } from "./stream-usage.ts";

/** What the LLM module asks of a successful answer beyond passing it on. */
export interface ReplyOptions {
  /** The gateway asked the stream for usage the caller did not ask for: take it out again. */
  stripUsage?: boolean;
  /** Cut the stream off once its output reaches this many tokens (the budget's hard stop). */
  hardStopAt?: number | undefined;
  /** Counts generated text (for the hard stop, and for a stream that ends without usage). */
  countOutput?: (text: string) => number;
  /** The prompt's input tokens, counted when first asked (for an answer that ends without usage). */
  estimatedInput?: () => number;
  /** Gets what was read from the answer once it has been passed on whole (jobs, for account APIs). */
  onFacts?: (facts: ResponseFacts) => void;
}

/**
 * Answers the caller with what the upstream answered. A success streams through unchanged (SSE stays
 * SSE, with backpressure: a slow caller slows the read from the provider) while usage is read off it.
 * An error is passed on with the provider's status and body, scrubbed of credentials and internal
 * hosts, except the provider refusing the gateway's own credentials, which is the operator's problem,
 * not the agent's, and becomes a 502, as does an answer that is neither a success nor an error.
 */
export async function replyWithUpstream(
  reply: FastifyReply,
  exchange: Exchange,
  api: LlmApi,
  answer: UpstreamAnswer,
  span: Span,
  options: ReplyOptions = {},
): Promise<void> {
  const { deployment, attempts, status } = answer;
  recordDeployment(span, deployment, attempts);
  exchange.upstream = { provider: deployment.provider.name, attempts, ...(deployment.model ? { model: deployment.model } : {}) };
  if (!answer.ok) return replyWithError(reply, exchange, answer, span);

  let spanOpen = true;
  const endSpan = (facts: Parameters<typeof endGenAiSpan>[2]) => {
    if (!spanOpen) return;
    spanOpen = false;
    endGenAiSpan(span, status, facts);
  };
  const contentType = headerValue(answer.headers["content-type"]);
  const tap = new ResponseTap(api, contentType, (facts) => {
    if (facts.usage !== undefined) exchange.usage = facts.usage;
    endSpan(facts);
    options.onFacts?.(facts);
  });
  const headers = returnedHeaders(answer.headers, false);
  if (tap.streaming) {
    headers["cache-control"] = "no-cache";
    headers["x-accel-buffering"] = "no";
  }
  // Wired by hand rather than with stream.pipeline, which allocates an AbortController (and a
  // DOMException when done) per request. Both ways of ending early are covered:
  const body = answer.body;
  body.once("error", (error) => {
    // Reading was stopped on purpose (the hard stop): the caller's stream is already complete.
    if (tap.cut) return;
    // The provider failed mid-body (a reset, an idle timeout): its failure, not the caller's leaving.
    exchange.outcome = "upstream_error";
    endSpan(undefined);
    tap.destroy(error);
  });
  tap.once("close", () => {
    // The caller left (the reply destroyed the tap): stop reading, which aborts the upstream request.
    if (!body.destroyed && !body.readableEnded) {
      endSpan(undefined);
      body.destroy();
    }
  });
  // If the exchange ends before the provider reported usage, count what was seen.
  const countOutput = options.countOutput;
  if (options.estimatedInput !== undefined && countOutput !== undefined) {
    const input = options.estimatedInput;
    exchange.usageFallback = () => ({ input: input(), output: tap.streaming ? Math.ceil(countOutput(tap.outputText())) : 0, estimated: true });
  }
  if (options.hardStopAt !== undefined && countOutput !== undefined && tap.streaming) {
    const limit = options.hardStopAt;
    let produced = 0;
    tap.watchOutput((text) => {
      produced += countOutput(text);
      if (produced >= limit && !tap.cut) {
        tap.cutOff(streamEnding(api));
        body.destroy();
      }
    });
  }
  body.pipe(tap);
  // Wired by hand rather than with stream.pipeline, which allocates an AbortController (and a
  // DOMException when done) per request.
  const sent = options.stripUsage === true && tap.streaming ? tap.pipe(new UsageChunkRemover()) : tap;
  if (sent !== tap) tap.once("error", (error) => sent.destroy(error));
  return reply.code(status).headers(headers).send(sent);
}

function replyWithError(reply: FastifyReply, exchange: Exchange, answer: ErrorAnswer, span: Span): FastifyReply {
  const { deployment, status } = answer;
  exchange.outcome = "upstream_error";
  endGenAiSpan(span, status, undefined);
  if (status === 401 || status === 403) {
    throw new TollgateError(
      "TG_ERR_UPSTREAM_FAILED",
      `The provider "${deployment.provider.name}" refused the gateway's credentials (HTTP ${status}); an operator must fix its key.`,
      { reason: "upstream.credentials_rejected" },
    );
  }
  if (status < 400) {
    // A redirect or another non-final answer: its location would be the provider's, and no SDK follows it.
    throw new TollgateError("TG_ERR_UPSTREAM_FAILED", `The provider "${deployment.provider.name}" gave an unexpected answer (HTTP ${status}).`, {
      reason: "upstream.unexpected_status",
    });
  }
  return reply
    .code(status)
    .headers(returnedHeaders(answer.headers, true))
    .send(deployment.provider.scrubber.scrub(answer.body.toString("utf8")));
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
