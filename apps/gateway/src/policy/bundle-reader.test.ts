import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PolicyBundleError, readBundle, readBundleFile } from "./bundle-reader.ts";
import { scratchDir } from "./test-fixtures.ts";

const wasm = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

/** A .tar.gz with these entries, as `opa build` lays them out (leading "/"). */
async function archive(entries: Record<string, string | Buffer>): Promise<Buffer> {
  const tarball = pack();
  for (const [name, content] of Object.entries(entries)) tarball.entry({ name, mtime: new Date(0) }, content);
  tarball.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tarball) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

describe("readBundle", () => {
  it("reads the wasm module, the data and the manifest's revision", async () => {
    const bundle = await readBundle(
      await archive({
        "/.manifest": JSON.stringify({ revision: "2026-12-04.1", roots: [""], wasm: [{ entrypoint: "tollgate/authz/decision", module: "/policy.wasm" }] }),
        "/data.json": JSON.stringify({ tollgate: { grants: [] } }),
        "/policy.wasm": wasm,
        "/work/policies/authz.rego": "package tollgate.authz",
      }),
    );
    expect(Buffer.from(bundle.wasm)).toEqual(wasm);
    expect(bundle.data).toEqual({ tollgate: { grants: [] } });
    expect(bundle.revision).toBe("2026-12-04.1");
  });

  it("falls back to a short sha256 of the archive when the manifest has no revision", async () => {
    const bytes = await archive({ "/.manifest": JSON.stringify({ revision: "" }), "/policy.wasm": wasm });
    const expected = createHash("sha256").update(bytes).digest("hex").slice(0, 12);
    expect((await readBundle(bytes)).revision).toBe(`sha256:${expected}`);
    const other = await archive({ "/.manifest": JSON.stringify({ revision: "" }), "/policy.wasm": wasm, "/data.json": "{}" });
    expect((await readBundle(other)).revision).not.toBe(`sha256:${expected}`);
  });

  it("mounts nested data files at their directory's path and merges them", async () => {
    const bundle = await readBundle(
      await archive({
        "policy.wasm": wasm,
        "./data.json": JSON.stringify({ tollgate: { grants: [{ name: "a" }] } }),
        "tollgate/data.yaml": "blocked: []\n",
        "teams/support/data.json": JSON.stringify({ lead: "ana" }),
      }),
    );
    expect(bundle.data).toEqual({ tollgate: { grants: [{ name: "a" }], blocked: [] }, teams: { support: { lead: "ana" } } });
  });

  it("keeps a __proto__ key in the data as plain data", async () => {
    const bundle = await readBundle(
      await archive({ "/policy.wasm": wasm, "/data.json": '{"__proto__": {"polluted": true}, "a": {"__proto__": {"x": 1}}}' }),
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(bundle.data)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(bundle.data))).toEqual(JSON.parse('{"__proto__": {"polluted": true}, "a": {"__proto__": {"x": 1}}}'));
  });

  it.each([
    ["no wasm module", { "/data.json": "{}" }, "the bundle has no policy.wasm: build it with `opa build -t wasm -e tollgate/authz/decision`"],
    ["a manifest without the decision entrypoint", { "/.manifest": JSON.stringify({ wasm: [{ entrypoint: "x/y", module: "/policy.wasm" }] }), "/policy.wasm": wasm }, "its wasm modules do not include the entrypoint tollgate/authz/decision"],
    ["a manifest that is not JSON", { "/.manifest": "{", "/policy.wasm": wasm }, "its .manifest is not JSON"],
    ["data that is not JSON", { "/policy.wasm": wasm, "/data.json": "{" }, "data.json cannot be parsed"],
    ["root data that is not an object", { "/policy.wasm": wasm, "/data.json": "[]" }, "data.json must hold a JSON object at the root of data"],
    ["conflicting data", { "/policy.wasm": wasm, "/data.json": '{"a": {"b": 1}}', "/a/b/data.json": "{}" }, "a/b/data.json conflicts with data already at a.b"],
  ])("refuses %s", async (_what, entries, message) => {
    const reading = readBundle(await archive(entries));
    await expect(reading).rejects.toThrow(PolicyBundleError);
    await expect(readBundle(await archive(entries))).rejects.toThrow(message);
  });

  it("refuses what is not a gzip-compressed tar archive", async () => {
    await expect(readBundle(Buffer.from("not a bundle"))).rejects.toThrow("not a gzip-compressed OPA bundle");
    await expect(readBundle(gzipSync(Buffer.alloc(600, 7)))).rejects.toThrow(PolicyBundleError);
  });

  it("refuses an archive that decompresses beyond the limit", async () => {
    const bomb = gzipSync(Buffer.alloc(4 * 1024 * 1024));
    await expect(readBundle(bomb, { maxUncompressedBytes: 1024 * 1024 })).rejects.toThrow("decompresses to more than 1048576 bytes");
  });
});

describe("readBundleFile", () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  beforeAll(async () => {
    dir = await scratchDir("bundle-reader");
  });
  afterAll(async () => {
    await dir.remove();
  });

  it("names the file in its errors", async () => {
    const file = join(dir.path, "broken.tar.gz");
    await writeFile(file, await archive({ "/data.json": "{}" }));
    await expect(readBundleFile(file)).rejects.toThrow(`${file}: the bundle has no policy.wasm`);
    await expect(readBundleFile(join(dir.path, "missing.tar.gz"))).rejects.toThrow("cannot read the policy bundle");
  });
});
