import Anthropic from "@anthropic-ai/sdk";
import { APIError, toFile } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { RecordedRequest } from "../src/demo/demo-provider.ts";
import { agentKey, type Harness, startHarness, upstreamKey } from "./harness/gateway-harness.ts";

/**
 * What reaches the provider and what comes back: the gateway's credentials and nobody else's go
 * upstream; nothing of the provider's credentials, addresses or account headers comes back; the
 * policy's output cap and the route's model name are what the provider receives.
 *
 * Routes: demo-chat and demo-embed on `primary`; gpt-4o-mini and text-embedding-3-small are aliases of
 * them there; gpt-4.1 is on `misconfigured`, the same server held with a wrong key.
 */
describe("what reaches the provider and what comes back", () => {
  let h: Harness;
  const wrongKey = "sk-proj-WRONG-key-the-operator-typed-0000";
  const chat = { messages: [{ role: "user" as const, content: "Where is my parcel?" }] };
  /** What an agent might send besides its SVID; none of it may reach a provider. */
  const agentHeaders = { authorization: `Bearer ${agentKey}`, "x-api-key": agentKey, cookie: "session=agent-cookie-value" };

  beforeAll(async () => {
    h = await startHarness({
      configure: (config, upstreams) => {
        const llm = config.llm ?? {};
        llm.providers = {
          ...llm.providers,
          misconfigured: { type: "openai-compatible", base_url: `${upstreams[0]?.url}/v1`, api_key: wrongKey, apis: ["chat", "messages"] },
        };
        llm.models = {
          ...llm.models,
          "gpt-4o-mini": { deployments: [{ provider: "primary", model: "demo-chat" }] },
          "text-embedding-3-small": { deployments: [{ provider: "primary", model: "demo-embed" }] },
          "gpt-4.1": { deployments: [{ provider: "misconfigured", model: "demo-chat" }] },
        };
        config.llm = llm;
      },
    });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    for (const upstream of h.upstreams) {
      upstream.faults.clear();
      upstream.clearRequests();
    }
  });

  const primary = () => {
    const upstream = h.upstreams[0];
    if (upstream === undefined) throw new Error("no upstream");
    return upstream;
  };
  const failure = async (call: Promise<unknown>): Promise<APIError> => {
    const error = await call.then(
      () => {
        throw new Error("the call was expected to fail");
      },
      (e: unknown) => e,
    );
    if (!(error instanceof APIError)) throw error;
    return error;
  };
  /** The body the provider received for the next request to `path`, made by `call`. */
  const received = async (path: string, call: () => Promise<unknown>): Promise<Record<string, unknown>> => {
    const seen = primary().nextRequest({ path });
    await call();
    return (await seen).body as Record<string, unknown>;
  };

  describe("credentials", () => {
    it("never passes the caller's Authorization, x-api-key or cookie to a provider, on any endpoint family", async () => {
      const openai = (identity: "customer-support" | "code-review" | "training") => h.openai(identity).withOptions({ defaultHeaders: agentHeaders });
      const anthropic = h.anthropic("customer-support").withOptions({ defaultHeaders: agentHeaders });

      await openai("customer-support").chat.completions.create({ model: "demo-chat", ...chat });
      for await (const _chunk of await openai("customer-support").chat.completions.create({ model: "demo-chat", ...chat, stream: true })) {
        // Read to the end.
      }
      await openai("customer-support").responses.create({ model: "demo-chat", input: "hello" });
      await openai("code-review").embeddings.create({ model: "demo-embed", input: "a diff" });
      await anthropic.messages.create({ model: "demo-chat", max_tokens: 50, messages: [{ role: "user", content: "hi" }] });
      await openai("customer-support").models.list();
      await openai("customer-support").models.retrieve("demo-chat");
      const training = openai("training");
      const file = await training.files.create({ file: await toFile(Buffer.from('{"messages":[]}\n'), "train.jsonl"), purpose: "fine-tune" });
      await training.files.list();
      await training.files.retrieve(file.id);
      await (await training.files.content(file.id)).text();
      const job = await training.fineTuning.jobs.create({ model: "demo-chat", training_file: file.id });
      await training.fineTuning.jobs.list();
      await training.fineTuning.jobs.retrieve(job.id);
      const batchFile = await training.files.create({
        file: await toFile(Buffer.from('{"custom_id":"1","method":"POST","url":"/v1/embeddings","body":{"model":"demo-embed","input":"x"}}\n'), "batch.jsonl"),
        purpose: "batch",
      });
      const batch = await training.batches.create({ input_file_id: batchFile.id, endpoint: "/v1/embeddings", completion_window: "24h" });
      await training.batches.retrieve(batch.id);
      await training.batches.list();

      const requests = h.upstreams.flatMap((u) => u.requests);
      const families = new Set(requests.map((r) => `${r.method} ${r.path.replace(/\/(file|ftjob|batch)[-_][^/]+/, "/{id}")}`));
      expect([...families].sort()).toEqual([
        "GET /v1/batches",
        "GET /v1/batches/{id}",
        "GET /v1/files",
        "GET /v1/files/{id}",
        "GET /v1/files/{id}/content",
        "GET /v1/fine_tuning/jobs",
        "GET /v1/fine_tuning/jobs/{id}",
        "POST /v1/batches",
        "POST /v1/chat/completions",
        "POST /v1/embeddings",
        "POST /v1/files",
        "POST /v1/fine_tuning/jobs",
        "POST /v1/messages",
        "POST /v1/responses",
      ]);
      // The model list is the gateway's own answer, filtered by policy: the provider is never asked.
      for (const request of requests) expectOnlyGatewayCredentials(request);
    });

    function expectOnlyGatewayCredentials(request: RecordedRequest): void {
      const where = `${request.method} ${request.path}`;
      expect(JSON.stringify(request.headers), where).not.toContain(agentKey);
      expect(JSON.stringify(request.headers), where).not.toContain("agent-cookie-value");
      expect(request.headers.cookie, where).toBeUndefined();
      expect(request.headers.authorization, where).toBe(`Bearer ${upstreamKey}`);
      if (request.path === "/v1/messages") expect(request.headers["x-api-key"], where).toBe(upstreamKey);
      else expect(request.headers["x-api-key"], where).toBeUndefined();
    }

    it("scrubs the gateway's key, whole and masked, and the provider's address from an upstream error", async () => {
      const upstream = primary();
      const echoed = `Incorrect API key provided: ${upstreamKey}; masked sk-proj-...cdef and sk-proj-************************cdef; see ${upstream.url}/v1/chat/completions`;
      upstream.faults.push({ status: 400, body: { error: { message: echoed, type: "invalid_request_error", param: null, code: "invalid_api_key" } } });
      const error = await failure(h.openai("customer-support").chat.completions.create({ model: "demo-chat", ...chat }));
      expect(error.status).toBe(400);
      expect(error.error).toEqual({
        message: "Incorrect API key provided: [redacted]; masked [redacted] and [redacted]; see [redacted]/chat/completions",
        type: "invalid_request_error",
        param: null,
        code: "invalid_api_key",
      });
      const port = new URL(upstream.url).port;
      expect(JSON.stringify(error.error)).not.toContain(port);
    });

    it("scrubs an Anthropic-shaped error on /v1/messages the same way", async () => {
      const upstream = primary();
      upstream.faults.push({
        status: 529,
        path: "/v1/messages",
        times: 3,
        body: { type: "error", error: { type: "overloaded_error", message: `overloaded at ${upstream.url} for key ${upstreamKey}` } },
      });
      const error = await h
        .anthropic("customer-support")
        .messages.create({ model: "demo-chat", max_tokens: 20, messages: [{ role: "user", content: "hi" }] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(Anthropic.APIError);
      expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
      expect((error as InstanceType<typeof Anthropic.APIError>).error).toEqual({
        type: "error",
        error: { type: "overloaded_error", message: "overloaded at [redacted] for key [redacted]" },
      });
    });

    it("turns a provider refusing the gateway's key into a 502 naming the provider, never a 401", async () => {
      const error = await failure(h.openai("customer-support").chat.completions.create({ model: "gpt-4.1", ...chat }));
      expect(error.status).toBe(502);
      expect(error.error).toMatchObject({ code: "TG_ERR_UPSTREAM_FAILED" });
      expect(error.message).toContain('"misconfigured" refused the gateway\'s credentials (HTTP 401)');
      expect(JSON.stringify(error.error)).not.toMatch(/sk-|WRONG|0000/);

      primary().faults.push({ status: 403, path: "/v1/messages" });
      const denied = await h
        .anthropic("customer-support")
        .messages.create({ model: "demo-chat", max_tokens: 20, messages: [{ role: "user", content: "hi" }] })
        .then(
          () => undefined,
          (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
        );
      expect(denied?.status).toBe(502);
      expect(denied?.error).toMatchObject({ type: "error", error: { type: "api_error", code: "TG_ERR_UPSTREAM_FAILED" } });
    });

    it("returns no provider rate-limit, account or credential header to the caller", async () => {
      const providerHeaders = {
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-remaining-tokens": "1234",
        "anthropic-ratelimit-requests-remaining": "9",
        "openai-organization": "org-gateway-account",
        "openai-project": "proj_gateway",
        "set-cookie": "__cf_bm=provider-cookie; path=/",
        "www-authenticate": 'Bearer realm="provider"',
        "x-api-key": upstreamKey,
        "x-internal-backend": "10.0.0.7:8000",
      };
      const completion = { id: "chatcmpl-1", object: "chat.completion", created: 1, model: "demo-chat", choices: [] };
      primary().faults.push({ status: 200, headers: providerHeaders, body: completion }, { status: 429, headers: { ...providerHeaders, "retry-after": "7" } });
      const ok = await h.fetch("customer-support", "/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "demo-chat", ...chat }),
      });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual(completion);
      const limited = await h.fetch("customer-support", "/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "demo-chat", ...chat }),
      });
      // retry-after: 7 is longer than the harness's backoff cap, so the 429 comes back at once.
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toBe("7");
      for (const response of [ok, limited]) {
        const names = [...response.headers.keys()];
        expect(names.filter((name) => /ratelimit|organization|project|cookie|authenticate|api-key|internal/.test(name))).toEqual([]);
        expect(JSON.stringify([...response.headers.entries()])).not.toContain(upstreamKey);
      }
    });
  });

  describe("the policy's output cap (customer-support: 4096 tokens, code-review: 8192)", () => {
    const support = () => h.openai("customer-support");

    it("lowers a larger chat max_tokens or max_completion_tokens, each field on its own", async () => {
      expect(await received("/v1/chat/completions", () => support().chat.completions.create({ model: "demo-chat", ...chat, max_tokens: 10_000 }))).toMatchObject({
        max_tokens: 4096,
      });
      expect(
        await received("/v1/chat/completions", () => support().chat.completions.create({ model: "demo-chat", ...chat, max_completion_tokens: 9_000 })),
      ).toMatchObject({ max_completion_tokens: 4096 });
      const both = await received("/v1/chat/completions", () =>
        support().chat.completions.create({ model: "demo-chat", ...chat, max_completion_tokens: 100, max_tokens: 50_000 }),
      );
      expect([both.max_completion_tokens, both.max_tokens]).toEqual([100, 4096]);
    });

    it("sets the cap when the request has none, streaming or not", async () => {
      const plain = await received("/v1/chat/completions", () => support().chat.completions.create({ model: "demo-chat", ...chat }));
      expect(plain.max_completion_tokens).toBe(4096);
      expect(plain).not.toHaveProperty("max_tokens");
      const streamed = await received("/v1/chat/completions", async () => {
        const stream = await support().chat.completions.create({ model: "demo-chat", ...chat, stream: true });
        for await (const _chunk of stream) {
          // Read to the end.
        }
      });
      expect(streamed.max_completion_tokens).toBe(4096);
      expect((await received("/v1/responses", () => support().responses.create({ model: "demo-chat", input: "hi" }))).max_output_tokens).toBe(4096);
    });

    it("lowers the Responses API's and the Messages API's caps", async () => {
      expect((await received("/v1/responses", () => support().responses.create({ model: "demo-chat", input: "hi", max_output_tokens: 5_000 }))).max_output_tokens).toBe(4096);
      const anthropic = h.anthropic("customer-support");
      expect(
        (await received("/v1/messages", () => anthropic.messages.create({ model: "demo-chat", max_tokens: 8_000, messages: [{ role: "user", content: "hi" }] }))).max_tokens,
      ).toBe(4096);
      expect(
        (await received("/v1/messages", () => anthropic.messages.stream({ model: "demo-chat", max_tokens: 64_000, messages: [{ role: "user", content: "hi" }] }).finalMessage()))
          .max_tokens,
      ).toBe(4096);
    });

    it("leaves a smaller request exactly as the caller sent it", async () => {
      const sent = { model: "demo-chat", ...chat, max_tokens: 100, temperature: 0.2 };
      expect(await received("/v1/chat/completions", () => support().chat.completions.create(sent))).toEqual(sent);
      const review = await received("/v1/chat/completions", () => h.openai("code-review").chat.completions.create({ model: "demo-chat", ...chat, max_tokens: 5_000 }));
      expect(review.max_tokens).toBe(5_000);
    });
  });

  describe("model aliases", () => {
    it("sends the deployment's model name upstream, the rest of the body untouched", async () => {
      const body = await received("/v1/chat/completions", () => h.openai("customer-support").chat.completions.create({ model: "gpt-4o-mini", ...chat, max_tokens: 64 }));
      expect(body).toEqual({ model: "demo-chat", ...chat, max_tokens: 64 });
      const messages = await received("/v1/messages", () =>
        h.anthropic("customer-support").messages.create({ model: "gpt-4o-mini", max_tokens: 64, messages: [{ role: "user", content: "hi" }] }),
      );
      expect(messages.model).toBe("demo-chat");
      const embedded = await received("/v1/embeddings", () => h.openai("code-review").embeddings.create({ model: "text-embedding-3-small", input: "a diff" }));
      expect(embedded.model).toBe("demo-embed");
    });
  });
});
