import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWasmBundle, PolicyBuildError } from "./bundle-builder.ts";
import { readBundleFile } from "./bundle-reader.ts";
import { archiveEntries, copyShippedPolicies, scratchDir, shippedPolicies, writePolicyDir } from "./test-fixtures.ts";

describe("buildWasmBundle (real opa)", () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  beforeAll(async () => {
    dir = await scratchDir("bundle-builder");
  });
  afterAll(async () => {
    await dir.remove();
  });

  it("builds the shipped policies with both entrypoints and without the tests", async () => {
    const out = join(dir.path, "shipped.tar.gz");
    await buildWasmBundle(shippedPolicies, out);
    const files = await archiveEntries(out);
    const manifest = JSON.parse(files.get("/.manifest")?.toString("utf8") ?? "{}") as { wasm?: { entrypoint: string }[] };
    expect(manifest.wasm?.map((module) => module.entrypoint)).toEqual(["tollgate/authz/decision", "tollgate/grant_checks/problems"]);
    const names = [...files.keys()];
    expect(names).toContain(join(shippedPolicies, "authz.rego"));
    expect(names.filter((name) => name.endsWith("_test.rego"))).toEqual([]);
    const bundle = await readBundleFile(out);
    expect(bundle.data).toHaveProperty("tollgate.grants");
    expect(bundle.revision).toMatch(/^sha256:[0-9a-f]{12}$/);
  });

  it("gives the same revision for the same sources", async () => {
    const first = await readBundleFile(await built(shippedPolicies, "again-1.tar.gz"));
    const second = await readBundleFile(await built(shippedPolicies, "again-2.tar.gz"));
    expect(second.revision).toBe(first.revision);
  });

  it("leaves the grant checks out when the sources do not define them", async () => {
    const policyDir = await writePolicyDir(join(dir.path, "minimal"), {
      "authz.rego": 'package tollgate.authz\n\ndecision := {"allow": false, "reasons": ["closed"], "obligations": {}}\n',
    });
    const manifest = (await archiveEntries(await built(policyDir, "minimal.tar.gz"))).get("/.manifest")?.toString("utf8") ?? "";
    expect(JSON.parse(manifest)).toMatchObject({ wasm: [{ entrypoint: "tollgate/authz/decision", module: "/policy.wasm" }] });
  });

  it("reports opa's own message, with file and line, when the Rego is broken", async () => {
    const policyDir = await copyShippedPolicies(join(dir.path, "broken"));
    await writePolicyDir(policyDir, { "broken.rego": "package tollgate.authz\n\nallow if {\n\tinput.x == == 1\n}\n" });
    const building = buildWasmBundle(policyDir, join(dir.path, "broken.tar.gz"));
    await expect(building).rejects.toThrow(PolicyBuildError);
    await expect(building).rejects.toThrow(`${join(policyDir, "broken.rego")}:4: rego_parse_error`);
  });

  it("reports a data file that is not JSON", async () => {
    const policyDir = await copyShippedPolicies(join(dir.path, "bad-data"));
    await writePolicyDir(policyDir, { "data.json": '{"tollgate": {"grants": [' });
    await expect(buildWasmBundle(policyDir, join(dir.path, "bad-data.tar.gz"))).rejects.toThrow(`${join(policyDir, "data.json")}: unexpected EOF`);
  });

  it("reports a missing directory", async () => {
    await expect(buildWasmBundle(join(dir.path, "nowhere"), join(dir.path, "nowhere.tar.gz"))).rejects.toThrow(PolicyBuildError);
  });

  async function built(policyDir: string, name: string): Promise<string> {
    const out = join(dir.path, name);
    await buildWasmBundle(policyDir, out);
    return out;
  }
});

