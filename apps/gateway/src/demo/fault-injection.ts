/**
 * Applying a queued fault to the request that claimed it, before the request's handler runs.
 * Stall-stream faults are only noted here: the response writer applies them (see response-writer.ts).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { DemoFault, StatusFault } from "./demo-faults.ts";
import { untilClosed, type DemoExchange } from "./demo-exchange.ts";
import { faultMessage, ProviderError, providerErrorBody } from "./provider-error.ts";

/** What is left to do after a fault: answer the request normally, or nothing (the fault answered). */
export type FaultResult = "continue" | "answered";

export async function applyFault(
  fault: DemoFault,
  exchange: DemoExchange,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FaultResult> {
  exchange.record.fault = fault.kind ?? "status";
  switch (fault.kind) {
    case undefined:
    case "status":
      sendStatus(fault, exchange, reply);
      return "answered";
    case "reset":
      exchange.resetByProvider = true;
      reply.hijack();
      request.raw.socket.destroy();
      return "answered";
    case "hang":
      reply.hijack();
      await untilClosed(exchange, reply);
      return "answered";
    case "stall-stream":
      exchange.stallAfter = fault.afterChunks;
      return "continue";
    case "gate": {
      const released = fault.release.then(
        () => "continue" as const,
        () => "continue" as const,
      );
      const closed = untilClosed(exchange, reply).then(() => "answered" as const);
      const result = await Promise.race([released, closed]);
      // The client left while the request was held: there is nobody left to answer.
      if (result === "answered") reply.hijack();
      return result;
    }
  }
}

function sendStatus(fault: StatusFault, exchange: DemoExchange, reply: FastifyReply): void {
  reply.code(fault.status);
  if (fault.headers !== undefined) reply.headers(fault.headers);
  if (fault.body !== undefined) {
    reply.send(fault.body);
    return;
  }
  const error = new ProviderError(fault.status, faultMessage(fault.status));
  reply.send(providerErrorBody(exchange.record.family, error, exchange.requestId));
}
