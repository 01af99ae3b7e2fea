import { designExampleInput } from "./test-fixtures.ts";
import { describe, expect, it } from "vitest";
import { PolicyInputError, readPolicyInput } from "./input-reader.ts";

const example = designExampleInput;

describe("readPolicyInput", () => {
  it("accepts DESIGN.md's example, and fields added later", () => {
    expect(readPolicyInput(example)).toEqual(example);
    const grown = { ...example, client: { ip: "10.0.0.1" } };
    expect(readPolicyInput(grown)).toEqual(grown);
  });

  it("accepts every kind of resource with its own fields", () => {
    const resources = [
      { kind: "tool", server: "files", name: "read_file", action: "call" },
      { kind: "resource", server: "files", name: "file:///etc/motd", action: "read" },
      { kind: "prompt", server: "files", name: "summarise", action: "get" },
      { kind: "collection", database: "qdrant", name: "docs", action: "search" },
      { kind: "admin", name: "budgets", action: "read" },
    ];
    for (const resource of resources) expect(readPolicyInput({ ...example, resource }).resource).toEqual(resource);
  });

  it.each([
    [null, "input must be an object"],
    [{ ...example, source: 7 }, "input.source must be a string"],
    [{ ...example, now: undefined }, "input.now must be a string"],
    [{ ...example, source_id: { ...example.source_id, segments: "agent" } }, "input.source_id.segments must be an array of strings"],
    [{ ...example, source_id: { ...example.source_id, auth: "password" } }, "input.source_id.auth must be one of x509-svid, jwt-svid"],
    [{ ...example, resource: { ...example.resource, kind: "models" } }, "input.resource.kind must be one of"],
    [{ ...example, resource: { kind: "tool", name: "read_file", action: "call" } }, "input.resource.server must be a string"],
    [{ ...example, request: [] }, "input.request must be an object"],
  ])("names the first wrong field (%#)", (raw, message) => {
    expect(() => readPolicyInput(raw)).toThrow(PolicyInputError);
    expect(() => readPolicyInput(raw)).toThrow(message);
  });
});
