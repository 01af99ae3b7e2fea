import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Server as TlsServer } from "node:tls";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { FastifyInstance } from "fastify";
import { llmApis, type Config } from "../config/schema.ts";
import type { DemoProvider } from "../demo/demo-provider.ts";
import { ensureQuickstartPki, type QuickstartPkiResult } from "../identity/quickstart-pki.ts";
import { parseSpiffeId } from "../identity/spiffe-id.ts";
import { SvidFileSource } from "../identity/svid-files.ts";
import { attachConnectionIdentity, type ConnectionIdentityTracker, tlsSecureContextOptions, tlsServerOptions } from "../identity/tls-identity.ts";
import { PolicyEngine } from "../policy/engine.ts";
import { PolicyReloader } from "../policy/policy-reloader.ts";
import { createLogger, flushLogger, type Logger } from "../telemetry/logger.ts";
import { createTracing } from "../telemetry/tracing.ts";
import { ModelRoutes } from "../upstream/model-routes.ts";
import type { Provider } from "../upstream/provider.ts";
import { createProvider } from "../upstream/providers/create-provider.ts";
import { UpstreamClient } from "../upstream/upstream-client.ts";
import type { BudgetAdmin } from "../budget/budget-admin.ts";
import { createBudgets } from "../budget/budget-setup.ts";
import { startAudit, type AuditService } from "../audit/audit-service.ts";
import { startAdminServer } from "../protocols/admin/admin-server.ts";
import { createMcp } from "../protocols/mcp/mcp-setup.ts";
import type { TicketsMcpServer } from "../demo/mcp/tickets-http-server.ts";
import { createDataPlane } from "./data-plane.ts";
import { createHealthServer } from "./health-server.ts";

export interface GatewayOptions {
  config: Config;
  logger?: Logger;
  /** Traces to an exporter of one's own (tests), besides any OTLP endpoint in the configuration. */
  spanExporter?: SpanExporter;
  /** Where the policy reloader builds bundles; default: `<data_dir>/policy`. */
  policyWorkDir?: string;
  /** The clock budgets read (epoch ms); tests move it to cross windows. Default: Date.now. */
  clock?: () => number;
}

export interface RunningGateway {
  /** e.g. https://127.0.0.1:8443 */
  readonly dataPlaneUrl: string;
  readonly healthUrl: string;
  /** The admin API (mTLS), e.g. https://127.0.0.1:8444; undefined when admin.enabled is false. */
  readonly adminUrl: string | undefined;
  /** The audit trail (writer, database); undefined when audit.enabled is false. */
  readonly audit: AuditService | undefined;
  readonly config: Config;
  readonly policy: PolicyReloader;
  readonly engine: PolicyEngine;
  readonly svids: SvidFileSource;
  readonly pki: QuickstartPkiResult | undefined;
  readonly demo: DemoProvider | undefined;
  /** The demo MCP server `tickets`, when mcp.demo started it. */
  readonly mcpDemo: TicketsMcpServer | undefined;
  readonly connections: ConnectionIdentityTracker;
  /** Budgets in force and their counters (what the admin API serves). */
  readonly budgets: BudgetAdmin;
  readonly logger: Logger;
  /**
   * Applies a new configuration's settings that take effect without a restart (budgets and prices);
   * returns the sections that changed but need a restart.
   */
  reconfigure(config: Config): string[];
  /** Stops accepting, lets open requests finish (up to server.shutdown_grace), then releases everything. */
  close(): Promise<void>;
}

/**
 * Builds and starts a gateway from a validated configuration: identity material (issuing the
 * development PKI first when asked), the policy, the upstreams, the mTLS data plane and the probes.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.telemetry.log_level, config.telemetry.service_name);
  const tracing = createTracing({
    serviceName: config.telemetry.service_name,
    otlpEndpoint: config.telemetry.otlp_endpoint ?? process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    ...(options.spanExporter === undefined ? {} : { exporter: options.spanExporter }),
  });
  const closers: Array<() => Promise<unknown> | unknown> = [() => tracing.shutdown()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
    await flushLogger(logger);
  };

  try {
    const pki = config.identity.dev_ca.enabled
      ? await ensureQuickstartPki(config.identity.dev_ca.dir, {
          trustDomain: parseSpiffeId(config.identity.spiffe_id).trustDomain,
          gateway: { spiffeId: config.identity.spiffe_id, dnsNames: config.server.dns_names, ipAddresses: ["127.0.0.1", "::1"] },
          identities: config.identity.dev_ca.identities,
          ttl: config.identity.dev_ca.ttl,
        })
      : undefined;
    for (const issued of pki?.issued ?? []) {
      logger.info({ name: issued.name, spiffeId: issued.spiffeId, reason: issued.reason, notAfter: issued.notAfter }, "issued development SVID");
    }

    const svids = await SvidFileSource.open({
      certificateFile: config.identity.svid.cert,
      keyFile: config.identity.svid.key,
      bundleFiles: config.identity.bundles,
    });
    closers.push(() => svids.close());

    const engine = new PolicyEngine();
    const policy = new PolicyReloader({
      engine,
      source: config.policy.bundle !== undefined ? { kind: "bundle", file: config.policy.bundle } : { kind: "directory", dir: config.policy.dir as string },
      workDir: options.policyWorkDir ?? `${config.data_dir}/policy`,
      log: (message) => logger.info(message),
    });
    policy.on("reloaded", (event) => logger.info({ revision: event.revision }, "policy loaded"));
    policy.on("error", (error) => logger.error({ err: error.message }, "policy reload failed; the last good policy stays in use"));
    closers.push(() => policy.close());
    const first = await policy.start({ allowUnloaded: config.policy.start_without_policy });
    if (first instanceof Error) logger.error({ err: first.message }, "no policy could be loaded: every request is refused until one loads");

    const demo = config.llm.demo ? await startDemo() : undefined;
    if (demo !== undefined) closers.push(() => demo.instance.close());

    const providers = new Map<string, Provider>();
    for (const [name, provider] of Object.entries(config.llm.providers)) providers.set(name, createProvider(name, provider));
    if (demo !== undefined) providers.set("demo", demo.provider);
    const routes = new ModelRoutes(config.llm.models, providers);
    const connectionsByOrigin = new Map<string, number>();
    for (const [name, p] of Object.entries(config.llm.providers)) {
      const origin = providers.get(name)?.target({ api: "chat", subpath: "", search: "", model: undefined }).origin;
      if (origin !== undefined) connectionsByOrigin.set(origin, p.connections);
    }
    const client = new UpstreamClient(
      { attempts: config.llm.retries.attempts, initialBackoffMs: config.llm.retries.initial_backoff, maxBackoffMs: config.llm.retries.max_backoff },
      connectionsByOrigin,
    );
    closers.push(() => client.close());

    const budgets = await createBudgets(config, logger, options.clock);
    closers.push(() => budgets.close());

    // Closed after the listeners (closers run in reverse): the last requests' rows are drained too.
    const audit = config.audit.enabled ? await startAudit({ audit: config.audit, dataDir: config.data_dir, logger }) : undefined;
    if (audit !== undefined) closers.push(() => audit.close());

    // Closed after the data plane (closers run in reverse): stdio MCP servers end after the last request.
    const mcp = await createMcp({ section: config.mcp, svids, quotaStore: budgets.store, leaseMs: config.budgets.lease, now: options.clock ?? Date.now, log: logger });
    closers.push(() => mcp.close());

    const accountName = config.llm.account_provider ?? firstAccountProvider(providers);
    const dataPlane = createDataPlane({
      config,
      tls: tlsServerOptions(svids.current),
      logger,
      tracer: tracing.tracer,
      engine,
      budgets: budgets.stage,
      audit: audit?.recorder,
      mcp: mcp.context,
      llm: {
        target: config.llm.target,
        routes,
        accountProvider: accountName === undefined ? undefined : providers.get(accountName),
        client,
        tracer: tracing.tracer,
        bodyLimit: config.server.body_limit,
        uploadLimit: config.server.upload_limit,
        accountTimeoutMs: 300_000,
      },
    });
    const tlsServer = dataPlane.server as unknown as TlsServer;
    const connections = attachConnectionIdentity(tlsServer, () => svids.current.bundles);
    svids.on("update", (material) => {
      tlsServer.setSecureContext(tlsSecureContextOptions(material));
      logger.info({ notAfter: material.notAfter, trustDomains: material.bundles.trustDomains }, "SVID and bundles reloaded");
    });
    svids.on("error", (error) => logger.error({ err: error.message }, "SVID or bundle reload failed; the last good material stays in use"));

    const health = createHealthServer([
      {
        name: "policy",
        check: () => {
          const status = engine.status();
          return { ready: status.ready, detail: { ...status } };
        },
      },
      {
        name: "svid",
        check: () => {
          const current = svids.current;
          const ready = current.notAfter.getTime() > Date.now();
          const problem = svids.lastError;
          return {
            ready,
            detail: {
              spiffeId: current.spiffeId?.uri,
              notAfter: current.notAfter,
              trustDomains: current.bundles.trustDomains,
              lastError: problem?.message,
              lastErrorAt: problem?.at,
            },
          };
        },
      },
      ...(audit === undefined ? [] : [{ name: "audit", check: () => audit.readiness() }]),
    ]);

    await dataPlane.listen({ host: config.server.listen.host, port: config.server.listen.port });
    closers.push(() => closeGracefully(dataPlane, config.server.shutdown_grace));
    await health.listen({ host: config.server.health.host, port: config.server.health.port });
    closers.push(() => health.close());
    const admin = config.admin.enabled
      ? await startAdminServer({
          admin: config.admin,
          target: config.admin.target,
          audit,
          budgets: budgets.registry.admin(budgets.store, options.clock ?? Date.now),
          engine,
          svids,
          logger,
          tracer: tracing.tracer,
        })
      : undefined;
    if (admin !== undefined) closers.push(() => admin.close());

    return {
      dataPlaneUrl: urlOf("https", dataPlane),
      healthUrl: urlOf("http", health),
      adminUrl: admin?.url,
      audit,
      config,
      policy,
      engine,
      svids,
      pki,
      demo: demo?.instance,
      mcpDemo: mcp.demo,
      connections,
      budgets: budgets.registry.admin(budgets.store, options.clock ?? Date.now),
      logger,
      reconfigure: (next) => {
        budgets.reconfigure(next);
        const live = new Set(["budgets", "pricing"]);
        const needRestart = Object.keys(next).filter(
          (key) => !live.has(key) && JSON.stringify(next[key as keyof Config]) !== JSON.stringify(config[key as keyof Config]),
        );
        if (needRestart.length > 0) logger.warn({ sections: needRestart }, "configuration changed in sections that take effect at the next restart");
        logger.info("configuration reloaded: budgets and prices in force");
        return needRestart;
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** The demo provider on a loopback port, with a fresh key the gateway alone knows. */
async function startDemo(): Promise<{ instance: DemoProvider; provider: Provider }> {
  const apiKey = `demo-${randomBytes(18).toString("base64url")}`;
  // Loaded only when asked for: the demo provider brings a tokenizer's tables a production gateway does not need.
  const { startDemoProvider } = await import("../demo/demo-provider.ts");
  const instance = await startDemoProvider({ apiKey, anthropicApiKey: apiKey });
  const provider = createProvider("demo", {
    type: "openai-compatible",
    base_url: `${instance.url}/v1`,
    api_key: apiKey,
    apis: [...llmApis],
    headers: {},
    connections: 256,
  });
  return { instance, provider };
}

function firstAccountProvider(providers: ReadonlyMap<string, Provider>): string | undefined {
  for (const [name, provider] of providers) if (provider.serves("files")) return name;
  return undefined;
}

async function closeGracefully(app: FastifyInstance, graceMs: number): Promise<void> {
  const timer = setTimeout(() => app.server.closeAllConnections(), graceMs);
  timer.unref();
  app.server.closeIdleConnections();
  await app.close();
  clearTimeout(timer);
}

function urlOf(scheme: string, app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `${scheme}://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${address.port}`;
}
