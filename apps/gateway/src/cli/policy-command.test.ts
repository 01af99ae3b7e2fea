import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyShippedPolicies, designExampleInput, scratchDir, writePolicyDir } from "../policy/test-fixtures.ts";
import { runPolicyCommand } from "./policy-command.ts";

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

const designExample = designExampleInput;
const fineTuneExample = { ...designExample, path: "/v1/fine_tuning/jobs", resource: { kind: "model", name: "gpt-4o-mini", action: "fine_tune.create" } };

describe("tollgate policy (real opa)", () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let cwd: string;
  beforeAll(async () => {
    dir = await scratchDir("policy-command");
    cwd = dir.path;
    await copyShippedPolicies(cwd);
    await writeFile(join(cwd, "chat.json"), JSON.stringify(designExample));
    await writeFile(join(cwd, "fine-tune.json"), JSON.stringify(fineTuneExample));
  });
  afterAll(async () => {
    await dir.remove();
  });

  async function run(args: string[], stdin = ""): Promise<Ran> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    stdout.on("data", (chunk: Buffer) => out.push(chunk));
    stderr.on("data", (chunk: Buffer) => err.push(chunk));
    const input = new PassThrough();
    input.end(stdin);
    const code = await runPolicyCommand(args, { stdout, stderr, stdin: input, cwd });
    return { code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
  }

  describe("test", () => {
    it("runs the policy tests of ./policies and passes opa's exit code on", async () => {
      const ran = await run(["test"]);
      expect(ran.code).toBe(0);
      expect(ran.stdout).toMatch(/PASS: \d+\/\d+/);
      expect(ran.stdout).toContain("test_customer_support_chats_but_may_not_train: PASS");
    });

    it("fails when a policy test fails", async () => {
      const policyDir = await copyShippedPolicies(join(cwd, "failing"));
      await writePolicyDir(policyDir, { "failing_test.rego": "package failing_test\n\ntest_fails if false\n" });
      const ran = await run(["test", policyDir]);
      expect(ran.code).not.toBe(0);
      expect(ran.stdout).toContain("test_fails: FAIL");
    });
  });

  describe("build", () => {
    it("builds the bundle the gateway loads, and checks that it would load", async () => {
      const ran = await run(["build", "policies", "--out", "out/bundle.tar.gz"]);
      expect(ran.stderr).toBe("");
      expect(ran.code).toBe(0);
      expect(ran.stdout).toMatch(new RegExp(`^built ${join(cwd, "out/bundle.tar.gz")} \\(revision sha256:[0-9a-f]{12}\\)\\n$`));
    });

    it("writes to .data/policy/bundle.tar.gz by default", async () => {
      expect((await run(["build"])).code).toBe(0);
      expect(existsSync(join(cwd, ".data/policy/bundle.tar.gz"))).toBe(true);
    });

    it("fails, with the reason, on a bundle the gateway would refuse", async () => {
      const policyDir = await copyShippedPolicies(join(cwd, "typo"));
      const data = (await readFile(join(policyDir, "data.json"), "utf8")).replace('"targets"', '"target"');
      await writeFile(join(policyDir, "data.json"), data);
      const ran = await run(["build", policyDir, "--out", join(cwd, "typo.tar.gz")]);
      expect(ran.code).toBe(1);
      expect(ran.stderr).toContain('grant 0 ("customer-support-chat") has an unknown field "target"');
    });

    it("fails with opa's message on broken Rego", async () => {
      const policyDir = await writePolicyDir(join(cwd, "broken"), { "authz.rego": "package tollgate.authz\n\ndecision := {\n" });
      const ran = await run(["build", policyDir, "--out", join(cwd, "broken.tar.gz")]);
      expect(ran.code).toBe(1);
      expect(ran.stderr).toContain(`${join(policyDir, "authz.rego")}:`);
      expect(ran.stderr).toContain("rego_parse_error");
    });
  });

  describe("eval", () => {
    it("prints the wasm engine's decision for an input, building ./policies", async () => {
      const ran = await run(["eval", "--input", "chat.json"]);
      expect(ran.code).toBe(0);
      expect(JSON.parse(ran.stdout)).toMatchObject({ allow: true, reasons: ["allowed by grant customer-support-chat"], obligations: { max_output_tokens: 4096 } });
    });

    it("evaluates a prebuilt bundle, and reads the input from stdin", async () => {
      expect((await run(["build", "--out", "eval.tar.gz"])).code).toBe(0);
      const ran = await run(["eval", "--input", "-", "--bundle", "eval.tar.gz"], JSON.stringify(fineTuneExample));
      expect(ran.code).toBe(0);
      expect(JSON.parse(ran.stdout)).toMatchObject({
        allow: false,
        reasons: [
          'no grant allows spiffe://ai.company.org/agent/customer-support/v2 to fine_tune.create model "gpt-4o-mini" on spiffe://ai.company.org/service/llm-proxy',
        ],
      });
    });

    it("fills in now when a hand-written input leaves it out", async () => {
      const { now: _now, ...withoutNow } = designExample;
      const ran = await run(["eval", "--input", "-"], JSON.stringify(withoutNow));
      expect(ran.code).toBe(0);
      expect(JSON.parse(ran.stdout)).toMatchObject({ allow: true });
    });
  });

  describe("bad usage", () => {
    it.each([
      [[], "a subcommand is needed"],
      [["deploy"], 'unknown subcommand "deploy"'],
      [["test", "--bogus"], "Unknown option '--bogus'"],
      [["test", "a", "b"], "one policy directory at most"],
      [["test", "no-such-dir"], "no policy directory at"],
      [["eval"], "eval needs --input FILE"],
      [["eval", "--input", "chat.json", "--bundle", "x.tar.gz", "policies"], "give either a policy directory or --bundle, not both"],
      [["eval", "--input", "missing.json"], "cannot read missing.json"],
    ])("%j exits 2 with a clear message and the usage", async (args, message) => {
      const ran = await run(args);
      expect(ran.code).toBe(2);
      expect(ran.stderr).toContain(message);
      expect(ran.stderr).toContain("Usage:");
    });

    it("exits 2 on an input that is not JSON, or not a policy input", async () => {
      const notJson = await run(["eval", "--input", "-"], "{");
      expect(notJson.code).toBe(2);
      expect(notJson.stderr).toContain("- is not JSON");
      const wrongShape = await run(["eval", "--input", "-"], JSON.stringify({ ...designExample, resource: { kind: "model", name: 1, action: "chat" } }));
      expect(wrongShape.code).toBe(2);
      expect(wrongShape.stderr).toContain("input.resource.name must be a string");
    });

    it("prints the usage on help", async () => {
      const ran = await run(["--help"]);
      expect(ran.code).toBe(0);
      expect(ran.stdout).toContain("tollgate policy test");
    });
  });
});
