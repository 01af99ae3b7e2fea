import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SessionSealer } from "./session-token.ts";

const claims = { server: "tickets", caller: "spiffe://ai.company.org/agent/customer-support/v2", upstream: "b6f1c7a2-session" };

describe("SessionSealer", () => {
  it("seals claims that only the replicas' keys open, for the same server", () => {
    const key = randomBytes(32);
    const token = new SessionSealer([key]).seal(claims);
    expect(token).toMatch(/^tgs1\.[A-Za-z0-9_-]+$/);
    expect(token).not.toContain("b6f1c7a2");
    // Another replica with the same key opens it.
    expect(new SessionSealer([key]).open(token, "tickets")).toEqual(claims);
    // Another key, or another server, does not.
    expect(new SessionSealer([randomBytes(32)]).open(token, "tickets")).toBeUndefined();
    expect(new SessionSealer([key]).open(token, "files")).toBeUndefined();
  });

  it("carries the replica of a stdio session", () => {
    const sealer = SessionSealer.ephemeral();
    expect(sealer.open(sealer.seal({ ...claims, replica: "r1" }), "tickets")).toEqual({ ...claims, replica: "r1" });
  });

  it("rotates: a new first key seals, the old one still opens", () => {
    const old = randomBytes(32);
    const fresh = randomBytes(32);
    const before = new SessionSealer([old]).seal(claims);
    const rotated = new SessionSealer([fresh, old]);
    expect(rotated.open(before, "tickets")).toEqual(claims);
    expect(new SessionSealer([fresh]).open(rotated.seal(claims), "tickets")).toEqual(claims);
  });

  it("refuses tampered, truncated and foreign tokens", () => {
    const sealer = SessionSealer.ephemeral();
    const token = sealer.seal(claims);
    const flipped = `${token.slice(0, -2)}${token.at(-2) === "A" ? "B" : "A"}${token.at(-1)}`;
    for (const bad of [flipped, token.slice(0, 20), "tgs1.", "b6f1c7a2-session", `${token}!`, "tgs1.".padEnd(5000, "A")]) {
      expect(sealer.open(bad, "tickets")).toBeUndefined();
    }
  });
});
