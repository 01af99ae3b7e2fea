import { copyFile, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PolicyBuildError } from "./bundle-builder.ts";
import { readBundleFile } from "./bundle-reader.ts";
import { PolicyEngine } from "./engine.ts";
import { PolicyReloader, type ReloadedEvent } from "./policy-reloader.ts";
import { buildBundle, copyShippedPolicies, demoAgents, llmInput, scratchDir, writePolicyDir, type LlmOperation } from "./test-fixtures.ts";

const chat: LlmOperation = { method: "POST", path: "/v1/chat/completions", action: "chat", name: "demo-chat" };
const fineTune: LlmOperation = { method: "POST", path: "/v1/fine_tuning/jobs", action: "fine_tune.create", name: "gpt-4o-mini" };

const customerSupportChats = (engine: PolicyEngine) => engine.evaluate(llmInput(demoAgents.customerSupport, chat)).allow;
const customerSupportTrains = (engine: PolicyEngine) => engine.evaluate(llmInput(demoAgents.customerSupport, fineTune)).allow;

/** Replaces a file the way editors and deploy tools do (write aside, then rename), so no reader sees half of it. */
async function replaceFile(file: string, content: string | Buffer): Promise<void> {
  const aside = join(file, "..", `.incoming-${process.pid}.tmp`);
  await writeFile(aside, content);
  await rename(aside, file);
}

/** Resolves with the first "reloaded" event that satisfies `wanted`; rejects on an "error" event meanwhile. */
function nextReload(reloader: PolicyReloader, wanted: (event: ReloadedEvent) => boolean = () => true): Promise<ReloadedEvent> {
  return new Promise((resolve, reject) => {
    const onReloaded = (event: ReloadedEvent) => {
      if (!wanted(event)) return;
      reloader.off("error", onError);
      reloader.off("reloaded", onReloaded);
      resolve(event);
    };
    const onError = (error: Error) => {
      reloader.off("error", onError);
      reloader.off("reloaded", onReloaded);
      reject(error);
    };
    reloader.on("reloaded", onReloaded);
    reloader.on("error", onError);
  });
}

function nextError(reloader: PolicyReloader): Promise<Error> {
  return new Promise((resolve) => reloader.once("error", resolve));
}

/** The shipped data, with fine-tuning added to the customer-support grant. */
async function dataLettingCustomerSupportTrain(policyDir: string): Promise<string> {
  const data = JSON.parse(await readFile(join(policyDir, "data.json"), "utf8")) as { tollgate: { grants: { name: string; actions: string[] }[] } };
  const grant = data.tollgate.grants.find((g) => g.name === "customer-support-chat");
  if (grant === undefined) throw new Error("the shipped data lost the customer-support-chat grant");
  grant.actions.push("fine_tune.create");
  return JSON.stringify(data, null, 2);
}

describe("PolicyReloader on a directory of Rego and data (real opa)", () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let policyDir: string;
  let engine: PolicyEngine;
  let reloader: PolicyReloader;
  let notices: string[];

  beforeEach(async () => {
    dir = await scratchDir("reloader");
    policyDir = await copyShippedPolicies(dir.path);
    engine = new PolicyEngine();
    notices = [];
    reloader = new PolicyReloader({
      engine,
      source: { kind: "directory", dir: policyDir },
      workDir: join(dir.path, "work"),
      log: (message) => notices.push(message),
    });
  });

  afterEach(async () => {
    await reloader.close();
    await dir.remove();
  });

  it("loads the policy at start and keeps the last good bundle in its work directory", async () => {
    const started = await reloader.start();
    expect(engine.status()).toMatchObject({ ready: true, revision: started.revision });
    expect(customerSupportChats(engine)).toBe(true);
    expect((await readBundleFile(join(dir.path, "work", "bundle.tar.gz"))).revision).toBe(started.revision);
  });

  it("rebuilds when the data changes, and decides by the new grants without anyone rebuilding by hand", async () => {
    const started = await reloader.start();
    expect(customerSupportTrains(engine)).toBe(false);

    const reloaded = nextReload(reloader, (event) => event.revision !== started.revision);
    await replaceFile(join(policyDir, "data.json"), await dataLettingCustomerSupportTrain(policyDir));
    const event = await reloaded;

    expect(engine.status().revision).toBe(event.revision);
    expect(customerSupportTrains(engine)).toBe(true);
    expect(engine.evaluate(llmInput(demoAgents.customerSupport, fineTune)).reasons).toEqual(["allowed by grant customer-support-chat"]);
  });

  it("keeps the last good bundle when the Rego breaks, reports the error, and recovers when it is fixed", async () => {
    const started = await reloader.start();

    const failed = nextError(reloader);
    await replaceFile(join(policyDir, "broken.rego"), "package tollgate.authz\n\nallow if {\n\tinput.x == == 1\n}\n");
    const error = await failed;

    expect(error).toBeInstanceOf(PolicyBuildError);
    expect(error.message).toContain(`${join(policyDir, "broken.rego")}:4: rego_parse_error`);
    const status = engine.status();
    expect(status).toMatchObject({ ready: true, revision: started.revision, lastError: error.message });
    expect(status.lastErrorAt).toBeInstanceOf(Date);
    expect(customerSupportChats(engine)).toBe(true);

    // One file write can be several watch events, so a second build of the broken sources may still
    // be running: let it finish, so that the next outcome is the one of the fix.
    await reloader.reload();
    const reloaded = nextReload(reloader);
    await rm(join(policyDir, "broken.rego"));
    expect((await reloaded).revision).toBe(started.revision);
    expect(engine.status()).toMatchObject({ lastError: undefined, lastErrorAt: undefined });
  });

  it("serialises builds: requests during a build cause exactly one more build after it", async () => {
    await reloader.start();
    const reloads: ReloadedEvent[] = [];
    reloader.on("reloaded", (event) => reloads.push(event));
    await Promise.all([reloader.reload(), reloader.reload(), reloader.reload(), reloader.reload()]);
    expect(reloads).toHaveLength(2);
  });

  it("refuses to start on a policy that does not build, and then denies everything", async () => {
    await writePolicyDir(policyDir, { "broken.rego": "package tollgate.authz\n\nallow if {\n\tinput.x == == 1\n}\n" });
    await expect(reloader.start()).rejects.toThrow(PolicyBuildError);
    expect(engine.status()).toMatchObject({ ready: false, revision: undefined });
    expect(engine.status().lastError).toContain("broken.rego:4");
    expect(engine.evaluate(llmInput(demoAgents.customerSupport, chat))).toMatchObject({ allow: false, reasons: ["no policy bundle is loaded"] });
  });

  it("reports only the last of builds that changes overtook: a failure a newer change supersedes is not news", async () => {
    const unwatched = new PolicyReloader({ engine, source: { kind: "directory", dir: policyDir }, workDir: join(dir.path, "unwatched"), watch: false });
    try {
      await unwatched.start();
      const errors: Error[] = [];
      unwatched.on("error", (error) => errors.push(error));
      await writePolicyDir(policyDir, { "broken.rego": "package tollgate.authz\n\nallow if {\n" });
      // The second request arrives while the first build runs: that build's failure is stale.
      await Promise.all([unwatched.reload(), unwatched.reload()]);
      expect(errors).toHaveLength(1);
      expect(errors[0]?.message).toContain("broken.rego");
      expect(engine.status().lastError).toBe(errors[0]?.message);
    } finally {
      await unwatched.close();
    }
  });

  it("logs a failed reload when nobody listens for errors, instead of crashing", async () => {
    await reloader.start();
    await writePolicyDir(policyDir, { "broken.rego": "package tollgate.authz\n\nallow if {\n" });
    await reloader.reload();
    expect(notices.some((notice) => notice.includes("the last good bundle stays in use") && notice.includes("broken.rego"))).toBe(true);
    expect(customerSupportChats(engine)).toBe(true);
  });

  it("does nothing more once closed", async () => {
    const started = await reloader.start();
    await reloader.close();
    const reloads: ReloadedEvent[] = [];
    reloader.on("reloaded", (event) => reloads.push(event));
    await writeFile(join(policyDir, "data.json"), await dataLettingCustomerSupportTrain(policyDir));
    await reloader.reload();
    expect(reloads).toEqual([]);
    expect(engine.status().revision).toBe(started.revision);
  });
});

describe("PolicyReloader on a prebuilt bundle file (real opa)", () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let engine: PolicyEngine;
  let reloader: PolicyReloader;
  let original: { file: string; revision: string };
  let changed: { file: string; revision: string };
  let live: string;

  beforeEach(async () => {
    dir = await scratchDir("reloader-bundle");
    const policyDir = await copyShippedPolicies(dir.path);
    original = await buildBundle(policyDir, dir.path, "original.tar.gz");
    await writeFile(join(policyDir, "data.json"), await dataLettingCustomerSupportTrain(policyDir));
    changed = await buildBundle(policyDir, dir.path, "changed.tar.gz");
    live = join(await writePolicyDir(join(dir.path, "live"), {}), "policy.tar.gz");
    await copyFile(original.file, live);
    engine = new PolicyEngine();
    reloader = new PolicyReloader({ engine, source: { kind: "bundle", file: live } });
  });

  afterEach(async () => {
    await reloader.close();
    await dir.remove();
  });

  it("reloads the bundle when it is replaced", async () => {
    expect((await reloader.start()).revision).toBe(original.revision);
    expect(customerSupportTrains(engine)).toBe(false);

    const reloaded = nextReload(reloader, (event) => event.revision === changed.revision);
    await replaceFile(live, await readFile(changed.file));
    await reloaded;
    expect(customerSupportTrains(engine)).toBe(true);
  });

  it("keeps the last good bundle when the replacement is not one", async () => {
    await reloader.start();
    const failed = nextError(reloader);
    await replaceFile(live, "this is not a bundle");
    const error = await failed;
    expect(error.message).toContain("not a gzip-compressed OPA bundle");
    expect(engine.status()).toMatchObject({ revision: original.revision, lastError: error.message });
    expect(customerSupportChats(engine)).toBe(true);
  });
});
