import { pipeline } from "node:stream";
import type { Span } from "@opentelemetry/api";
import type { FastifyReply } from "fastify";
import type { LlmApi } from "../../config/schema.ts";
import { TollgateError } from "../../errors/tollgate-error.ts";
import type { Exchange } from "../../gate/exchange.ts";
import { scrubSecrets } from "../../upstream/secret-scrubber.ts";
import type { UpstreamAnswer } from "../../upstream/upstream-client.ts";
import { endGenAiSpan, recordDeployment } from "./gen-ai-span.ts";
import { returnedHeaders } from "./passthrough-headers.ts";
import { ResponseTap } from "./response-tap.ts";

/** The most of an upstream error body that is read (and scrubbed) before being passed on. */
const maxErrorBody = 64 * 1024;

/**
 * Answers the caller with what the upstream answered. A success streams through unchanged (SSE stays
 * SSE, with backpressure: a slow caller slows the read from the provider) while usage is read off it.
 * An error is passed on with the provider's status and body, scrubbed of credentials and internal
 * hosts, except the provider refusing the gateway's own credentials, which is the operator's problem,
 * not the agent's, and becomes a 502.
 */
export async function replyWithUpstream(
  reply: FastifyReply,
  exchange: Exchange,
  api: LlmApi,
  answer: UpstreamAnswer,
  span: Span,
): Promise<void> {
  const { response, deployment, attempts } = answer;
  recordDeployment(span, deployment, attempts);
  exchange.upstream = { provider: deployment.provider.name, attempts, ...(deployment.model ? { model: deployment.model } : {}) };
  const status = response.statusCode;

  if (status >= 200 && status < 300) {
    const contentType = headerValue(response.headers["content-type"]);
    const tap = new ResponseTap(api, contentType, (facts) => {
      if (facts.usage !== undefined) exchange.usage = facts.usage;
      endGenAiSpan(span, status, facts);
    });
    const headers = returnedHeaders(response.headers, false);
    if (contentType?.startsWith("text/event-stream")) {
      headers["cache-control"] = "no-cache";
      headers["x-accel-buffering"] = "no";
    }
    pipeline(response.body, tap, (error) => {
      if (error !== undefined && error !== null && !reply.raw.destroyed) {
        exchange.outcome = "upstream_error";
        span.end();
      }
    });
    return reply.code(status).headers(headers).send(tap);
  }

  exchange.outcome = "upstream_error";
  const body = await readBounded(response.body);
  endGenAiSpan(span, status, undefined);
  if (status === 401 || status === 403) {
    throw new TollgateError(
      "TG_ERR_UPSTREAM_FAILED",
      `The provider "${deployment.provider.name}" refused the gateway's credentials (HTTP ${status}); an operator must fix its key.`,
      { reason: "upstream.credentials_rejected" },
    );
  }
  return reply
    .code(status)
    .headers(returnedHeaders(response.headers, true))
    .send(scrubSecrets(body.toString("utf8"), deployment.provider.secrets));
}

async function readBounded(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxErrorBody) {
      chunks.push(chunk.subarray(0, chunk.length - (size - maxErrorBody)));
      body.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
