/**
 * Writing the demo provider's answers: JSON bodies and server-sent event streams, both honouring a
 * stall-stream fault. A stream is written in one go (the demo has no reason to wait between events),
 * which keeps the provider cheap enough to serve as the loadtest's upstream.
 */
import type { OutgoingHttpHeaders } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import { exchangeOf, untilClosed } from "./demo-exchange.ts";

/** One SSE event carrying only data, as OpenAI's chat completions stream sends them. */
export function sseData(json: string): string {
  return `data: ${json}\n\n`;
}

/** One SSE event with its type, as OpenAI's Responses API and Anthropic's Messages API send them. */
export function sseEvent(type: string, json: string): string {
  return `event: ${type}\ndata: ${json}\n\n`;
}

/** Sends `body` as JSON, or its headers only if a stall-stream fault claimed this request. */
export async function sendJson(
  request: FastifyRequest,
  reply: FastifyReply,
  body: unknown,
  status = 200,
): Promise<void> {
  const exchange = exchangeOf(request);
  if (exchange.stallAfter === undefined) {
    reply.code(status).send(body);
    return;
  }
  const payload = JSON.stringify(body);
  reply.hijack();
  reply.raw.writeHead(status, {
    ...headersOf(reply),
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
  });
  reply.raw.flushHeaders();
  await untilClosed(exchange, reply);
}

/** Sends an event stream made of already framed events (see `sseData` and `sseEvent`). */
export async function sendEventStream(
  request: FastifyRequest,
  reply: FastifyReply,
  events: readonly string[],
): Promise<void> {
  const exchange = exchangeOf(request);
  reply.hijack();
  // No content-length: the stream goes out chunked, as the real providers send it.
  reply.raw.writeHead(200, {
    ...headersOf(reply),
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
  });
  if (exchange.stallAfter === undefined) {
    reply.raw.end(events.join(""));
    return;
  }
  const written = events.slice(0, exchange.stallAfter).join("");
  if (written.length > 0) reply.raw.write(written);
  else reply.raw.flushHeaders();
  await untilClosed(exchange, reply);
}

/** Headers set through Fastify (the request id) must also reach a response written directly. */
function headersOf(reply: FastifyReply): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}
