/**
 * The demo provider's state for one request: its log record, its request id and what a fault asked
 * of its response. Kept beside the raw request rather than as a Fastify decoration, so the rest of
 * the project's Fastify types stay untouched.
 */
import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { RequestRecord } from "./request-log.ts";

export interface DemoExchange {
  readonly record: RequestRecord;
  /** Sent back as `x-request-id` (OpenAI) or `request-id` (Anthropic), and in Anthropic's error bodies. */
  readonly requestId: string;
  /** Set by a stall-stream fault: how many stream events to write before stalling. */
  stallAfter: number | undefined;
  /** Set just before the provider cuts the connection itself, so that is not counted as a client abort. */
  resetByProvider: boolean;
}

const exchanges = new WeakMap<IncomingMessage, DemoExchange>();

export function attachExchange(request: FastifyRequest, exchange: DemoExchange): void {
  exchanges.set(request.raw, exchange);
}

export function findExchange(request: FastifyRequest): DemoExchange | undefined {
  return exchanges.get(request.raw);
}

export function exchangeOf(request: FastifyRequest): DemoExchange {
  const exchange = exchanges.get(request.raw);
  if (exchange === undefined) throw new Error("The demo provider's onRequest hook did not run for this request.");
  return exchange;
}

/** Resolves once the connection of this exchange is closed: the response ended or the client left. */
export async function untilClosed(exchange: DemoExchange, reply: FastifyReply): Promise<void> {
  if (exchange.record.outcome !== "pending") return;
  await once(reply.raw, "close");
}
