/**
 * The admin API on its own mTLS listener: authorized by the policy (the operator's SVID may, agents'
 * may not), spend as JSON and CSV, top spenders, audit search with cursors and NDJSON export, budgets
 * read and changed at run time through the budget stage, and the policy's status.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./harness/gateway-harness.ts";
import { createScratchDatabase, type ScratchDatabase } from "./harness/scratch-database.ts";

const chat = (content: string) => JSON.stringify({ model: "demo-chat", messages: [{ role: "user", content }] });
const support = "spiffe://ai.company.org/agent/customer-support/v2";
const review = "spiffe://ai.company.org/agent/code-review/v1";

describe("the admin API", () => {
  let h: Harness;
  let db: ScratchDatabase;
  const requestIds: string[] = [];

  beforeAll(async () => {
    db = await createScratchDatabase();
    h = await startHarness({
      audit: { database: db.url },
      configure: (config) => {
        config.budgets = { limits: [{ name: "support-daily", match: { agents: ["spiffe://ai.company.org/agent/customer-support/*"] }, window: "day", limits: { requests: 1000, cost_usd: "5.00" } }] };
      },
    });
    for (const [identity, n] of [
      ["customer-support", 3],
      ["code-review", 2],
    ] as const) {
      for (let i = 0; i < n; i++) {
        const response = await h.fetch(identity, "/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: chat(`${identity} ${i} ${"word ".repeat(i * 20)}`) });
        expect(response.status).toBe(200);
        await response.text();
        requestIds.push(response.headers.get("x-request-id") as string);
        await h.requestLog(response.headers.get("x-request-id"));
      }
    }
    await h.gateway.audit?.writer.flushAll();
  });
  afterAll(async () => {
    await h.close();
    await db.drop();
  });

  it("refuses agents with 403 and the policy's reason, and callers without a certificate", async () => {
    for (const path of ["/admin/v1/spend", "/admin/v1/audit/events", "/admin/v1/budgets", "/admin/v1/policy"]) {
      const response = await h.adminFetch("customer-support", path);
      expect(response.status).toBe(403);
      const body = (await response.json()) as { error: { code: string; reasons: string[] } };
      expect(body.error.code).toBe("TG_ERR_POLICY_DENIED");
      expect(body.error.reasons[0]).toContain(`no grant allows ${support} to read admin`);
    }
    const changed = await h.adminFetch("training", "/admin/v1/budgets/support-daily", { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ requests: 1 }) });
    expect(changed.status).toBe(403);
    await changed.text();
    await expect(h.adminFetch(undefined, "/admin/v1/spend").then((r) => r.status)).resolves.toBe(401);
  });

  it("records admin requests in the audit trail too, denied ones with their reasons", async () => {
    await h.gateway.audit?.writer.flushAll();
    const response = await h.adminFetch("operator", "/admin/v1/audit/events?kind=admin&decision=deny&limit=50");
    expect(response.status).toBe(200);
    const page = (await response.json()) as { rows: Array<{ caller: string; protocol: string; resource_name: string; decision: string }> };
    expect(page.rows.length).toBeGreaterThanOrEqual(4);
    expect(page.rows.every((r) => r.protocol === "admin" && r.decision === "deny")).toBe(true);
    expect(page.rows.map((r) => r.caller)).toContain(support);
  });

  it("gives the operator spend by agent, team, model and day, as JSON and CSV", async () => {
    const byAgent = await h.adminFetch("operator", "/admin/v1/spend?by=agent&since=1d");
    expect(byAgent.status).toBe(200);
    const report = (await byAgent.json()) as { by: string; lines: Array<{ key: string; requests: number; denied: number; cost_micro_usd: number }>; total: { requests: number } };
    expect(report.by).toBe("agent");
    const lines = report.lines.filter((l) => l.key === support || l.key === review);
    // customer-support's four refused admin calls (the first test) count as requests, denied, costing nothing.
    expect(lines.map((l) => [l.key, l.requests, l.denied])).toEqual([
      [review, 2, 0],
      [support, 7, 4],
    ]);
    for (const line of lines) expect(line.cost_micro_usd).toBeGreaterThan(0);

    const byTeam = (await (await h.adminFetch("operator", "/admin/v1/spend?by=team&since=1d")).json()) as { lines: Array<{ key: string }> };
    expect(byTeam.lines.map((l) => l.key)).toEqual(expect.arrayContaining(["spiffe://ai.company.org/agent/customer-support", "spiffe://ai.company.org/agent/code-review"]));
    const byModel = (await (await h.adminFetch("operator", "/admin/v1/spend?by=model&since=1d")).json()) as { lines: Array<{ key: string; requests: number }> };
    expect(byModel.lines.find((l) => l.key === "demo-chat")?.requests).toBe(5);
    const today = new Date().toISOString().slice(0, 10);
    const byDay = (await (await h.adminFetch("operator", "/admin/v1/spend?by=day&since=2d")).json()) as { lines: Array<{ key: string }> };
    expect(byDay.lines.map((l) => l.key)).toContain(today);

    const csv = await h.adminFetch("operator", "/admin/v1/spend?by=agent&since=1d&format=csv");
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    const rows = (await csv.text()).trim().split("\r\n");
    expect(rows[0]).toBe("agent,requests,denied,errors,input_tokens,output_tokens,cached_input_tokens,cost_micro_usd,cost_usd");
    expect(rows.find((r) => r.startsWith(`${support},7,4,`))).toMatch(/,0\.\d{6}$/);
  });

  it("ranks top spenders", async () => {
    const top = (await (await h.adminFetch("operator", "/admin/v1/spend/top?by=agent&since=1d&limit=1")).json()) as { lines: Array<{ key: string }> };
    expect(top.lines).toHaveLength(1);
    expect(top.lines[0]?.key).toBe(support);
  });

  it("answers bad queries with 400 naming the parameter", async () => {
    const response = await h.adminFetch("operator", "/admin/v1/spend?by=planet");
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "TG_ERR_BAD_REQUEST", message: expect.stringContaining("by must be one of") } });
    const cursor = await h.adminFetch("operator", "/admin/v1/audit/events?cursor=garbage");
    expect(cursor.status).toBe(400);
    await cursor.text();
  });

  it("searches the audit trail by agent and model with cursor pagination, and exports NDJSON", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const response = await h.adminFetch("operator", `/admin/v1/audit/events?agent=${encodeURIComponent(support)}&model=demo-chat&kind=model&decision=allow&since=1d&limit=2${cursor === undefined ? "" : `&cursor=${cursor}`}`);
      const page = (await response.json()) as { rows: Array<{ request_id: string }>; next?: string };
      expect(page.rows.length).toBeLessThanOrEqual(2);
      seen.push(...page.rows.map((r) => r.request_id));
      cursor = page.next;
    } while (cursor !== undefined);
    expect(seen.sort()).toEqual(requestIds.slice(0, 3).sort());

    const exported = await h.adminFetch("operator", `/admin/v1/audit/export?agent=${encodeURIComponent(review)}&kind=model`);
    expect(exported.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    const lines = (await exported.text()).trim().split("\n").map((line) => JSON.parse(line) as { request_id: string; caller: string });
    expect(lines.map((l) => l.request_id).sort()).toEqual(requestIds.slice(3).sort());
  });

  it("lists budgets with their counters and changes them at run time", async () => {
    const listed = (await (await h.adminFetch("operator", "/admin/v1/budgets")).json()) as { definitions: Array<{ name: string; limits: Record<string, number>; source: string }>; status: Array<{ budget: string; subject: string; used: { requests: number } }> };
    expect(listed.definitions).toEqual([expect.objectContaining({ name: "support-daily", limits: { requests: 1000, costMicroUsd: 5_000_000 }, source: "config" })]);
    expect(listed.status.find((s) => s.subject === support)?.used.requests).toBe(3);

    const changed = await h.adminFetch("operator", "/admin/v1/budgets/support-daily", { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ requests: 3, cost_usd: "1.50" }) });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({ name: "support-daily", limits: { requests: 3, costMicroUsd: 1_500_000 }, source: "runtime" });
    const refused = await h.fetch("customer-support", "/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: chat("over the new limit") });
    expect(refused.status).toBe(429);
    await refused.text();

    const reset = await h.adminFetch("operator", "/admin/v1/budgets/support-daily", { method: "DELETE" });
    expect(await reset.json()).toMatchObject({ limits: { requests: 1000 }, source: "config" });
    const unknown = await h.adminFetch("operator", "/admin/v1/budgets/no-such", { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ requests: 3 }) });
    expect(unknown.status).toBe(404);
    await unknown.text();
    const bad = await h.adminFetch("operator", "/admin/v1/budgets/support-daily", { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ cost_usd: "1.2345678" }) });
    expect(bad.status).toBe(400);
    await bad.text();
  });

  it("reports the policy's revision, the audit writer's state, and verifies the chain", async () => {
    const policy = (await (await h.adminFetch("operator", "/admin/v1/policy")).json()) as { revision: string; ready: boolean; lastError: string | null };
    expect(policy).toMatchObject({ revision: h.gateway.engine.status().revision, ready: true });
    const status = (await (await h.adminFetch("operator", "/admin/v1/audit/status")).json()) as { database: string; kind: string; accepting: boolean };
    expect(status).toMatchObject({ database: "up", kind: "postgres", accepting: true });
    const verify = (await (await h.adminFetch("operator", "/admin/v1/audit/verify", { method: "POST" })).json()) as { ok: boolean; rows: number };
    expect(verify.ok).toBe(true);
    expect(verify.rows).toBeGreaterThan(5);
  });
});
