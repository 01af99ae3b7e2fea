import { once } from "node:events";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "./config-error.ts";
import { ConfigWatcher } from "./config-watcher.ts";

const base = "policy:\n  dir: ./policies\n";

describe("configuration reload", () => {
  let dir: string | undefined;
  let watcher: ConfigWatcher | undefined;
  afterEach(async () => {
    watcher?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("announces a valid change, including a file replaced by rename, and keeps the last good one on a broken change", async () => {
    dir = await mkdtemp(join(tmpdir(), "tollgate-config-"));
    const file = join(dir, "tollgate.yaml");
    await writeFile(file, `${base}budgets:\n  limits: [{ name: a, window: day, limits: { requests: 1 } }]\n`);
    watcher = new ConfigWatcher(file, {});

    const changed = once(watcher, "change");
    await writeFile(file, `${base}budgets:\n  limits: [{ name: a, window: day, limits: { requests: 5 } }]\n`);
    const [config] = await changed;
    expect(config.budgets.limits[0]?.limits?.requests).toBe(5);

    const failed = once(watcher, "error");
    await writeFile(file, `${base}budgets:\n  limits: [{ name: a, window: fortnight }]\n`);
    const [error] = await failed;
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.join("\n")).toContain("budgets.limits[0].window");

    const replaced = once(watcher, "change");
    await writeFile(join(dir, "next.yaml"), `${base}budgets:\n  limits: [{ name: b, window: hour, limits: { requests: 2 } }]\n`);
    await rename(join(dir, "next.yaml"), file);
    const [next] = await replaced;
    expect((next as { budgets: { limits: Array<{ name: string }> } }).budgets.limits.map((b) => b.name)).toEqual(["b"]);
  });
});
