import { describe, expect, it } from "vitest";
import { isSourceChange } from "./policy-source.ts";

describe("isSourceChange", () => {
  const directory = { kind: "directory", dir: "/srv/policies" } as const;
  const bundle = { kind: "bundle", file: "/srv/bundles/policy.tar.gz" } as const;

  it.each([
    ["authz.rego", true],
    ["teams/support/rules.rego", true],
    ["data.json", true],
    ["teams/support/data.yaml", true],
    ["data.yml", true],
    [".manifest", true],
    [null, true],
    ["authz_test.rego", false],
    ["teams/support/rules_test.rego", false],
    ["README.md", false],
    ["notes.json", false],
    [".data.json.swp", false],
    [".incoming-12.tmp", false],
  ])("for a directory, a change to %s matters: %s", (filename, matters) => {
    expect(isSourceChange(directory, filename)).toBe(matters);
  });

  it.each([
    ["policy.tar.gz", true],
    [null, true],
    ["other.tar.gz", false],
    [".incoming-12.tmp", false],
  ])("for a bundle file, a change to %s matters: %s", (filename, matters) => {
    expect(isSourceChange(bundle, filename)).toBe(matters);
  });
});
