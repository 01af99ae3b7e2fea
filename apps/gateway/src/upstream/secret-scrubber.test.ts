import { describe, expect, it } from "vitest";
import { SecretScrubber } from "./secret-scrubber.ts";

const key = "sk-proj-UPSTREAM-secret-key-0123456789abcdef";

describe("SecretScrubber", () => {
  const scrubber = new SecretScrubber({ keys: [key], hosts: ["http://10.0.3.7:8000/v1", "http://10.0.3.7:8000", "10.0.3.7:8000", "10.0.3.7"] });

  it("removes the whole key wherever it appears", () => {
    expect(scrubber.scrub(`{"error":{"message":"Incorrect API key provided: ${key}."}}`)).toBe('{"error":{"message":"Incorrect API key provided: [redacted]."}}');
  });

  it.each([
    ["OpenAI's stars", "sk-proj-************************cdef"],
    ["an ellipsis of dots", "sk-proj-...cdef"],
    ["a unicode ellipsis", "sk-pro…cdef"],
    ["bullets", "sk-••••••cdef"],
  ])("removes the key masked with %s", (_name, masked) => {
    expect(scrubber.scrub(`Incorrect API key provided: ${masked}. You can find your API key at ...`)).toBe(
      "Incorrect API key provided: [redacted]. You can find your API key at ...",
    );
  });

  it("removes a masked key of a shape it has no rule for, from the key's own ends", () => {
    const odd = new SecretScrubber({ keys: ["demo-Zk3v9QpL0mWx7YtR"], hosts: [] });
    expect(odd.scrub("invalid key dem****7YtR")).toBe("invalid key [redacted]");
    expect(odd.scrub("the demo says hello")).toBe("the demo says hello");
  });

  it("removes internal URLs and hosts, longest first so no fragment is left", () => {
    expect(scrubber.scrub("POST http://10.0.3.7:8000/v1/chat/completions failed; 10.0.3.7:8000 refused; host 10.0.3.7")).toBe(
      "POST [redacted]/chat/completions failed; [redacted] refused; host [redacted]",
    );
  });

  it("removes key-shaped tokens and bearer tokens that are not the provider's own key", () => {
    expect(scrubber.scrub("other key sk-ant-api03-abcdefgh, auth Bearer eyJhbGciOiJIUzI1NiJ9.payload, azure 0123456789abcdef0123456789abcdef")).toBe(
      "other key [redacted], auth [redacted], azure [redacted]",
    );
  });

  it("leaves ordinary error text alone", () => {
    const text = '{"error":{"message":"Rate limit reached for gpt-4o in organization on tokens per min.","type":"requests","code":"rate_limit_exceeded"}}';
    expect(scrubber.scrub(text)).toBe(text);
  });

  it("treats the secrets as text, not as patterns", () => {
    const tricky = new SecretScrubber({ keys: ["a.b*c+d?e(f)g[h]i$j^k|l\\m"], hosts: [] });
    expect(tricky.scrub("x a.b*c+d?e(f)g[h]i$j^k|l\\m y aXb*c+d")).toBe("x [redacted] y aXb*c+d");
  });

  it("works with nothing to hide", () => {
    expect(new SecretScrubber({ keys: [], hosts: [] }).scrub("plain")).toBe("plain");
  });
});
