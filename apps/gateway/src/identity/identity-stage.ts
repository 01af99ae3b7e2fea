import type { TLSSocket } from "node:tls";
import type { FastifyPluginCallback } from "fastify";
import fp from "fastify-plugin";
import { TollgateError } from "../errors/tollgate-error.ts";
import { connectionIdentity } from "./tls-identity.ts";

/**
 * Stage 1, "who is calling?": every request on the data plane carries the identity of its TLS
 * connection. The SVID was verified once, when the connection was made (see tls-identity.ts); here a
 * request only picks up that settled result, so the cost per request is one resolved promise.
 */
const identityStage: FastifyPluginCallback = (fastify, _options, done) => {
  fastify.addHook("onRequest", async (request) => {
    const socket = request.raw.socket as TLSSocket;
    if (typeof socket.getPeerCertificate !== "function") {
      throw new TollgateError("TG_ERR_UNAUTHENTICATED", "This listener requires TLS with a client certificate (an X.509-SVID).", {
        reason: "x509svid.no_tls",
      });
    }
    const svid = await connectionIdentity(socket);
    request.exchange.caller = { id: svid.id, auth: "x509-svid" };
  });
  done();
};

export default fp(identityStage, { name: "tollgate-identity", dependencies: ["tollgate-exchange"], fastify: "5.x" });
