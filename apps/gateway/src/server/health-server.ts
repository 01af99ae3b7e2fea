import Fastify, { type FastifyInstance } from "fastify";

export interface ReadinessCheck {
  name: string;
  /** `ready` false keeps the replica out of the load balancer; `detail` says why, for operators. */
  check(): { ready: boolean; detail: Record<string, unknown> };
}

/**
 * Plain-HTTP probes on their own listener, so Kubernetes can probe without a client certificate:
 * `/healthz` (the process is alive) and `/readyz` (it can serve: it has an SVID and a policy bundle).
 */
export function createHealthServer(checks: readonly ReadinessCheck[]): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const results: Record<string, unknown> = {};
    let ready = true;
    for (const { name, check } of checks) {
      const result = check();
      results[name] = { ready: result.ready, ...result.detail };
      ready &&= result.ready;
    }
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not ready", checks: results });
  });
  return app;
}
