import type { FastifyReply, FastifyRequest } from "fastify";
import type { TollgateError } from "../errors/tollgate-error.ts";

/**
 * What every protocol does before answering with an error, whatever its wire format: record the error
 * on the exchange (its outcome, for the log line and the audit row), log a bug with its cause, and,
 * when the answer has already begun (a stream that failed midway), end the connection instead, since a
 * second status line cannot be sent. Returns the reply to shape the error on, with its status and
 * headers set, or undefined when the connection was ended.
 */
export function errorReply(request: FastifyRequest, reply: FastifyReply, error: TollgateError): FastifyReply | undefined {
  const exchange = request.exchange;
  exchange.fail(error);
  if (error.code === "TG_ERR_INTERNAL") request.log.error({ err: error.cause, reqId: exchange.id }, "internal error");
  if (reply.sent || reply.raw.headersSent) {
    reply.raw.destroy();
    return undefined;
  }
  return reply.code(error.status).headers(error.headers ?? {});
}
