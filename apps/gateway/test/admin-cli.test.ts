/**
 * The tollgate CLI against a running gateway's admin API, end to end: spend, audit search, tail,
 * export and verify (tampering included), budgets, migrate; with the quickstart's operator SVID found
 * by default in the folder it runs in.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { text } from "node:stream/consumers";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAuditCommand } from "../src/cli/audit-command.ts";
import { runBudgetsCommand } from "../src/cli/budgets-command.ts";
import type { CommandIo } from "../src/cli/command-io.ts";
import { runMigrateCommand } from "../src/cli/migrate-command.ts";
import { runSpendCommand } from "../src/cli/spend-command.ts";
import { type Harness, startHarness } from "./harness/gateway-harness.ts";
import { createScratchDatabase, type ScratchDatabase } from "./harness/scratch-database.ts";

const support = "spiffe://ai.company.org/agent/customer-support/v2";

describe("the tollgate CLI", () => {
  let h: Harness;
  let db: ScratchDatabase;
  let pool: pg.Pool;
  let cwd: string;
  const ids: string[] = [];

  beforeAll(async () => {
    db = await createScratchDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    h = await startHarness({
      audit: { database: db.url },
      configure: (config) => {
        config.budgets = { limits: [{ name: "support-daily", match: { agents: ["spiffe://ai.company.org/agent/customer-support/*"] }, window: "day", limits: { requests: 100 } }] };
      },
    });
    // The quickstart's folder: .data/pki/operator.pem and friends.
    cwd = await mkdtemp(join(tmpdir(), "tollgate-cli-"));
    await symlink(h.dataDir, join(cwd, ".data"));
    for (let i = 0; i < 4; i++) {
      const response = await h.fetch(i < 3 ? "customer-support" : "code-review", "/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "demo-chat", messages: [{ role: "user", content: `cli ${i}` }] }),
      });
      await response.text();
      ids.push(response.headers.get("x-request-id") as string);
      await h.requestLog(response.headers.get("x-request-id"));
    }
    await h.gateway.audit?.writer.flushAll();
  });
  afterAll(async () => {
    await h.close();
    await pool.end();
    await db.drop();
    await rm(cwd, { recursive: true, force: true });
  });

  async function run(command: (args: string[], io: CommandIo) => Promise<number>, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out = text(stdout);
    const err = text(stderr);
    const code = await command(args, { stdout, stderr, cwd, env: { TOLLGATE_ADMIN_URL: h.adminUrl, ...env } });
    stdout.end();
    stderr.end();
    return { code, stdout: await out, stderr: await err };
  }

  it("tollgate spend prints a table, CSV and JSON", async () => {
    const table = await run(runSpendCommand, ["--by", "agent", "--since", "1d"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^Spend by agent, /);
    expect(table.stdout).toMatch(new RegExp(`${support.replaceAll("/", "\\/").replaceAll(".", "\\.")}\\s+3\\s+0\\s+0\\s+\\d+\\s+\\d+\\s+\\$0\\.\\d{4}`));
    expect(table.stdout).toMatch(/^total\s+4\s/m);

    const csv = await run(runSpendCommand, ["--by", "model", "--since", "7d", "--format", "csv"]);
    expect(csv.stdout.split("\r\n")[0]).toBe("model,requests,denied,errors,input_tokens,output_tokens,cached_input_tokens,cost_micro_usd,cost_usd");
    expect(csv.stdout).toContain("demo-chat,4,");

    const json = await run(runSpendCommand, ["--by", "team", "--format", "json", "--top", "1"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ by: "team", lines: [{ key: "spiffe://ai.company.org/agent/customer-support", requests: 3 }] });
  });

  it("tollgate audit search and tail show rows, filtered; export writes NDJSON", async () => {
    const search = await run(runAuditCommand, ["search", "--agent", support, "--limit", "2"]);
    expect(search.code).toBe(0);
    expect(search.stdout.split("\n")[0]).toMatch(/^time\s+caller\s+resource\s+decision/);
    expect(search.stdout).toContain(ids[2]);
    expect(search.stderr).toMatch(/^more: --cursor \S+/);

    const tail = await run(runAuditCommand, ["tail", "-n", "3", "--kind", "model"]);
    const lines = tail.stdout.trim().split("\n").slice(1);
    expect(lines.map((line) => line.split(/\s+/).at(-1))).toEqual(ids.slice(1));

    const exported = await run(runAuditCommand, ["export", "--decision", "allow", "--kind", "model"]);
    expect(exported.stdout.trim().split("\n").map((line) => (JSON.parse(line) as { request_id: string }).request_id).sort()).toEqual([...ids].sort());
  });

  it("tollgate budgets lists, sets and resets", async () => {
    const set = await run(runBudgetsCommand, ["set", "support-daily", "--requests", "50", "--cost-usd", "2.50"]);
    expect(set).toMatchObject({ code: 0, stdout: "support-daily: cost $2.500000, requests 50 (runtime)\n" });
    const list = await run(runBudgetsCommand, ["list"]);
    expect(list.stdout).toMatch(/support-daily\s+per_agent\s+day\s+cost \$2\.500000, requests 50\s+runtime/);
    expect(list.stdout).toContain(support);
    const reset = await run(runBudgetsCommand, ["reset", "support-daily"]);
    expect(reset.stdout).toBe("support-daily: requests 100 (config)\n");
    const unknown = await run(runBudgetsCommand, ["set", "nope", "--requests", "1"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no budget is named "nope"');
  });

  it("refuses an agent's SVID with the policy's reason", async () => {
    const denied = await run(runSpendCommand, ["--cert", join(h.pkiDir, "customer-support.pem"), "--key", join(h.pkiDir, "customer-support-key.pem")]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(`no grant allows ${support} to read admin "spend"`);
    expect(denied.stderr).toContain("TG_ERR_POLICY_DENIED, HTTP 403");
  });

  it("tollgate audit verify passes on the untouched trail and names the row edited behind its back", async () => {
    const intact = await run(runAuditCommand, ["verify"]);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(/audit trail intact: \d+ rows in 1 chains/);

    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("ALTER TABLE audit_events DISABLE TRIGGER USER");
      await client.query("UPDATE audit_events SET cost_micro_usd = 0 WHERE request_id = $1", [ids[1]]);
      await client.query("ALTER TABLE audit_events ENABLE TRIGGER USER");
      await client.query("COMMIT");
    } finally {
      client.release();
    }
    const tampered = await run(runAuditCommand, ["verify"]);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain(`FAILED`);
    expect(tampered.stdout).toContain(`edited at seq`);
    expect(tampered.stdout).toContain(`request ${ids[1]}`);
  });

  it("tollgate migrate applies the migrations to a database given by URL, once", async () => {
    const fresh = await createScratchDatabase();
    try {
      const first = await run(runMigrateCommand, ["--database-url", fresh.url]);
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/applied\s+\d+_audit_trail/);
      const again = await run(runMigrateCommand, ["--database-url", fresh.url]);
      expect(again.stdout).toMatch(/: 0 applied, 1 already applied/);
    } finally {
      await fresh.drop();
    }
  });

  it("is registered in the tollgate command", async () => {
    const bin = join(import.meta.dirname, "..", "bin", "tollgate.mjs");
    const child = spawn(process.execPath, [bin, "spend", "--by", "provider", "--format", "json"], { cwd, env: { ...process.env, TOLLGATE_ADMIN_URL: h.adminUrl }, stdio: ["ignore", "pipe", "pipe"] });
    const [out, err] = [text(child.stdout), text(child.stderr)];
    const [code] = (await once(child, "exit")) as [number];
    expect(code, await err).toBe(0);
    expect(JSON.parse(await out)).toMatchObject({ by: "provider", lines: expect.arrayContaining([expect.objectContaining({ key: "primary" })]) });
  });
});
