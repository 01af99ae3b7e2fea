import type { Tracer } from "@opentelemetry/api";
import type { FastifyPluginCallback } from "fastify";
import fp from "fastify-plugin";
import { TollgateError } from "../errors/tollgate-error.ts";
import type { Exchange } from "../gate/exchange.ts";
import type { Resource } from "../gate/resource.ts";
import { startChildSpan } from "../telemetry/tracing.ts";
import type { Decision } from "./decision.ts";
import type { PolicyEngine } from "./engine.ts";
import { buildPolicyInput } from "./input.ts";

/** What the policy may know about the request beyond its resource (`input.request`): never the prompt. */
export type RequestFacts = Record<string, string | number | boolean | null>;

export interface Authorizer {
  /** Asks the policy without recording anything: for filtering lists. */
  decide(exchange: Exchange, resource: Resource, facts: RequestFacts): Decision;
  /** Asks the policy about the request itself, records the decision, and throws 403 on deny. */
  authorize(exchange: Exchange, resource: Resource, facts: RequestFacts): Decision;
}

declare module "fastify" {
  interface FastifyInstance {
    authorizer: Authorizer;
  }
}

export interface AuthorizeStageOptions {
  engine: PolicyEngine;
  tracer: Tracer;
}

/**
 * Stage 2, "may they do this?": builds the policy input of DESIGN.md from the exchange and the
 * resource the protocol module classified, and evaluates the in-process wasm policy. Default deny:
 * no caller, no bundle, or a malformed decision all deny.
 */
const authorizeStage: FastifyPluginCallback<AuthorizeStageOptions> = (fastify, { engine, tracer }, done) => {
  const decide = (exchange: Exchange, resource: Resource, facts: RequestFacts): Decision => {
    const caller = exchange.caller;
    if (caller === undefined) return { allow: false, reasons: ["the caller is not authenticated"], obligations: {} };
    const input = buildPolicyInput(caller, {
      target: exchange.target ?? "",
      method: exchange.method,
      path: exchange.path,
      resource,
      facts,
    });
    return engine.evaluate(input);
  };

  fastify.decorate("authorizer", {
    decide,
    authorize(exchange, resource, facts) {
      // Untraced requests (no exporter, or not sampled) skip the span and its context altogether.
      const span = exchange.span?.isRecording() === true ? startChildSpan(tracer, exchange.span, "tollgate.authorize") : undefined;
      exchange.resource = resource;
      const decision = decide(exchange, resource, facts);
      exchange.decision = { allow: decision.allow, reasons: decision.reasons, revision: decision.revision };
      if (span !== undefined) {
        span.setAttribute("tollgate.decision", decision.allow ? "allow" : "deny");
        if (decision.revision !== undefined) span.setAttribute("tollgate.policy.revision", decision.revision);
        span.end();
      }
      if (decision.fault === "no_bundle" || decision.fault === "evaluation_failed") {
        throw new TollgateError("TG_ERR_UNAVAILABLE", `The gateway cannot decide on this request now: ${decision.reasons.join("; ")}.`, {
          reason: `policy.${decision.fault}`,
          reasons: decision.reasons,
        });
      }
      if (!decision.allow) {
        const why = decision.reasons.length > 0 ? decision.reasons.join("; ") : "no policy rule allows this request";
        throw new TollgateError("TG_ERR_POLICY_DENIED", `Denied by policy: ${why}`, {
          reason: "policy.denied",
          reasons: decision.reasons,
        });
      }
      return decision;
    },
  } satisfies Authorizer);
  done();
};

export default fp(authorizeStage, { name: "tollgate-authorize", dependencies: ["tollgate-exchange"], fastify: "5.x" });
