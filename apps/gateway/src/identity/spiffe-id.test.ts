import { describe, expect, it } from "vitest";
import {
  compileSpiffeIdPattern,
  isRootPath,
  parseSpiffeId,
  parseTrustDomain,
  SpiffeIdError,
  spiffeIdMatches,
  type SpiffeIdRule,
} from "./spiffe-id.ts";

function ruleOf(action: () => unknown): SpiffeIdRule | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof SpiffeIdError) return error.rule;
    throw error;
  }
  return undefined;
}

describe("parseSpiffeId", () => {
  it("parses a workload ID into trust domain, path and segments", () => {
    const id = parseSpiffeId("spiffe://ai.company.org/agent/customer-support/v2");
    expect(id).toEqual({
      uri: "spiffe://ai.company.org/agent/customer-support/v2",
      trustDomain: "ai.company.org",
      path: "/agent/customer-support/v2",
      segments: ["agent", "customer-support", "v2"],
    });
    expect(isRootPath(id)).toBe(false);
  });

  it("parses the ID of a trust domain itself as a root path", () => {
    const id = parseSpiffeId("spiffe://example.org");
    expect(id.path).toBe("");
    expect(id.segments).toEqual([]);
    expect(isRootPath(id)).toBe(true);
  });

  it("accepts every character the standard allows", () => {
    expect(parseSpiffeId("spiffe://a-b_c.9/A-Z_a.z-0.9/..../.a/a.").segments).toEqual(["A-Z_a.z-0.9", "....", ".a", "a."]);
  });

  it("accepts an IPv4-looking trust domain like any other name", () => {
    expect(parseSpiffeId("spiffe://10.0.0.1/workload").trustDomain).toBe("10.0.0.1");
  });

  it.each<[string, SpiffeIdRule]>([
    ["http://example.org/workload", "scheme"],
    ["SPIFFE://example.org/workload", "scheme"],
    ["spiffe:/example.org/workload", "scheme"],
    ["example.org/workload", "scheme"],
    ["", "scheme"],
    ["spiffe://", "trust_domain_empty"],
    ["spiffe:///workload", "trust_domain_empty"],
    ["spiffe://Example.org/workload", "trust_domain_case"],
    ["spiffe://exa mple.org/workload", "trust_domain_character"],
    ["spiffe://exa+mple.org/workload", "trust_domain_character"],
    ["spiffe://[::1]/workload", "port"],
    ["spiffe://user@example.org/workload", "userinfo"],
    ["spiffe://example.org:8443/workload", "port"],
    ["spiffe://example.org/workload?x=1", "query"],
    ["spiffe://example.org?x=1", "query"],
    ["spiffe://example.org/workload#part", "fragment"],
    ["spiffe://example.org/work%20load", "percent_encoding"],
    ["spiffe://ex%41mple.org/workload", "percent_encoding"],
    ["spiffe://example.org/", "trailing_slash"],
    ["spiffe://example.org/workload/", "trailing_slash"],
    ["spiffe://example.org//workload", "empty_segment"],
    ["spiffe://example.org/a//b", "empty_segment"],
    ["spiffe://example.org/./workload", "dot_segment"],
    ["spiffe://example.org/a/..", "dot_segment"],
    ["spiffe://example.org/work load", "path_character"],
    ["spiffe://example.org/work:load", "path_character"],
    ["spiffe://example.org/wörk", "path_character"],
    ["spiffe://example.org/a\u0000b", "path_character"],
  ])("rejects %j (rule %s)", (text, rule) => {
    expect(ruleOf(() => parseSpiffeId(text))).toBe(rule);
  });

  it("limits the trust domain to 255 bytes and the whole ID to 2048 bytes", () => {
    const longest = "a".repeat(255);
    expect(parseSpiffeId(`spiffe://${longest}/w`).trustDomain).toBe(longest);
    expect(ruleOf(() => parseSpiffeId(`spiffe://${longest}a/w`))).toBe("trust_domain_too_long");

    const base = "spiffe://example.org/";
    const exactly2048 = base + "p".repeat(2048 - base.length);
    expect(parseSpiffeId(exactly2048).uri).toHaveLength(2048);
    expect(ruleOf(() => parseSpiffeId(`${exactly2048}p`))).toBe("too_long");
  });

  it("writes a message that names the problem and keeps huge input short", () => {
    const error = (() => {
      try {
        parseSpiffeId(`spiffe://example.org/${"x".repeat(1000)} y`);
      } catch (caught) {
        return caught as SpiffeIdError;
      }
      throw new Error("expected an error");
    })();
    expect(error.rule).toBe("path_character");
    expect(error.section).toBe("SPIFFE-ID §2.2");
    expect(error.message).toMatch(/contains U\+0020 in its path/);
    expect(error.message.length).toBeLessThan(400);
  });
});

describe("parseTrustDomain", () => {
  it("accepts a valid name and names the rule for bad ones", () => {
    expect(parseTrustDomain("ai.company.org")).toBe("ai.company.org");
    expect(ruleOf(() => parseTrustDomain(""))).toBe("trust_domain_empty");
    expect(ruleOf(() => parseTrustDomain("AI.company.org"))).toBe("trust_domain_case");
    expect(ruleOf(() => parseTrustDomain("ai.company.org:443"))).toBe("port");
    expect(ruleOf(() => parseTrustDomain("ai/company"))).toBe("trust_domain_character");
  });
});

describe("spiffeIdMatches", () => {
  const cases: [pattern: string, id: string, matches: boolean][] = [
    ["spiffe://td/agent/support", "spiffe://td/agent/support", true],
    ["spiffe://td/agent/support", "spiffe://td/agent/support/v2", false],
    ["spiffe://td/agent/support", "spiffe://td/agent/Support", false],
    ["spiffe://td/agent/support", "spiffe://other/agent/support", false],
    ["spiffe://td/agent/*", "spiffe://td/agent/support", true],
    ["spiffe://td/agent/*", "spiffe://td/agent", false],
    ["spiffe://td/agent/*", "spiffe://td/agent/support/v2", false],
    ["spiffe://td/agent/*", "spiffe://td/agents/support", false],
    ["spiffe://td/agent/**", "spiffe://td/agent/support", true],
    ["spiffe://td/agent/**", "spiffe://td/agent/support/v2", true],
    ["spiffe://td/agent/**", "spiffe://td/agent", false],
    ["spiffe://td/agent/**", "spiffe://td/agentx/support", false],
    ["spiffe://td/**", "spiffe://td/agent/support/v2", true],
    ["spiffe://td/**", "spiffe://td/x", true],
    ["spiffe://td/**", "spiffe://td.evil/x", false],
    ["spiffe://td/**", "spiffe://other/x", false],
    ["spiffe://td/*", "spiffe://td/x", true],
    ["spiffe://td/*", "spiffe://td/x/y", false],
    ["spiffe://td/**", "spiffe://td/x/", false],
    ["spiffe://td/**", "not an id", false],
  ];
  it.each(cases)("%s against %s is %s", (pattern, id, expected) => {
    expect(spiffeIdMatches(pattern, id)).toBe(expected);
    expect(compileSpiffeIdPattern(pattern).matches(parseSpiffeIdOrText(id))).toBe(expected);
  });

  it.each(["spiffe://td/a*", "spiffe://td/*/b", "spiffe://*/a", "spiffe://td/***", "td/**", "spiffe://td/a/", "spiffe://TD/**"])(
    "refuses the pattern %j",
    (pattern) => {
      expect(() => compileSpiffeIdPattern(pattern)).toThrow(SpiffeIdError);
    },
  );
});

function parseSpiffeIdOrText(text: string) {
  try {
    return parseSpiffeId(text);
  } catch {
    return text;
  }
}
