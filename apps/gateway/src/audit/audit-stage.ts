import { Readable } from "node:stream";
import type { FastifyPluginCallback } from "fastify";
import fp from "fastify-plugin";
import { TollgateError } from "../errors/tollgate-error.ts";
import type { Exchange } from "../gate/exchange.ts";
import { BodyCapture, captureResponse } from "./body-capture.ts";
import type { AuditRecorder } from "./audit-recorder.ts";

export interface AuditStageOptions {
  recorder: AuditRecorder;
}

/**
 * Stage 4, "what happened?": every exchange, on every exit path, becomes one audit row when it
 * finishes (the exchange stage guarantees exactly once). Registered on each listener (data plane,
 * admin), in pipeline order after identity.
 *
 * In required-audit mode, a request is refused with 503 before anything is forwarded while its row
 * could be neither written nor spooled: one boolean read per request, kept current by the writer.
 * With capture on, the request body and the start of the response body are kept for the row.
 */
const auditStage: FastifyPluginCallback<AuditStageOptions> = (fastify, { recorder }, done) => {
  const captures = new WeakMap<Exchange, BodyCapture>();
  fastify.onExchangeFinished((exchange) => recorder.record(exchange, captures.get(exchange)));

  if (recorder.required) {
    fastify.addHook("onRequest", (_request, _reply, next) => {
      if (recorder.accepting) {
        next();
        return;
      }
      next(
        new TollgateError("TG_ERR_UNAVAILABLE", "The gateway cannot record this request in its audit trail now, and this gateway requires it; try again shortly.", {
          reason: "audit.unavailable",
          headers: { "retry-after": "5" },
        }),
      );
    });
  }

  const captureBytes = recorder.captureBytes;
  if (captureBytes !== undefined) {
    fastify.addHook("preHandler", (request, _reply, next) => {
      const capture = new BodyCapture(captureBytes);
      capture.setRequest(request.body);
      captures.set(request.exchange, capture);
      next();
    });
    fastify.addHook("onSend", (request, _reply, payload, next) => {
      const capture = captures.get(request.exchange);
      if (capture === undefined) {
        next(null, payload);
        return;
      }
      if (payload instanceof Readable) {
        next(null, captureResponse(payload, capture));
        return;
      }
      if (typeof payload === "string" || Buffer.isBuffer(payload)) capture.addResponse(payload);
      next(null, payload);
    });
  }
  done();
};

export default fp(auditStage, { name: "tollgate-audit", dependencies: ["tollgate-exchange"], fastify: "5.x" });
