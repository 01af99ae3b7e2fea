import { describe, expect, it } from "vitest";
import { buildPolicyInput, policyNow } from "./input.ts";
import { caller } from "./test-fixtures.ts";

const designExample = {
  source: "spiffe://ai.company.org/agent/customer-support/v2",
  target: "spiffe://ai.company.org/service/llm-proxy",
  method: "POST",
  path: "/v1/chat/completions",
  source_id: {
    trust_domain: "ai.company.org",
    path: "/agent/customer-support/v2",
    segments: ["agent", "customer-support", "v2"],
    auth: "x509-svid",
  },
  resource: { kind: "model", name: "gpt-4o-mini", provider: "openai", action: "chat" },
  request: { stream: true, max_tokens: 512 },
  now: "2026-12-04T19:00:00Z",
};

describe("buildPolicyInput", () => {
  const customerSupport = caller("spiffe://ai.company.org/agent/customer-support/v2");
  const chat = {
    target: "spiffe://ai.company.org/service/llm-proxy",
    method: "POST",
    path: "/v1/chat/completions",
    resource: { kind: "model", name: "gpt-4o-mini", provider: "openai", action: "chat" },
    facts: { stream: true, max_tokens: 512 },
  } as const;

  it("builds DESIGN.md's example input, field for field", () => {
    const input = buildPolicyInput(customerSupport, chat, Date.parse("2026-12-04T19:00:00.734Z"));
    expect(JSON.parse(JSON.stringify(input))).toEqual(designExample);
  });

  it("cuts the query string off the path", () => {
    const input = buildPolicyInput(customerSupport, { ...chat, path: "/v1/chat/completions?debug=1&x=/v1/files" });
    expect(input.path).toBe("/v1/chat/completions");
  });

  it("builds the caller's part once per identity and shares it between requests", () => {
    const first = buildPolicyInput(customerSupport, chat);
    const second = buildPolicyInput(customerSupport, { ...chat, path: "/v1/responses" });
    expect(second.source_id).toBe(first.source_id);
    const viaJwt = buildPolicyInput({ id: customerSupport.id, auth: "jwt-svid" }, chat);
    expect(viaJwt.source_id.auth).toBe("jwt-svid");
    expect(first.source_id.auth).toBe("x509-svid");
  });

  it("sends an empty request object when there are no facts", () => {
    const { facts: _facts, ...withoutFacts } = chat;
    expect(buildPolicyInput(customerSupport, withoutFacts).request).toEqual({});
  });
});

describe("policyNow", () => {
  it("is RFC 3339 in UTC to the second, so that rules can compare it as a string", () => {
    expect(policyNow(Date.parse("2026-12-04T19:00:00.999Z"))).toBe("2026-12-04T19:00:00Z");
    expect(policyNow(Date.parse("2026-12-04T19:00:01.000Z"))).toBe("2026-12-04T19:00:01Z");
    expect(policyNow(Date.parse("2027-01-01T00:00:00Z")) > policyNow(Date.parse("2026-12-31T23:59:59Z"))).toBe(true);
  });
});
