import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { Exchange, type ExchangeFinisher, type Protocol } from "./exchange.ts";

declare module "fastify" {
  interface FastifyRequest {
    exchange: Exchange;
  }
  interface FastifyInstance {
    /**
     * Registers, at start, a function that runs once for every finished exchange. Finishers of the
     * "settle" phase (budgets: usage, cost) run before those of the "record" phase (the log line, the
     * audit row), which therefore see the settled figures; within a phase, in registration order.
     */
    onExchangeFinished(finisher: ExchangeFinisher, phase?: "settle" | "record"): void;
    /**
     * Gives a request its exchange. Runs as the first onRequest hook; also called directly for
     * requests Fastify refuses before routing (a malformed URL), so they are recorded too.
     */
    openExchange(request: FastifyRequest, reply: FastifyReply): Exchange;
  }
}

/**
 * The first stage: gives every request its Exchange and finishes it exactly once, when the response is
 * over. The response's `close` event fires on every exit path (sent, failed, or the caller gone), so
 * this one listener replaces a finaliser per stage.
 */
export interface ExchangeStageOptions {
  /**
   * The protocol a request is recorded under until a protocol module claims it: the listener's own
   * (admin), or on the data plane the one whose error format requests outside every prefix get.
   */
  defaultProtocol: Protocol;
}

const exchangeStage: FastifyPluginCallback<ExchangeStageOptions> = (fastify, { defaultProtocol }, done) => {
  const settlers: ExchangeFinisher[] = [];
  const recorders: ExchangeFinisher[] = [];
  // One array, rebuilt at registration (start), so finishing an exchange walks a single list.
  let finishers: ExchangeFinisher[] = [];
  fastify.decorate("onExchangeFinished", (finisher: ExchangeFinisher, phase: "settle" | "record" = "record") => {
    (phase === "settle" ? settlers : recorders).push(finisher);
    finishers = [...settlers, ...recorders];
  });
  fastify.decorateRequest("exchange", undefined as unknown as Exchange);
  const openExchange = (request: FastifyRequest, reply: FastifyReply): Exchange => {
    const url = request.url;
    const query = url.indexOf("?");
    const exchange = new Exchange(request.method, query === -1 ? url : url.slice(0, query), defaultProtocol, request.id);
    request.exchange = exchange;
    reply.header("x-request-id", exchange.id);
    const response = reply.raw;
    response.once("close", () => {
      exchange.finish(response.statusCode, !response.writableFinished, finishers);
    });
    return exchange;
  };
  fastify.decorate("openExchange", openExchange);
  fastify.addHook("onRequest", (request, reply, next) => {
    openExchange(request, reply);
    next();
  });
  done();
};

export default fp(exchangeStage, { name: "tollgate-exchange", fastify: "5.x" });
