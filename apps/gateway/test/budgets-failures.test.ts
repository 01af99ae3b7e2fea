import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./harness/gateway-harness.ts";
import { chat, post, sseData } from "./harness/llm-requests.ts";

/** Budgets when something is missing or misbehaves: no price, no budget store, a runaway provider. */
describe("budgets: a USD budget on a model without a price", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      grants: [
        {
          name: "mystery",
          agents: ["spiffe://ai.company.org/agent/customer-support/*"],
          targets: ["spiffe://ai.company.org/service/llm-proxy"],
          kind: "model",
          names: ["mystery-model"],
          actions: ["chat"],
        },
      ],
      configure: (config) => {
        config.llm!.models = { ...config.llm!.models, "mystery-model": { deployments: [{ provider: "primary", model: "demo-chat" }] } };
        config.budgets = { limits: [{ name: "support-spend", match: { agents: ["spiffe://ai.company.org/agent/customer-support/*"] }, window: "month", limits: { cost_usd: "10" } }] };
      },
    });
  });
  afterAll(() => h.close());

  it("refuses rather than spend without counting", async () => {
    const response = await post(h, "customer-support", "/v1/chat/completions", JSON.stringify({ model: "mystery-model", messages: [{ role: "user", content: "hi" }] }));
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: "TG_ERR_UNPRICED_MODEL",
      message: expect.stringContaining('"support-spend"'),
    });
    expect(h.upstreams[0]!.requests.filter((r) => (r.body as { model?: string } | undefined)?.model === "demo-chat" && r.path === "/v1/chat/completions")).toHaveLength(0);
  });
});

describe("budgets: the budget store unreachable", () => {
  const budgets = (mode: "fail_closed" | "fail_open") => ({
    store: { kind: "redis" as const, url: "redis://127.0.0.1:1", timeout: 200 },
    on_store_failure: mode,
    limits: [{ name: "support-requests", match: { agents: ["spiffe://ai.company.org/agent/customer-support/*"] }, window: "day" as const, limits: { requests: 2 } }],
  });

  it("fails closed by default: 503, nothing forwarded", async () => {
    const h = await startHarness({ configure: (config) => void (config.budgets = budgets("fail_closed")) });
    try {
      const response = await post(h, "customer-support", "/v1/chat/completions", chat("hi"));
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("TG_ERR_UNAVAILABLE");
      expect(h.upstreams[0]!.requests).toHaveLength(0);
      // Requests no budget applies to do not need the store.
      expect((await post(h, "code-review", "/v1/chat/completions", chat("hi"))).status).toBe(200);
    } finally {
      await h.close();
    }
  });

  it("fails open on request: served under a per-replica limiter with the same limits", async () => {
    const h = await startHarness({ configure: (config) => void (config.budgets = budgets("fail_open")) });
    try {
      expect((await post(h, "customer-support", "/v1/chat/completions", chat("one"))).status).toBe(200);
      expect((await post(h, "customer-support", "/v1/chat/completions", chat("two"))).status).toBe(200);
      expect((await post(h, "customer-support", "/v1/chat/completions", chat("three"))).status).toBe(429);
    } finally {
      await h.close();
    }
  });
});

describe("budgets: the hard stop cuts off a provider that ignores max_tokens", () => {
  let h: Harness;
  let runaway: Server;
  let runawayAborted: Promise<void>;
  beforeAll(async () => {
    // A provider that streams 50,000 words (megabytes: more than socket buffers hold) whatever max_tokens says.
    let markAborted: () => void = () => undefined;
    runawayAborted = new Promise((resolve) => {
      markAborted = resolve;
    });
    runaway = createServer((request, response) => {
      request.resume();
      response.writeHead(200, { "content-type": "text/event-stream" });
      let i = 0;
      const write = () => {
        while (i < 50_000) {
          const chunk = { id: "run", object: "chat.completion.chunk", model: "demo-chat", choices: [{ index: 0, delta: { content: " word" }, finish_reason: null }] };
          i++;
          if (!response.write(`data: ${JSON.stringify(chunk)}\n\n`)) {
            response.once("drain", write);
            return;
          }
        }
        response.end("data: [DONE]\n\n");
      };
      response.on("close", () => {
        if (!response.writableFinished) markAborted();
      });
      write();
    });
    await new Promise<void>((resolve) => runaway.listen(0, "127.0.0.1", resolve));
    const port = (runaway.address() as AddressInfo).port;
    h = await startHarness({
      configure: (config) => {
        config.llm!.providers = { ...config.llm!.providers, runaway: { type: "openai-compatible", base_url: `http://127.0.0.1:${port}/v1` } };
        config.llm!.models = { ...config.llm!.models, "demo-chat": { deployments: [{ provider: "runaway" }] } };
        config.budgets = { hard_stop: true, limits: [{ name: "support-tokens", match: { agents: ["spiffe://ai.company.org/agent/customer-support/*"] }, window: "day", limits: { output_tokens: 100_000 } }] };
      },
    });
  });
  afterAll(async () => {
    await h.close();
    runaway.closeAllConnections();
    await new Promise((resolve) => runaway.close(resolve));
  });

  it("ends the caller's stream for length at the reserved output and stops reading the provider", async () => {
    const response = await post(h, "customer-support", "/v1/chat/completions", chat("go on forever", { stream: true, max_tokens: 50 }));
    const events = sseData(await response.text());
    expect(events.at(-1)).toBe("[DONE]");
    const finish = events.at(-2) as { choices: Array<{ finish_reason: string }> };
    expect(finish.choices[0]?.finish_reason).toBe("length");
    const words = events.filter((e) => e !== "[DONE]" && (e as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content === " word").length;
    expect(words).toBeGreaterThanOrEqual(50);
    expect(words).toBeLessThan(50_000);
    await runawayAborted;
    const line = await h.requestLog(response.headers.get("x-request-id"));
    expect((line.usage as { output: number; estimated: boolean }).estimated).toBe(true);
  });
});
