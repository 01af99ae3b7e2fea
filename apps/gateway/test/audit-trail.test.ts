/**
 * The audit trail end to end: a real gateway (real TLS, real opa, the budget stage) writing to a real
 * PostgreSQL, every request of the LLM path giving exactly one row with the right decision, reasons,
 * tokens and cost; required-audit mode; prompts captured only when asked, and redacted.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { costOf, parsePrice } from "../src/budget/pricing.ts";
import { defaultPrices } from "../src/budget/default-prices.ts";
import { refusingOrigin } from "./harness/tcp-relay.ts";
import { type Harness, startHarness } from "./harness/gateway-harness.ts";
import { createScratchDatabase, type ScratchDatabase } from "./harness/scratch-database.ts";

const chat = (content: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model: "demo-chat", messages: [{ role: "user", content }], ...extra });
const support = "spiffe://ai.company.org/agent/customer-support/v2";
const review = "spiffe://ai.company.org/agent/code-review/v1";

interface Row {
  request_id: string;
  caller: string | null;
  decision: string | null;
  reasons: string[];
  outcome: string;
  status: number;
  input_tokens: number;
  output_tokens: number;
  cost_micro_usd: number;
  price_id: string | null;
  error_code: string | null;
  resource_name: string | null;
  model: string | null;
  provider: string | null;
  policy_revision: string | null;
  team: string | null;
  detail: Record<string, unknown>;
  capture: Record<string, unknown> | null;
}

describe("the audit trail of the LLM path, in PostgreSQL", () => {
  let h: Harness;
  let db: ScratchDatabase;
  let pool: pg.Pool;
  const price = parsePrice("demo-chat", defaultPrices["demo-chat"] as NonNullable<(typeof defaultPrices)["demo-chat"]>);

  beforeAll(async () => {
    db = await createScratchDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    h = await startHarness({
      audit: { database: db.url, teams: { support: ["spiffe://ai.company.org/agent/customer-support/*"] } },
      configure: (config) => {
        config.budgets = { limits: [{ name: "review-two-requests", match: { agents: [review] }, window: "day", limits: { requests: 2 } }] };
      },
    });
  });
  afterAll(async () => {
    await h.close();
    await pool.end();
    await db.drop();
  });

  /** Waits for the request's exchange to finish (its log line), writes the queue out, and returns its rows. */
  async function rowsOf(requestId: string | null): Promise<Row[]> {
    await h.requestLog(requestId);
    await h.gateway.audit?.writer.flushAll();
    return (await pool.query<Row>(`SELECT * FROM audit_events WHERE request_id = $1`, [requestId])).rows;
  }

  it("records an allowed call with its tokens, its cost at the price in force, and the grant that allowed it", async () => {
    const response = await h.fetch("customer-support", "/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: chat("hello audit") });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    const rows = await rowsOf(response.headers.get("x-request-id"));
    expect(rows).toHaveLength(1);
    const expectedCost = costOf({ input: body.usage.prompt_tokens, output: body.usage.completion_tokens }, price);
    expect(rows[0]).toMatchObject({
      caller: support,
      team: "support",
      decision: "allow",
      reasons: ["allowed by grant customer-support-chat"],
      outcome: "ok",
      status: 200,
      resource_name: "demo-chat",
      model: "demo-chat",
      provider: "primary",
      input_tokens: body.usage.prompt_tokens,
      output_tokens: body.usage.completion_tokens,
      cost_micro_usd: expectedCost.microUsd,
      price_id: expectedCost.priceId,
      capture: null,
    });
    expect(expectedCost.microUsd).toBeGreaterThan(0);
    expect(rows[0]?.policy_revision).toBe(h.gateway.engine.status().revision);
  });

  it("records a streamed call with the usage the stream reported", async () => {
    const response = await h.fetch("customer-support", "/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chat("stream please", { stream: true, stream_options: { include_usage: true } }),
    });
    const text = await response.text();
    const events = text
      .split("\n")
      .filter((line) => line.startsWith("data: {"))
      .map((line) => JSON.parse(line.slice("data: ".length)) as { usage?: { prompt_tokens: number; completion_tokens: number } | null });
    const usage = events.find((event) => event.usage != null)?.usage as { prompt_tokens: number; completion_tokens: number };
    expect(usage.completion_tokens).toBeGreaterThan(0);
    const [row] = await rowsOf(response.headers.get("x-request-id"));
    expect(row).toMatchObject({ outcome: "ok", input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens, cost_micro_usd: costOf({ input: usage.prompt_tokens, output: usage.completion_tokens }, price).microUsd });
  });

  it("records a denial with the policy's reasons, no tokens and no cost", async () => {
    const response = await h.fetch("customer-support", "/v1/fine_tuning/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "demo-chat", training_file: "file-x" }) });
    expect(response.status).toBe(403);
    await response.text();
    const rows = await rowsOf(response.headers.get("x-request-id"));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      decision: "deny",
      reasons: [`no grant allows ${support} to fine_tune.create model "demo-chat" on spiffe://ai.company.org/service/llm-proxy`],
      outcome: "denied",
      status: 403,
      error_code: "TG_ERR_POLICY_DENIED",
      input_tokens: 0,
      output_tokens: 0,
      cost_micro_usd: 0,
    });
  });

  it("records a request refused for budget: allowed by policy, refused with 429, nothing spent", async () => {
    for (let i = 0; i < 2; i++) {
      const ok = await h.fetch("code-review", "/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: chat(`review ${i}`) });
      expect(ok.status).toBe(200);
      await ok.text();
    }
    const refused = await h.fetch("code-review", "/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: chat("one too many") });
    expect(refused.status).toBe(429);
    await refused.text();
    const rows = await rowsOf(refused.headers.get("x-request-id"));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ caller: review, decision: "allow", reasons: ["allowed by grant code-review-chat"], outcome: "rejected", status: 429, error_code: "TG_ERR_BUDGET_EXCEEDED", cost_micro_usd: 0, input_tokens: 0 });
  });

  it("records an upstream failure as upstream_error", async () => {
    h.upstreams[0]?.faults.push({ kind: "reset", path: "/v1/chat/completions", times: 3 });
    const response = await h.fetch("customer-support", "/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: chat("fail please") });
    expect(response.status).toBe(502);
    await response.text();
    const rows = await rowsOf(response.headers.get("x-request-id"));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ decision: "allow", outcome: "upstream_error", status: 502, error_code: "TG_ERR_UPSTREAM_FAILED", provider: "primary", cost_micro_usd: 0 });
  });

  it("records a call the caller abandoned as aborted", async () => {
    const upstream = h.upstreams[0];
    upstream?.faults.push({ kind: "hang", path: "/v1/chat/completions" });
    const arrived = upstream?.nextRequest({ path: "/v1/chat/completions" });
    const from = h.logs.length;
    const controller = new AbortController();
    const call = h.fetch("customer-support", "/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: chat("abandoned"), signal: controller.signal });
    await arrived;
    controller.abort();
    await expect(call).rejects.toThrow();
    const line = await h.logLine((l) => l.outcome === "aborted", from);
    const rows = await rowsOf(line.reqId as string);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ caller: support, decision: "allow", outcome: "aborted" });
  });

  it("records a caller without a certificate, with no decision", async () => {
    const response = await h.fetch(undefined, "/v1/models");
    expect(response.status).toBe(401);
    await response.text();
    const rows = await rowsOf(response.headers.get("x-request-id"));
    expect(rows).toEqual([expect.objectContaining({ caller: null, decision: null, outcome: "denied", status: 401 })]);
  });

  it("has exactly one row per request, a consistent spend roll-up and an intact chain", async () => {
    const requestIds = h.logs.filter((l) => l.msg === "request" && l.protocol === "llm").map((l) => l.reqId as string);
    await h.gateway.audit?.writer.flushAll();
    const rows = (await pool.query<{ request_id: string }>(`SELECT request_id FROM audit_events WHERE protocol = 'llm'`)).rows;
    expect(rows.map((r) => r.request_id).sort()).toEqual([...requestIds].sort());
    const rollup = (await pool.query<{ requests: number; cost: number }>(`SELECT sum(requests)::int AS requests, sum(cost_micro_usd)::int AS cost FROM spend_daily`)).rows[0];
    const raw = (await pool.query<{ requests: number; cost: number }>(`SELECT count(*)::int AS requests, sum(cost_micro_usd)::int AS cost FROM audit_events`)).rows[0];
    expect(rollup).toEqual(raw);
    const verify = await h.adminFetch("operator", "/admin/v1/audit/verify", { method: "POST" });
    expect(await verify.json()).toMatchObject({ ok: true });
  });
});

describe("required-audit mode", () => {
  let h: Harness;
  beforeAll(async () => {
    // PostgreSQL is unreachable and the spool can hold nothing: no row can be kept.
    h = await startHarness({ audit: { database: `postgresql://postgres@${new URL(await refusingOrigin()).host}/postgres`, migrate: false, required: true, spool_limit: 1, retry_interval: "1h" } });
  });
  afterAll(() => h.close());

  it("refuses requests with 503 before forwarding them once rows can be neither written nor spooled", async () => {
    const first = await h.fetch("customer-support", "/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: chat("first") });
    expect(first.status).toBe(200);
    await first.text();
    await h.requestLog(first.headers.get("x-request-id"));
    await h.gateway.audit?.writer.flushAll();
    expect(h.gateway.audit?.writer.status()).toMatchObject({ database: "down", spool: "unavailable", accepting: false });

    const upstreamCalls = h.upstreams[0]?.requests.length ?? 0;
    const refused = await h.fetch("customer-support", "/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: chat("second") });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: "TG_ERR_UNAVAILABLE" } });
    expect(h.upstreams[0]?.requests.length ?? 0).toBe(upstreamCalls);
    const ready = await fetch(`${h.gateway.healthUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { audit: { ready: boolean } } }).checks.audit.ready).toBe(false);
  });
});

describe("capture of prompts and completions", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ audit: { database: "embedded", capture: { enabled: true, max_bytes: 4096 } } });
  });
  afterAll(() => h.close());

  it("stores the prompt and the completion, redacted of keys and tokens", async () => {
    const secret = "sk-proj-THISKEYMUSTNOTBESTORED1234";
    const response = await h.fetch("customer-support", "/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chat(`my key is ${secret}, what is the weather?`, { api_key: "whatever" }),
    });
    expect(response.status).toBe(200);
    const completion = (await response.json()) as { choices: Array<{ message: { content: string } }> };
    await h.requestLog(response.headers.get("x-request-id"));
    await h.gateway.audit?.writer.flushAll();
    const audited = await h.adminFetch("operator", `/admin/v1/audit/events?request_id=${response.headers.get("x-request-id")}`);
    const page = (await audited.json()) as { rows: Row[] };
    expect(audited.status, JSON.stringify(page)).toBe(200);
    const capture = page.rows[0]?.capture as { request: { messages: Array<{ content: string }>; api_key: string }; response: string };
    expect(capture.request.messages[0]?.content).toBe("my key is [redacted], what is the weather?");
    expect(capture.request.api_key).toBe("[redacted]");
    expect(capture.response).toContain(JSON.stringify(completion.choices[0]?.message.content).slice(1, 20));
    expect(JSON.stringify(page.rows[0])).not.toContain(secret);
  });
});
