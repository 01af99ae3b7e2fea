import { describe, expect, it } from "vitest";
import { forwardedHeaders, returnedHeaders } from "./passthrough-headers.ts";

describe("forwardedHeaders", () => {
  const incoming = {
    authorization: "Bearer sk-agent",
    "x-api-key": "sk-agent",
    "api-key": "agent-azure-key",
    cookie: "session=1",
    "openai-organization": "org-agent",
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "prompt-caching-2024-07-31",
    "openai-beta": "assistants=v2",
    "content-type": "application/json",
    "content-length": "42",
    host: "gateway:8443",
    "x-forwarded-for": "10.0.0.1",
  };

  it("lets only version and beta selectors and the body's type through, never credentials", () => {
    expect(forwardedHeaders(incoming, false)).toEqual({
      "anthropic-version": "2023-06-01",
      "anthropic-beta": "prompt-caching-2024-07-31",
      "openai-beta": "assistants=v2",
      "content-type": "application/json",
    });
  });

  it("passes the length of a body streamed through unchanged", () => {
    expect(forwardedHeaders(incoming, true)["content-length"]).toBe("42");
  });
});

describe("returnedHeaders", () => {
  const upstream = {
    "content-type": "application/json",
    "content-encoding": "gzip",
    "openai-processing-ms": "120",
    "openai-organization": "org-gateway",
    "openai-project": "proj_x",
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-remaining-tokens": "100",
    "anthropic-ratelimit-requests-remaining": "9",
    "set-cookie": ["__cf_bm=abc"],
    "retry-after": "3",
    "retry-after-ms": "3000",
    "x-request-id": "req_123",
    server: "uvicorn",
  };

  it("returns content headers (the encoding of the bytes passed through included) and the provider's request id, never rate limits, accounts or cookies", () => {
    expect(returnedHeaders(upstream, false)).toEqual({
      "content-type": "application/json",
      "content-encoding": "gzip",
      "openai-processing-ms": "120",
      "x-upstream-request-id": "req_123",
    });
  });

  it("adds the provider's retry-after to an error", () => {
    expect(returnedHeaders(upstream, true)).toMatchObject({ "retry-after": "3", "retry-after-ms": "3000" });
    expect(returnedHeaders({ "request-id": "req_ant" }, true)).toEqual({ "x-upstream-request-id": "req_ant" });
  });
});
