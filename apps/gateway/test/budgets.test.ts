import { FormData as UndiciFormData } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePrice, costOf } from "../src/budget/pricing.ts";
import { defaultPrices } from "../src/budget/default-prices.ts";
import { configSchema } from "../src/config/schema.ts";
import { type Harness, startHarness } from "./harness/gateway-harness.ts";
import { chat, post, sseData } from "./harness/llm-requests.ts";

describe("budgets: calendar windows, 429s and rate-limit headers", () => {
  let h: Harness;
  let now = Date.UTC(2026, 11, 4, 23, 59, 0);
  beforeAll(async () => {
    h = await startHarness({
      clock: () => now,
      configure: (config) => {
        config.budgets = {
          limits: [{ name: "support-daily-requests", match: { agents: ["spiffe://ai.company.org/agent/customer-support/*"] }, window: "day", limits: { requests: 3 } }],
        };
      },
    });
  });
  afterAll(() => h.close());

  it("counts requests per agent per UTC day, answers 429 naming the budget, and starts afresh the next day", async () => {
    for (let i = 0; i < 3; i++) {
      const response = await post(h, "customer-support", "/v1/chat/completions", chat(`hello ${i}`));
      expect(response.status).toBe(200);
      expect(response.headers.get("x-ratelimit-limit-requests")).toBe("3");
      expect(response.headers.get("x-ratelimit-remaining-requests")).toBe(String(2 - i));
      expect(response.headers.get("x-ratelimit-reset-requests")).toBe("1m0s");
      await response.text();
    }
    const refused = await post(h, "customer-support", "/v1/chat/completions", chat("one more"));
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("60");
    expect(refused.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    const body = (await refused.json()) as { error: { type: string; code: string; message: string } };
    expect(body.error).toMatchObject({ type: "rate_limit_error", code: "TG_ERR_BUDGET_EXCEEDED" });
    expect(body.error.message).toContain('Budget "support-daily-requests" for spiffe://ai.company.org/agent/customer-support/v2 is exhausted: requests 3 of 3 used');

    // In Anthropic's format on its own API.
    const anthropic = await post(h, "customer-support", "/v1/messages", JSON.stringify({ model: "demo-chat", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }));
    expect(anthropic.status).toBe(429);
    expect(await anthropic.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error", code: "TG_ERR_BUDGET_EXCEEDED" } });

    // Another agent has its own standing: the budget does not match it.
    const other = await post(h, "code-review", "/v1/chat/completions", chat("review"));
    expect(other.status).toBe(200);
    expect(other.headers.get("x-ratelimit-limit-requests")).toBeNull();
    await other.text();

    now = Date.UTC(2026, 11, 5, 0, 0, 1);
    const nextDay = await post(h, "customer-support", "/v1/chat/completions", chat("good morning"));
    expect(nextDay.status).toBe(200);
    expect(nextDay.headers.get("x-ratelimit-remaining-requests")).toBe("2");
    await nextDay.text();
  });
});

describe("budgets: settled to reported usage, streams included", () => {
  let h: Harness;
  const price = parsePrice("demo-chat", defaultPrices["demo-chat"] as NonNullable<(typeof defaultPrices)["demo-chat"]>);
  const reviewer = "spiffe://ai.company.org/agent/code-review/v1";
  beforeAll(async () => {
    h = await startHarness({
      configure: (config) => {
        config.budgets = {
          limits: [
            {
              name: "review-monthly",
              match: { agents: ["spiffe://ai.company.org/agent/code-review/*"] },
              window: "month",
              limits: { total_tokens: 1_000_000, cost_usd: "100" },
            },
          ],
        };
      },
    });
  });
  afterAll(() => h.close());

  const used = async () => {
    const [status] = await h.gateway.budgets.status({ budget: "review-monthly", subject: reviewer });
    return status as NonNullable<typeof status>;
  };
  /** Waits until the request's log line is written: the exchange (and its settlement) is finished then. */
  const settled = (response: Response) => h.requestLog(response.headers.get("x-request-id"));

  it("settles a JSON answer to the usage the provider reported, at the demo model's price", async () => {
    const before = await used();
    const response = await post(h, "code-review", "/v1/chat/completions", chat("Review this diff", { max_tokens: 300 }));
    const completion = (await response.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    const line = await settled(response);
    const after = await used();
    expect(after.used.inputTokens - before.used.inputTokens).toBe(completion.usage.prompt_tokens);
    expect(after.used.outputTokens - before.used.outputTokens).toBe(completion.usage.completion_tokens);
    const cost = costOf({ input: completion.usage.prompt_tokens, output: completion.usage.completion_tokens }, price).microUsd;
    expect(after.used.costMicroUsd - before.used.costMicroUsd).toBe(cost);
    expect(line.costMicroUsd).toBe(cost);
    expect(after.reserved).toEqual({ costMicroUsd: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0, requests: 0 });
  });

  it("asks a stream for usage the caller did not ask for, settles it, and hides it from the caller", async () => {
    const seen = h.upstreams[0]!.nextRequest({ path: "/v1/chat/completions" });
    const before = await used();
    const response = await post(h, "code-review", "/v1/chat/completions", chat("Stream a review", { stream: true }));
    const events = sseData(await response.text());
    const upstreamBody = (await seen).body as { stream_options?: { include_usage?: boolean }; max_completion_tokens?: number };
    expect(upstreamBody.stream_options).toEqual({ include_usage: true });
    // The caller set no cap: the policy's (code-review's grant caps output at 8192) is what was
    // reserved, and what the provider is told.
    expect(upstreamBody.max_completion_tokens).toBe(8192);
    // Exactly what the caller would have seen without the gateway: no usage chunk, no "usage" keys.
    expect(events.at(-1)).toBe("[DONE]");
    for (const event of events) if (event !== "[DONE]") expect(Object.keys(event as object)).not.toContain("usage");
    const text = events.map((e) => (e === "[DONE]" ? "" : ((e as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? ""))).join("");
    expect(text).toContain("Stream a review");
    const line = await settled(response);
    const after = await used();
    const usage = line.usage as { input: number; output: number; estimated?: boolean };
    expect(usage.estimated).toBeUndefined();
    expect(after.used.outputTokens - before.used.outputTokens).toBe(usage.output);
    expect(usage.output).toBeGreaterThan(10);
  });

  it("passes a stream through untouched when the caller asked for usage itself", async () => {
    const response = await post(h, "code-review", "/v1/chat/completions", chat("Stream with usage", { stream: true, stream_options: { include_usage: true } }));
    const events = sseData(await response.text());
    const last = events.at(-2) as { choices: unknown[]; usage: { completion_tokens: number } };
    expect(last.choices).toEqual([]);
    expect(last.usage.completion_tokens).toBeGreaterThan(0);
    expect((events[0] as Record<string, unknown>).usage).toBeNull();
    const line = await settled(response);
    expect((line.usage as { output: number }).output).toBe(last.usage.completion_tokens);
  });

  it("settles Anthropic streams and embeddings too", async () => {
    const before = await used();
    const messages = await post(h, "code-review", "/v1/messages", JSON.stringify({ model: "demo-chat", max_tokens: 200, stream: true, messages: [{ role: "user", content: "hello" }] }));
    await messages.text();
    const messagesLine = await settled(messages);
    const embeddings = await post(h, "code-review", "/v1/embeddings", JSON.stringify({ model: "demo-embed", input: ["one", "two"] }));
    const embedded = (await embeddings.json()) as { usage: { prompt_tokens: number } };
    await settled(embeddings);
    const after = await used();
    const streamed = messagesLine.usage as { input: number; output: number };
    expect(after.used.inputTokens - before.used.inputTokens).toBe(streamed.input + embedded.usage.prompt_tokens);
    expect(after.used.outputTokens - before.used.outputTokens).toBe(streamed.output);
    expect(after.used.requests - before.used.requests).toBe(2);
  });

  it("counts the output of a stream the caller abandoned, from what was streamed", async () => {
    const upstream = h.upstreams[0]!;
    upstream.faults.push({ kind: "stall-stream", afterChunks: 6, path: "/v1/chat/completions" });
    const aborted = upstream.onceAborted({ path: "/v1/chat/completions" });
    const from = h.logs.length;
    const controller = new AbortController();
    const response = await post(h, "code-review", "/v1/chat/completions", chat("Abandon me", { stream: true }));
    const reader = response.body!.getReader();
    let received = "";
    while (!received.includes('"content":" from"')) received += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    await reader.cancel();
    await aborted;
    const line = await h.logLine((l) => l.path === "/v1/chat/completions" && l.outcome === "aborted", from);
    const usage = line.usage as { input: number; output: number; estimated: boolean };
    expect(usage.estimated).toBe(true);
    expect(usage.input).toBeGreaterThan(0);
    expect(usage.output).toBeGreaterThan(0);
    expect(line.costMicroUsd).toBeGreaterThan(0);
  });
});

describe("budgets: changed without a restart", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      configure: (config) => {
        config.budgets = { limits: [{ name: "support-requests", match: { agents: ["spiffe://ai.company.org/agent/customer-support/*"] }, window: "hour", limits: { requests: 1 } }] };
      },
    });
  });
  afterAll(() => h.close());

  it("applies a reloaded configuration's budgets, and limits set at run time over them", async () => {
    expect((await post(h, "customer-support", "/v1/chat/completions", chat("one"))).status).toBe(200);
    expect((await post(h, "customer-support", "/v1/chat/completions", chat("two"))).status).toBe(429);

    const raised = configSchema.parse({ ...h.config, budgets: { ...h.config.budgets, limits: [{ ...h.config.budgets.limits[0], limits: { requests: 3 } }] } });
    expect(h.gateway.reconfigure(raised)).toEqual([]);
    expect((await post(h, "customer-support", "/v1/chat/completions", chat("three"))).status).toBe(200);

    // A run-time change (the admin API's) takes precedence until it is reset.
    const changed = await h.gateway.budgets.setLimits("support-requests", { requests: 2 });
    expect(changed).toMatchObject({ source: "runtime", limits: { requests: 2 } });
    expect((await post(h, "customer-support", "/v1/chat/completions", chat("four"))).status).toBe(429);
    expect((await h.gateway.budgets.resetLimits("support-requests")).limits).toEqual({ requests: 3 });
    expect((await post(h, "customer-support", "/v1/chat/completions", chat("five"))).status).toBe(200);
  });
});

describe("budgets: sliding-minute rate limits, policy-named budgets, account operations", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      grants: [
        {
          name: "apollo-chat",
          agents: ["spiffe://ai.company.org/agent/code-review/*"],
          targets: ["spiffe://ai.company.org/service/llm-proxy"],
          kind: "model",
          names: ["demo-chat"],
          actions: ["chat"],
          obligations: { budgets: ["project-apollo"] },
        },
      ],
      configure: (config) => {
        config.budgets = {
          limits: [
            { name: "training-rpm", match: { agents: ["spiffe://ai.company.org/pipeline/training/*"] }, rate: { requests_per_minute: 2 } },
            { name: "project-apollo", on_obligation: true, split: "shared", window: "day", limits: { requests: 1 } },
          ],
        };
      },
    });
  });
  afterAll(() => h.close());

  it("limits requests per sliding minute, account operations included", async () => {
    const embed = () => post(h, "training", "/v1/embeddings", JSON.stringify({ model: "demo-embed", input: "x" }));
    expect((await embed()).status).toBe(200);
    const files = await h.fetch("training", "/v1/files");
    expect(files.status).toBe(200);
    expect(files.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    const refused = await embed();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('Budget "training-rpm"');
  });

  it("charges a budget the policy names only to the requests the policy named it for", async () => {
    expect((await post(h, "code-review", "/v1/chat/completions", chat("first"))).status).toBe(200);
    const second = await post(h, "code-review", "/v1/chat/completions", chat("second"));
    expect(second.status).toBe(429);
    expect(((await second.json()) as { error: { message: string } }).error.message).toContain('Budget "project-apollo" is exhausted');
    // customer-support's grant names no budget: project-apollo does not apply to it.
    expect((await post(h, "customer-support", "/v1/chat/completions", chat("support"))).status).toBe(200);
  });
});

describe("budgets: batches and fine-tuning jobs are charged their tokens when they end", () => {
  let h: Harness;
  const training = "spiffe://ai.company.org/pipeline/training/job-abc";
  beforeAll(async () => {
    h = await startHarness({
      configure: (config) => {
        config.budgets = { limits: [{ name: "training-daily", match: { agents: ["spiffe://ai.company.org/pipeline/training/*"] }, window: "day", limits: { total_tokens: 1_000_000 } }] };
      },
    });
  });
  afterAll(() => h.close());

  const used = async () => (await h.gateway.budgets.status({ budget: "training-daily", subject: training }))[0]?.used;
  const upload = async (purpose: string, content: string) => {
    const form = new UndiciFormData();
    form.append("purpose", purpose);
    form.append("file", new Blob([content]), "input.jsonl");
    const response = await h.fetch("training", "/v1/files", { method: "POST", body: form });
    return ((await response.json()) as { id: string }).id;
  };

  it("charges an ended batch's usage to whoever started it, once", async () => {
    const file = await upload("batch", '{"custom_id":"1","method":"POST","url":"/v1/embeddings","body":{"model":"demo-embed","input":"x"}}\n');
    const created = await post(h, "training", "/v1/batches", JSON.stringify({ input_file_id: file, endpoint: "/v1/embeddings", completion_window: "24h" }));
    const batch = (await created.json()) as { id: string };
    expect((await used())?.totalTokens).toBe(0);
    h.upstreams[0]!.jobs.completeBatch(batch.id, { input: 1200, output: 300 });

    const seen = await h.fetch("training", `/v1/batches/${batch.id}`);
    expect(((await seen.json()) as { status: string }).status).toBe("completed");
    let after = await used();
    while (after?.totalTokens === 0) after = await used();
    expect(after).toMatchObject({ inputTokens: 1200, outputTokens: 300, totalTokens: 1500 });

    // Seen again (and in a list), it is not charged again.
    await (await h.fetch("training", `/v1/batches/${batch.id}`)).text();
    await (await h.fetch("training", "/v1/batches")).text();
    const job = (await (await post(h, "training", "/v1/fine_tuning/jobs", JSON.stringify({ model: "demo-chat", training_file: await upload("fine-tune", '{"messages":[]}\n') }))).json()) as { id: string };
    h.upstreams[0]!.jobs.succeedFineTune(job.id, 5000);
    await (await h.fetch("training", "/v1/fine_tuning/jobs")).text();
    let final = await used();
    while (final?.totalTokens === 1500) final = await used();
    // The fine-tuning job's trained tokens, and the batch once only.
    expect(final).toMatchObject({ inputTokens: 6200, outputTokens: 300, totalTokens: 6500 });
  });
});
