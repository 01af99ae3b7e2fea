import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSvidFiles } from "../identity/svid-files.ts";
import { loadTrustBundleSet } from "../identity/trust-bundles.ts";
import { X509SvidVerifier } from "../identity/x509-svid-verifier.ts";
import { runDevCaCommand } from "./dev-ca-command.ts";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tollgate-dev-ca-command-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function run(cwd: string, ...args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runDevCaCommand(args, { stdout: (line) => stdout.push(line), stderr: (line) => stderr.push(line), cwd });
  return { code, stdout: stdout.join("\n"), stderr: stderr.join("\n") };
}

describe("tollgate dev-ca issue", () => {
  it("creates the CA in .data/pki when there is none and writes NAME.pem and NAME-key.pem", async () => {
    const cwd = join(root, "issue");
    const result = await run(cwd, "issue", "spiffe://ai.company.org/agent/my-agent", "--ttl", "2h", "--dns", "agent.local", "--dns", "localhost");
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const pki = join(cwd, ".data", "pki");
    expect(result.stdout).toContain(`Created the development CA of trust domain ai.company.org`);
    expect(result.stdout).toContain(join(pki, "my-agent.pem"));
    expect(result.stdout).toContain(join(pki, "my-agent-key.pem"));
    expect(result.stdout).toContain("valid for 2h");
    expect((await stat(join(pki, "my-agent-key.pem"))).mode & 0o777).toBe(0o600);

    const material = await loadSvidFiles({ certificateFile: join(pki, "my-agent.pem"), keyFile: join(pki, "my-agent-key.pem"), bundleFiles: {} });
    const bundles = await loadTrustBundleSet({ "ai.company.org": join(pki, "ca.pem") });
    expect((await new X509SvidVerifier().verify(material.chain, bundles)).id.uri).toBe("spiffe://ai.company.org/agent/my-agent");
    expect(new X509Certificate(material.chain[0] ?? Buffer.alloc(0)).subjectAltName).toContain("DNS:agent.local");
    const lifetime = material.notAfter.getTime() - Date.now();
    expect(lifetime).toBeGreaterThan(1.9 * 3_600_000);
    expect(lifetime).toBeLessThanOrEqual(2 * 3_600_000);
  });

  it("uses an existing CA, --name and --out", async () => {
    const cwd = join(root, "existing");
    expect((await run(cwd, "init", "--trust-domain", "example.org")).code).toBe(0);
    const caBefore = await readFile(join(cwd, ".data", "pki", "ca.pem"), "utf8");
    const result = await run(cwd, "issue", "spiffe://example.org/agent/x", "--name", "renamed", "--out", "certs", "--ip", "127.0.0.1");
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("Created the development CA");
    expect(await readFile(join(cwd, ".data", "pki", "ca.pem"), "utf8")).toBe(caBefore);
    expect(await readFile(join(cwd, "certs", "renamed.pem"), "utf8")).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it.each<[string, string[], RegExp]>([
    ["no ID", ["issue"], /needs the SPIFFE ID/],
    ["an invalid ID", ["issue", "spiffe://ai.company.org/a/../b"], /has a "\.\." path segment/],
    ["a trust domain ID", ["issue", "spiffe://ai.company.org"], /names a trust domain; an SVID needs a path/],
    ["a bad duration", ["issue", "spiffe://ai.company.org/a", "--ttl", "soon"], /--ttl: "soon" is not a duration/],
    ["a zero duration", ["issue", "spiffe://ai.company.org/a", "--ttl", "0s"], /--ttl must be longer than zero/],
    ["an unknown option", ["issue", "spiffe://ai.company.org/a", "--color"], /Unknown option '--color'/],
    ["a bad name", ["issue", "spiffe://ai.company.org/a", "--name", "../up"], /cannot name the files/],
    ["a bad IP", ["issue", "spiffe://ai.company.org/a", "--ip", "localhost"], /"localhost" is not an IP address/],
    ["an unknown command", ["renew"], /unknown dev-ca command "renew"/],
    ["a bad trust domain", ["init", "--trust-domain", "Example.org"], /--trust-domain: .*lower case/],
  ])("refuses %s with one line and exit code 2", async (_name, args, message) => {
    const result = await run(join(root, "refused"), ...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.split("\n")).toHaveLength(1);
    expect(result.stderr).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
  });

  it("refuses an ID of another trust domain than the CA's, and a CA it cannot read", async () => {
    const cwd = join(root, "mismatch");
    await run(cwd, "init", "--trust-domain", "example.org");
    const other = await run(cwd, "issue", "spiffe://other.org/agent/x");
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/signs trust domain example\.org, not other\.org/);

    await writeFile(join(cwd, ".data", "pki", "ca-key.pem"), "not a key\n");
    const broken = await run(cwd, "issue", "spiffe://example.org/agent/x");
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/the CA in .* cannot be used/);
  });
});

describe("tollgate dev-ca init", () => {
  it("creates the CA once and leaves it alone afterwards", async () => {
    const cwd = join(root, "init");
    const first = await run(cwd, "init", "--ca-dir", "pki", "--ttl", "30d");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(join(cwd, "pki", "ca.pem"));
    const second = await run(cwd, "init", "--ca-dir", "pki");
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/already exists/);
  });

  it("prints its usage", async () => {
    const result = await run(root, "help");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage:/);
    expect((await run(root)).code).toBe(2);
  });
});
