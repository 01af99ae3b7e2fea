import { randomBytes } from "node:crypto";
import { SpanKind } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quickstartIdentities } from "../src/config/embedded.ts";
import { agentKey, type Harness, type Identity, startHarness, upstreamKey } from "./harness/gateway-harness.ts";

/**
 * "What happened?" as operators see it, through a real gateway: the probes on the plain-HTTP health
 * listener, one structured JSON log line per request (request id, caller, decision, reasons), the
 * `x-request-id` header that finds it, and OpenTelemetry spans (a root span per request with
 * identity, authorize and GenAI upstream children) that continue the caller's W3C trace.
 */

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ upstreams: 1 });
});

afterAll(() => h.close());

interface Sent {
  status: number;
  requestId: string | null;
  body: Record<string, unknown>;
}

async function chat(identity: Identity | undefined, headers: Record<string, string> = {}): Promise<Sent> {
  const response = await h.fetch(identity, "/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${agentKey}`, ...headers },
    body: JSON.stringify({ model: "demo-chat", messages: [{ role: "user", content: "trace me" }] }),
  });
  return { status: response.status, requestId: response.headers.get("x-request-id"), body: (await response.json()) as Record<string, unknown> };
}

function rootSpanOf(requestId: string | null): Promise<ReadableSpan> {
  return h.spans.finishedSpan((span) => span.kind === SpanKind.SERVER && span.attributes["tollgate.request_id"] === requestId);
}

function childrenOf(root: ReadableSpan): ReadableSpan[] {
  const { traceId, spanId } = root.spanContext();
  return h.spans
    .getFinishedSpans()
    .filter((span) => span.spanContext().traceId === traceId && span.parentSpanContext?.spanId === spanId);
}

function traceparent(): { header: string; traceId: string; parentId: string } {
  const traceId = randomBytes(16).toString("hex");
  const parentId = randomBytes(8).toString("hex");
  return { header: `00-${traceId}-${parentId}-01`, traceId, parentId };
}

describe("probes on the health listener", () => {
  it("answers /healthz and /readyz over plain HTTP, without a client certificate", async () => {
    expect(h.gateway.healthUrl).toMatch(/^http:\/\//);
    const health = await fetch(`${h.gateway.healthUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });

    const ready = await fetch(`${h.gateway.healthUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: "ready",
      checks: {
        policy: { ready: true, revision: h.gateway.engine.status().revision },
        svid: { ready: true, spiffeId: "spiffe://ai.company.org/service/tollgate", trustDomains: ["ai.company.org"] },
      },
    });
  });
});

describe("the access log", () => {
  it("writes one JSON line per allowed request, found by its x-request-id", async () => {
    const sent = await chat("customer-support");
    expect(sent.status).toBe(200);
    expect(sent.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const line = await h.requestLog(sent.requestId);
    expect(line).toMatchObject({
      level: "info",
      service: "tollgate-test",
      msg: "request",
      reqId: sent.requestId,
      protocol: "llm",
      method: "POST",
      path: "/v1/chat/completions",
      status: 200,
      outcome: "ok",
      caller: quickstartIdentities["customer-support"],
      target: "spiffe://ai.company.org/service/llm-proxy",
      resource: { kind: "model", name: "demo-chat", action: "chat" },
      decision: "allow",
      reasons: ["allowed by grant customer-support-chat"],
      policyRevision: h.gateway.engine.status().revision,
      upstream: { provider: "primary", attempts: 1 },
    });
    const usage = sent.body.usage as { prompt_tokens: number; completion_tokens: number };
    expect(line.usage).toMatchObject({ input: usage.prompt_tokens, output: usage.completion_tokens });
    expect(typeof line.durationMs).toBe("number");
    expect(Number.isNaN(Date.parse(String(line.time)))).toBe(false);
    expect(h.logs.filter((l) => l.reqId === sent.requestId)).toHaveLength(1);
  });

  it("logs a denial with the caller, the decision and the policy's reasons", async () => {
    const sent = await chat("training");
    expect(sent.status).toBe(403);
    const reasons = (sent.body.error as { reasons: string[] }).reasons;
    expect(reasons).toEqual([`no grant allows ${quickstartIdentities.training} to chat model "demo-chat" on spiffe://ai.company.org/service/llm-proxy`]);
    expect(await h.requestLog(sent.requestId)).toMatchObject({
      reqId: sent.requestId,
      caller: quickstartIdentities.training,
      decision: "deny",
      reasons,
      outcome: "denied",
      status: 403,
      error: { code: "TG_ERR_POLICY_DENIED", reason: "policy.denied" },
    });
  });

  it("logs a refused SVID with the rule, and no caller", async () => {
    const sent = await chat(undefined);
    expect(sent.status).toBe(401);
    const line = await h.requestLog(sent.requestId);
    expect(line).toMatchObject({ status: 401, outcome: "denied", error: { code: "TG_ERR_UNAUTHENTICATED", reason: "x509svid.no_certificate" } });
    expect(line.caller).toBeUndefined();
    expect(line.decision).toBeUndefined();
  });

  it("makes its own request id: a caller's x-request-id cannot name or collide with another request's log line", async () => {
    const first = await chat("customer-support");
    const sent = await chat("customer-support", { "x-request-id": first.requestId ?? "" });
    expect(sent.status).toBe(200);
    expect(sent.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent.requestId).not.toBe(first.requestId);
    expect((await h.requestLog(sent.requestId)).reqId).toBe(sent.requestId);
  });

  it("never writes a credential", () => {
    const everything = JSON.stringify(h.logs);
    expect(everything).not.toContain(agentKey);
    expect(everything).not.toContain(upstreamKey);
  });
});

describe("traces", () => {
  it("continues the caller's trace: root, identity, authorize and a GenAI upstream span", async () => {
    const parent = traceparent();
    const sent = await chat("customer-support", { traceparent: parent.header });
    expect(sent.status).toBe(200);
    const root = await rootSpanOf(sent.requestId);

    expect(root.name).toBe("POST /v1/chat/completions");
    expect(root.spanContext().traceId).toBe(parent.traceId);
    expect(root.parentSpanContext?.spanId).toBe(parent.parentId);
    expect(root.attributes).toMatchObject({
      "http.request.method": "POST",
      "url.path": "/v1/chat/completions",
      "http.response.status_code": 200,
      "tollgate.caller": quickstartIdentities["customer-support"],
      "tollgate.resource": "model:demo-chat",
      "tollgate.decision": "allow",
      "tollgate.outcome": "ok",
    });
    expect((await h.requestLog(sent.requestId)).traceId).toBe(parent.traceId);

    const children = childrenOf(root);
    expect(children.map((span) => span.name).sort()).toEqual(["chat demo-chat", "tollgate.authorize", "tollgate.identity"]);
    const identity = children.find((span) => span.name === "tollgate.identity");
    expect(identity?.attributes).toMatchObject({ "tollgate.caller": quickstartIdentities["customer-support"], "tollgate.auth": "x509-svid" });
    const authorize = children.find((span) => span.name === "tollgate.authorize");
    expect(authorize?.attributes).toMatchObject({ "tollgate.decision": "allow", "tollgate.policy.revision": h.gateway.engine.status().revision });

    const upstream = children.find((span) => span.name === "chat demo-chat");
    const usage = sent.body.usage as { prompt_tokens: number; completion_tokens: number };
    expect(upstream?.kind).toBe(SpanKind.CLIENT);
    expect(upstream?.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "demo-chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.usage.input_tokens": usage.prompt_tokens,
      "gen_ai.usage.output_tokens": usage.completion_tokens,
      "http.response.status_code": 200,
    });
  });

  it("starts a new trace when the caller sends none", async () => {
    const sent = await chat("customer-support");
    const root = await rootSpanOf(sent.requestId);
    expect(root.parentSpanContext).toBeUndefined();
    expect(root.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    expect((await h.requestLog(sent.requestId)).traceId).toBe(root.spanContext().traceId);
  });

  it("traces a denial without an upstream span, and a refused SVID with the rule on the identity span", async () => {
    const denied = await chat("training", { traceparent: traceparent().header });
    const deniedRoot = await rootSpanOf(denied.requestId);
    expect(deniedRoot.attributes).toMatchObject({ "tollgate.decision": "deny", "error.type": "TG_ERR_POLICY_DENIED", "http.response.status_code": 403 });
    expect(childrenOf(deniedRoot).map((span) => span.name).sort()).toEqual(["tollgate.authorize", "tollgate.identity"]);
    expect(childrenOf(deniedRoot).find((span) => span.name === "tollgate.authorize")?.attributes).toMatchObject({ "tollgate.decision": "deny" });

    const refused = await chat(undefined, { traceparent: traceparent().header });
    const refusedRoot = await rootSpanOf(refused.requestId);
    expect(refusedRoot.attributes).toMatchObject({ "error.type": "TG_ERR_UNAUTHENTICATED", "http.response.status_code": 401 });
    const identity = childrenOf(refusedRoot);
    expect(identity.map((span) => span.name)).toEqual(["tollgate.identity"]);
    expect(identity[0]?.attributes).toMatchObject({ "error.type": "TG_ERR_UNAUTHENTICATED", "tollgate.reason": "x509svid.no_certificate" });
  });
});
