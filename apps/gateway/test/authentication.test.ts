import { fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IssuedSvid } from "../src/identity/dev-ca.ts";
import { createSvidTestPki, svidTestCases, type SvidTestCase, type SvidTestPki } from "../src/identity/x509-svid-test-cases.ts";
import { type Harness, startHarness } from "./harness/gateway-harness.ts";

/**
 * "Who is calling?" through a real gateway: every X.509-SVID of the shared test cases is presented
 * over real mTLS to the data plane, with two more trust domains configured beside the gateway's own
 * (example.org and partner.org: federation, bundles never merged). A valid SVID reaches the upstream;
 * every broken one is answered 401 in the caller's API format, naming the rule it breaks, and
 * nothing reaches the upstream.
 */

let pki: SvidTestPki;
let h: Harness;

/** Lets the test trust domains' agents chat, so an accepted SVID is seen to reach the upstream. */
const federatedGrant = {
  name: "federated-agents-chat",
  description: "End-to-end tests: agents of the federated test trust domains chat with demo-chat.",
  agents: ["spiffe://example.org/agent/*", "spiffe://partner.org/agent/*"],
  targets: ["spiffe://ai.company.org/service/llm-proxy"],
  kind: "model",
  names: ["demo-chat"],
  actions: ["chat"],
};

beforeAll(async () => {
  pki = await createSvidTestPki();
  h = await startHarness({
    upstreams: 1,
    bundles: { "example.org": pki.ca.certificatePem, "partner.org": pki.partnerCa.certificatePem },
    grants: [federatedGrant],
  });
});

afterAll(() => h.close());

interface Answer {
  status: number;
  requestId: string | null;
  connection: string | null;
  body: Record<string, unknown>;
}

async function call(svid: IssuedSvid | undefined, path: "/v1/chat/completions" | "/v1/messages"): Promise<Answer> {
  const dispatcher = h.dispatcher(svid === undefined ? undefined : { certPem: svid.certificatePem, keyPem: svid.keyPem });
  const body =
    path === "/v1/messages"
      ? { model: "demo-chat", max_tokens: 20, messages: [{ role: "user", content: "who am I?" }] }
      : { model: "demo-chat", messages: [{ role: "user", content: "who am I?" }] };
  const response = await undiciFetch(`${h.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify(body),
    dispatcher,
  });
  return {
    status: response.status,
    requestId: response.headers.get("x-request-id"),
    connection: response.headers.get("connection"),
    body: (await response.json()) as Record<string, unknown>,
  };
}

function upstreamRequests(): number {
  return h.upstreams.reduce((sum, upstream) => sum + upstream.requests.length, 0);
}

const rejected = svidTestCases.filter((c): c is SvidTestCase & { expect: { rejected: string } } => "rejected" in c.expect);
const accepted = svidTestCases.filter((c): c is SvidTestCase & { expect: { accepted: string } } => "accepted" in c.expect);

describe("an X.509-SVID that breaks a rule", () => {
  it.each(rejected.map((c) => [c.name, c] as const))("%s: 401 naming the rule, in each API's format, nothing forwarded", async (_name, testCase) => {
    const rule = testCase.expect.rejected;
    const code = rule === "no_certificate" ? "TG_ERR_UNAUTHENTICATED" : "TG_ERR_SVID_REJECTED";
    const svid = await testCase.present(pki);
    const seenBefore = upstreamRequests();

    const openai = await call(svid, "/v1/chat/completions");
    expect(openai.status).toBe(401);
    expect(openai.body).toEqual({
      error: { message: expect.stringContaining(`(rule ${rule}, `), type: "authentication_error", param: null, code },
    });

    const anthropic = await call(svid, "/v1/messages");
    expect(anthropic.status).toBe(401);
    expect(anthropic.body).toEqual({
      type: "error",
      error: { type: "authentication_error", message: expect.stringContaining(`(rule ${rule}, `), code },
      request_id: anthropic.requestId,
    });

    for (const answer of [openai, anthropic]) {
      // The body's shape is fixed above; its one free text must hold no stack trace either.
      const error = answer.body.error as { message: string };
      expect(error.message).not.toMatch(/\n\s*at |node:internal|\.ts:\d+/);
      const line = await h.requestLog(answer.requestId);
      expect(line).toMatchObject({ status: 401, outcome: "denied", error: { code, reason: `x509svid.${rule}` } });
      expect(line.caller).toBeUndefined();
    }
    // An expired SVID is renewed by its agent: the connection is closed so the next request brings the new one.
    // Other refusals keep the connection, sparing both sides a handshake per retry.
    expect(openai.connection).toBe(rule === "expired" ? "close" : "keep-alive");
    expect(upstreamRequests()).toBe(seenBefore);
  });
});

describe("a valid X.509-SVID", () => {
  it.each(accepted.map((c) => [c.name, c] as const))("%s: the caller is its SPIFFE ID and the call goes through", async (_name, testCase) => {
    const svid = await testCase.present(pki);
    const forwarded = h.upstreams[0]!.nextRequest({ path: "/v1/chat/completions" });
    const openai = await call(svid, "/v1/chat/completions");
    expect(openai.status).toBe(200);
    await forwarded;
    expect(await h.requestLog(openai.requestId)).toMatchObject({ caller: testCase.expect.accepted, decision: "allow", outcome: "ok" });

    const anthropic = await call(svid, "/v1/messages");
    expect(anthropic.status).toBe(200);
    expect(anthropic.body).toMatchObject({ type: "message" });
    expect(await h.requestLog(anthropic.requestId)).toMatchObject({ caller: testCase.expect.accepted, decision: "allow" });
  });
});

describe("verification per connection", () => {
  it("verifies an SVID once per TLS connection, however many requests the connection carries", async () => {
    const { client, sockets } = h.connection("customer-support");
    const before = h.gateway.connections.verificationsStarted;
    const callers: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await client.request({ method: "GET", path: "/v1/models" });
      expect(response.statusCode).toBe(200);
      await response.body.json();
      callers.push((await h.requestLog(String(response.headers["x-request-id"]))).caller);
    }
    expect(sockets).toHaveLength(1);
    expect(h.gateway.connections.verificationsStarted - before).toBe(1);
    expect(new Set(callers)).toEqual(new Set(["spiffe://ai.company.org/agent/customer-support/v2"]));
  });

  it("answers every request of a rejected connection 401, still verifying it only once", async () => {
    const svid = await svidTestCases.find((c) => c.name === "a certificate from another CA")!.present(pki);
    const { client, sockets } = h.connection({ certPem: svid!.certificatePem, keyPem: svid!.keyPem });
    const before = h.gateway.connections.verificationsStarted;
    for (let i = 0; i < 3; i++) {
      const response = await client.request({ method: "GET", path: "/v1/models" });
      expect(response.statusCode).toBe(401);
      expect(await response.body.json()).toMatchObject({ error: { code: "TG_ERR_SVID_REJECTED" } });
    }
    expect(sockets).toHaveLength(1);
    expect(h.gateway.connections.verificationsStarted - before).toBe(1);
  });
});
