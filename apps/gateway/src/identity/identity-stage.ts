import type { TLSSocket } from "node:tls";
import { SpanStatusCode, type Tracer } from "@opentelemetry/api";
import type { FastifyPluginCallback } from "fastify";
import fp from "fastify-plugin";
import { asTollgateError, TollgateError } from "../errors/tollgate-error.ts";
import { startChildSpan } from "../telemetry/tracing.ts";
import { connectionIdentity } from "./tls-identity.ts";

export interface IdentityStageOptions {
  tracer: Tracer;
}

/**
 * Stage 1, "who is calling?": every request on the data plane carries the identity of its TLS
 * connection. The SVID was verified once, when the connection was made (see tls-identity.ts); here a
 * request only picks up that settled result, so the cost per request is one resolved promise.
 *
 * When the request is traced, a `tollgate.identity` span records the outcome (the caller, or the rule
 * that failed); its duration is the wait for the connection's verification, next to nothing once the
 * first request on a connection has had it.
 */
const identityStage: FastifyPluginCallback<IdentityStageOptions> = (fastify, { tracer }, done) => {
  fastify.addHook("onRequest", async (request, reply) => {
    const exchange = request.exchange;
    const span = exchange.span?.isRecording() === true ? startChildSpan(tracer, exchange.span, "tollgate.identity") : undefined;
    try {
      const socket = request.raw.socket as TLSSocket;
      if (typeof socket.getPeerCertificate !== "function") {
        throw new TollgateError("TG_ERR_UNAUTHENTICATED", "This listener requires TLS with a client certificate (an X.509-SVID).", {
          reason: "x509svid.no_tls",
        });
      }
      const svid = await connectionIdentity(socket);
      exchange.caller = { id: svid.id, auth: "x509-svid" };
      span?.setAttributes({ "tollgate.caller": svid.id.uri, "tollgate.auth": "x509-svid" });
    } catch (error) {
      const rejected = asTollgateError(error);
      // An expired SVID is renewed by the agent, but its client would keep sending on this
      // connection, which carries the old one for good: close it, so the next request comes with a
      // new handshake and the renewed SVID.
      if (rejected.reason === "x509svid.expired") reply.header("connection", "close");
      if (span !== undefined) {
        span.setAttributes({ "error.type": rejected.code, "tollgate.reason": rejected.reason });
        // A refused caller is the caller's problem, not the gateway's: as for the root span, only a
        // failure of the gateway itself marks the span as an error.
        if (rejected.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: rejected.code });
      }
      throw error;
    } finally {
      span?.end();
    }
  });
  done();
};

export default fp(identityStage, { name: "tollgate-identity", dependencies: ["tollgate-exchange"], fastify: "5.x" });
