import { describe, expect, it } from "vitest";
import { TeamResolver } from "./team-resolver.ts";

describe("TeamResolver", () => {
  const teams = new TeamResolver({
    support: ["spiffe://ai.company.org/agent/customer-support/*"],
    ml: ["spiffe://ai.company.org/pipeline/**", "spiffe://ai.company.org/agent/code-review/v1"],
  });

  it("puts a caller in the first team whose pattern matches", () => {
    expect(teams.teamOf("spiffe://ai.company.org/agent/customer-support/v2")).toBe("support");
    expect(teams.teamOf("spiffe://ai.company.org/pipeline/training/job-abc")).toBe("ml");
    expect(teams.teamOf("spiffe://ai.company.org/agent/code-review/v1")).toBe("ml");
  });

  it("matches /* one segment deep only, and exact IDs exactly", () => {
    expect(teams.teamOf("spiffe://ai.company.org/agent/customer-support/v2/extra")).toBe("spiffe://ai.company.org/agent/customer-support/v2");
    expect(teams.teamOf("spiffe://ai.company.org/agent/code-review/v2")).toBe("spiffe://ai.company.org/agent/code-review");
  });

  it("falls back to the ID without its last segment, and to the ID itself when it has one segment", () => {
    expect(teams.teamOf("spiffe://other.org/agent/search/v7")).toBe("spiffe://other.org/agent/search");
    expect(teams.teamOf("spiffe://other.org/solo")).toBe("spiffe://other.org/solo");
    expect(teams.teamOf(null)).toBeNull();
  });
});
