import type { Server as TlsServer } from "node:tls";
import type { AddressInfo } from "node:net";
import type { Tracer } from "@opentelemetry/api";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { AdminSection } from "../../config/audit-schema.ts";
import auditStage from "../../audit/audit-stage.ts";
import exchangeStage from "../../gate/exchange-stage.ts";
import identityStage from "../../identity/identity-stage.ts";
import type { SvidFileSource } from "../../identity/svid-files.ts";
import { attachConnectionIdentity, tlsSecureContextOptions, tlsServerOptions } from "../../identity/tls-identity.ts";
import authorizeStage from "../../policy/authorize-stage.ts";
import type { Logger } from "../../telemetry/logger.ts";
import telemetryStage from "../../telemetry/telemetry-stage.ts";
import { type AdminContext, adminPlugin } from "./admin-plugin.ts";

export interface AdminServerOptions extends AdminContext {
  admin: AdminSection;
  svids: SvidFileSource;
  logger: Logger;
  tracer: Tracer;
}

export interface AdminServer {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The admin API's own listener: HTTPS with mutual TLS, built from the same stages as the data plane
 * (exchange, telemetry, identity from the caller's SVID, authorization by the policy, audit), so an
 * operator's call is authenticated, authorized and recorded exactly like an agent's. Kept off the
 * data plane's port so it can be bound to an internal address and firewalled apart.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const app = Fastify({
    https: tlsServerOptions(options.svids.current),
    loggerInstance: options.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    requestIdHeader: false,
    genReqId: () => crypto.randomUUID(),
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.register(exchangeStage, { defaultProtocol: "admin" });
  app.register(telemetryStage, { tracer: options.tracer, logger: options.logger });
  app.register(identityStage, { tracer: options.tracer });
  app.register(authorizeStage, { engine: options.engine, tracer: options.tracer });
  if (options.audit !== undefined) app.register(auditStage, { recorder: options.audit.recorder });
  app.register(adminPlugin, {
    target: options.target,
    audit: options.audit,
    budgets: options.budgets,
    engine: options.engine,
    ...(options.now === undefined ? {} : { now: options.now }),
    prefix: "/admin/v1",
  });
  // Outside /admin/v1: the admin module's own error shape, still recorded.
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: { code: "TG_ERR_UNCLASSIFIED", message: `${request.method} ${request.exchange.path} is not an admin API operation.` }, request_id: request.exchange.id });
  });

  const tlsServer = app.server as unknown as TlsServer;
  attachConnectionIdentity(tlsServer, () => options.svids.current.bundles);
  const onUpdate = (material: Parameters<typeof tlsSecureContextOptions>[0]) => tlsServer.setSecureContext(tlsSecureContextOptions(material));
  options.svids.on("update", onUpdate);

  await app.listen({ host: options.admin.listen.host, port: options.admin.listen.port });
  return {
    url: urlOf(app),
    close: async () => {
      options.svids.off("update", onUpdate);
      app.server.closeIdleConnections();
      await app.close();
    },
  };
}

function urlOf(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `https://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${address.port}`;
}
