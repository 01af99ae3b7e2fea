import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { text } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpaUnavailableError, runOpa, toolsDir } from "./opa-command.ts";
import { scratchDir } from "./test-fixtures.ts";

describe("runOpa", () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let fakeOpa: string;
  beforeAll(async () => {
    dir = await scratchDir("opa-command");
    fakeOpa = join(dir.path, "fake-opa");
    await writeFile(fakeOpa, '#!/bin/sh\necho "fake opa $*"\necho "to stderr" >&2\nexit 3\n');
    await chmod(fakeOpa, 0o755);
  });
  afterAll(async () => {
    await dir.remove();
  });

  it("runs the opa pinned in tools/go.mod when TOLLGATE_OPA is not set", async () => {
    const pinned = /github\.com\/open-policy-agent\/opa v(\S+)/.exec(await readFile(join(toolsDir, "go.mod"), "utf8"))?.[1];
    expect(pinned).toBeDefined();
    const result = await runOpa(["version"], { env: { ...process.env, TOLLGATE_OPA: "" } });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`Version: ${pinned}`);
  });

  it("runs the binary TOLLGATE_OPA names, passing its exit code, output and arguments on", async () => {
    const stdout = new PassThrough();
    const forwarded = text(stdout);
    const result = await runOpa(["test", "-v", "/srv/policies"], {
      env: { ...process.env, TOLLGATE_OPA: fakeOpa },
      forward: { stdout },
    });
    stdout.end();
    expect(result).toEqual({ exitCode: 3, stdout: "fake opa test -v /srv/policies\n", stderr: "to stderr\n" });
    expect(await forwarded).toBe("fake opa test -v /srv/policies\n");
  });

  it("says how to fix a TOLLGATE_OPA that cannot be started", async () => {
    const running = runOpa(["version"], { env: { ...process.env, TOLLGATE_OPA: join(dir.path, "no-such-opa") } });
    await expect(running).rejects.toThrow(OpaUnavailableError);
    await expect(runOpa(["version"], { env: { ...process.env, TOLLGATE_OPA: join(dir.path, "no-such-opa") } })).rejects.toThrow(
      `TOLLGATE_OPA=${join(dir.path, "no-such-opa")} could not be started`,
    );
  });
});
