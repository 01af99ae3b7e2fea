import { Readable } from "node:stream";
import { FormData } from "undici";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Harness, type Identity, startHarness } from "./harness/gateway-harness.ts";

/**
 * Bad input on the LLM path gets a clear error in the caller's protocol (OpenAI's error object on
 * /v1/*, Anthropic's on /v1/messages), is never forwarded, and never stops the gateway.
 *
 * Limits: server.body_limit 64 KiB, server.upload_limit 32 KiB. Routes: demo-chat on `primary`; gpt-4o
 * on `chat-only`, a provider that serves chat completions and nothing else; gpt-4.1 is granted to
 * customer-support by the shipped policy but has no route.
 */
describe("bad input on the LLM path", () => {
  let h: Harness;
  const bodyLimit = 64 * 1024;
  const uploadLimit = 32 * 1024;

  beforeAll(async () => {
    h = await startHarness({
      configure: (config, upstreams) => {
        config.server = { ...config.server, body_limit: "64KiB", upload_limit: "32KiB" };
        const llm = config.llm ?? {};
        llm.providers = { ...llm.providers, "chat-only": { type: "openai-compatible", base_url: `${upstreams[0]?.url}/v1`, api_key: "sk-chat-only-000000", apis: ["chat"] } };
        llm.models = { ...llm.models, "gpt-4o": { deployments: [{ provider: "chat-only", model: "demo-chat" }] } };
        config.llm = llm;
      },
    });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    for (const upstream of h.upstreams) upstream.clearRequests();
  });

  /** One request with the undici dispatcher, its path sent exactly as written (no URL normalisation). */
  async function send(
    method: "GET" | "POST" | "DELETE",
    path: string,
    body?: string | Buffer | Readable,
    headers: Record<string, string> = { "content-type": "application/json" },
    identity: Identity = "customer-support",
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: Record<string, unknown> }> {
    const response = await h.dispatcher(identity).request({ origin: h.url, path, method, headers, body: body ?? null });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, json: JSON.parse(text) as Record<string, unknown> };
  }

  /** The OpenAI error object, with the code and param the gateway set. */
  const openaiError = (code: string, param: string | null = null) => ({
    error: { message: expect.any(String), type: expect.any(String), param, code },
  });
  /** Anthropic's error object. */
  const anthropicError = (type: string, code: string) => ({ type: "error", error: { type, message: expect.any(String), code }, request_id: expect.any(String) });
  const chatBody = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: "demo-chat", messages: [{ role: "user", content: "hi" }], ...extra });

  afterEach(() => {
    // Nothing in this file is ever forwarded. The one exception is a streamed upload cut off at the
    // limit: it streams to the provider as it arrives, so the provider may have seen its start.
    const forwarded = h.upstreams.flatMap((u) => u.requests).map((r) => `${r.method} ${r.path}`);
    expect(forwarded.filter((request) => request !== "POST /v1/files")).toEqual([]);
  });

  describe("OpenAI's format on /v1/*", () => {
    it.each<[string, string]>([
      ["malformed JSON", '{"model": "demo-chat", "messages": ['],
      ["an empty body", ""],
      ["a JSON array", '[{"model":"demo-chat"}]'],
      ["a JSON string", '"demo-chat"'],
      ["JSON null", "null"],
      ["JSON nested ten thousand deep", `${"[".repeat(10_000)}${"]".repeat(10_000)}`],
    ])("%s is a 400", async (_name, body) => {
      const response = await send("POST", "/v1/chat/completions", body);
      expect(response.status).toBe(400);
      expect(response.json).toEqual(openaiError("TG_ERR_BAD_REQUEST"));
      expect((response.json.error as { type: string }).type).toBe("invalid_request_error");
      const line = await h.requestLog(response.headers["x-request-id"] as string);
      expect(line).toMatchObject({ status: 400, outcome: "rejected", error: { code: "TG_ERR_BAD_REQUEST" } });
    });

    it.each<[string, Record<string, unknown>]>([
      ["no model", { messages: [] }],
      ["an empty model", { model: "" }],
      ["a model that is not a string", { model: ["demo-chat"] }],
    ])("%s is a 400 about param model", async (_name, body) => {
      const response = await send("POST", "/v1/chat/completions", JSON.stringify(body));
      expect(response.status).toBe(400);
      expect(response.json).toEqual(openaiError("TG_ERR_BAD_REQUEST", "model"));
    });

    it.each<[string, string]>([
      ["bad percent-encoding", "/v1/files/%zz"],
      ["an over-long path parameter", `/v1/files/${"a".repeat(200)}`],
    ])("a URL the router cannot take (%s) is a 400, recorded like any other request", async (_name, path) => {
      const response = await send("GET", path, undefined, {}, "training");
      expect(response.status).toBe(400);
      expect(response.json).toEqual(openaiError("TG_ERR_BAD_REQUEST"));
      const line = await h.requestLog(response.headers["x-request-id"] as string);
      expect(line).toMatchObject({ status: 400, outcome: "rejected", error: { code: "TG_ERR_BAD_REQUEST", reason: "request.malformed_url" } });
    });

    it("a body that is not JSON is refused, whatever its content type claims", async () => {
      const plain = await send("POST", "/v1/chat/completions", chatBody(), { "content-type": "text/plain" });
      expect(plain.status).toBe(400);
      expect(plain.json).toEqual(openaiError("TG_ERR_BAD_REQUEST"));
      const form = await send("POST", "/v1/responses", "model=demo-chat&input=hi", { "content-type": "application/x-www-form-urlencoded" });
      expect(form.status).toBe(415);
      expect(form.json).toEqual(openaiError("TG_ERR_BAD_REQUEST"));
      const none = await send("POST", "/v1/embeddings", undefined, {});
      expect(none.status).toBe(400);
      expect(none.json).toEqual(openaiError("TG_ERR_BAD_REQUEST"));
      const multipart = await send("POST", "/v1/chat/completions", "--x\r\n\r\n--x--\r\n", { "content-type": "multipart/form-data; boundary=x" });
      expect(multipart.status).toBe(400);
    });

    it("a body over server.body_limit is a 413, declared or streamed", async () => {
      const big = chatBody({ padding: "x".repeat(bodyLimit) });
      const declared = await send("POST", "/v1/chat/completions", big);
      expect(declared.status).toBe(413);
      expect(declared.json).toEqual(openaiError("TG_ERR_BODY_TOO_LARGE"));
      const streamed = await send("POST", "/v1/chat/completions", Readable.from([Buffer.from(big.slice(0, 1000)), Buffer.from(big.slice(1000))]));
      expect(streamed.status).toBe(413);
      expect(streamed.json).toEqual(openaiError("TG_ERR_BODY_TOO_LARGE"));
    });

    it("an upload over server.upload_limit is a 413", async () => {
      const form = new FormData();
      form.append("purpose", "fine-tune");
      form.append("file", new Blob([Buffer.alloc(uploadLimit * 2, "a")]), "train.jsonl");
      const response = await h.fetch("training", "/v1/files", { method: "POST", body: form });
      expect(response.status).toBe(413);
      expect(await response.json()).toEqual(openaiError("TG_ERR_BODY_TOO_LARGE"));
      // Refused on its declared length, before a byte of it went anywhere.
      expect(h.upstreams[0]?.requests).toEqual([]);
    });

    it("a streamed upload (no length declared) is cut off at server.upload_limit with a 413", async () => {
      const head = '--b\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="t.jsonl"\r\n\r\n';
      const parts = [Buffer.from(head), ...Array.from({ length: 8 }, () => Buffer.alloc(uploadLimit / 4, "a")), Buffer.from("\r\n--b--\r\n")];
      const response = await send("POST", "/v1/files", Readable.from(parts), { "content-type": "multipart/form-data; boundary=b" }, "training");
      expect(response.status).toBe(413);
      expect(response.json).toEqual(openaiError("TG_ERR_BODY_TOO_LARGE"));
      const line = await h.requestLog(response.headers["x-request-id"] as string);
      expect(line).toMatchObject({ status: 413, outcome: "rejected" });
    });

    it("an upload that is not multipart is a 400", async () => {
      const response = await send("POST", "/v1/files", '{"purpose":"batch"}', { "content-type": "application/json" }, "training");
      expect(response.status).toBe(400);
      expect(response.json).toEqual(openaiError("TG_ERR_BAD_REQUEST"));
      expect(h.upstreams[0]?.requests).toEqual([]);
    });

    it.each(["..", ".", "%2E%2E", "file-abc%2F..%2F..%2Fbatches", "file%20abc", "-file", "file-%E2%80%8Babc"])(
      "an invalid object id (%s) is a 400 about param id",
      async (id) => {
        const response = await send("GET", `/v1/files/${id}/content`, undefined, {}, "training");
        expect(response.status).toBe(400);
        expect(response.json).toEqual(openaiError("TG_ERR_BAD_REQUEST", "id"));
        const cancel = await send("POST", `/v1/batches/${id}/cancel`, undefined, {}, "training");
        expect(cancel.status).toBe(400);
      },
    );

    it("an unknown model is a 404 about param model", async () => {
      const response = await send("POST", "/v1/chat/completions", chatBody({ model: "gpt-4.1" }));
      expect(response.status).toBe(404);
      expect(response.json).toEqual(openaiError("TG_ERR_UNKNOWN_MODEL", "model"));
      expect((response.json.error as { type: string }).type).toBe("not_found_error");
    });

    it("a model the caller may not use is a 403, whether or not it exists", async () => {
      const response = await send("POST", "/v1/chat/completions", chatBody({ model: "no-such-model" }));
      expect(response.status).toBe(403);
      expect(response.json).toMatchObject(openaiError("TG_ERR_POLICY_DENIED"));
    });

    it.each<[string, string]>([
      ["POST", "/v1/audio/speech"],
      ["POST", "/v1/audio/transcriptions"],
      ["GET", "/v1/assistants"],
      ["POST", "/v1/assistants"],
      ["POST", "/v1/threads/thread_1/runs"],
      ["GET", "/v1/chat/completions"],
      ["DELETE", "/v1/batches/batch_1"],
      ["POST", "/v2/chat/completions"],
      ["GET", "/"],
    ])("an unclassified operation, %s %s, is a 404 and never forwarded", async (method, path) => {
      const response = await send(method as "GET" | "POST", path, method === "POST" ? chatBody() : undefined, method === "POST" ? { "content-type": "application/json" } : {});
      expect(response.status).toBe(404);
      expect(response.json).toEqual(openaiError("TG_ERR_UNCLASSIFIED"));
    });
  });

  describe("Anthropic's format on /v1/messages", () => {
    const messagesBody = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: "demo-chat", max_tokens: 10, messages: [{ role: "user", content: "hi" }], ...extra });
    const anthropicHeaders = { "content-type": "application/json", "anthropic-version": "2023-06-01" };

    it("malformed JSON, a JSON array and a missing model are 400s", async () => {
      for (const body of ['{"model":', "[]", JSON.stringify({ max_tokens: 10, messages: [] })]) {
        const response = await send("POST", "/v1/messages", body, anthropicHeaders);
        expect(response.status).toBe(400);
        expect(response.json).toEqual(anthropicError("invalid_request_error", "TG_ERR_BAD_REQUEST"));
      }
    });

    it("a body over server.body_limit is a 413 request_too_large", async () => {
      const response = await send("POST", "/v1/messages", messagesBody({ system: "x".repeat(bodyLimit) }), anthropicHeaders);
      expect(response.status).toBe(413);
      expect(response.json).toEqual(anthropicError("request_too_large", "TG_ERR_BODY_TOO_LARGE"));
    });

    it("a model whose deployments do not serve the Messages API is a 400 naming what they serve", async () => {
      const response = await send("POST", "/v1/messages", messagesBody({ model: "gpt-4o" }), anthropicHeaders);
      expect(response.status).toBe(400);
      expect(response.json).toEqual(anthropicError("invalid_request_error", "TG_ERR_NO_DEPLOYMENT"));
      expect((response.json.error as { message: string }).message).toContain("serve: chat");
    });

    it("an unknown model is a 404 not_found_error, and a path below /v1/messages that is not classified too", async () => {
      const unknown = await send("POST", "/v1/messages", messagesBody({ model: "gpt-4.1" }), anthropicHeaders);
      expect(unknown.status).toBe(404);
      expect(unknown.json).toEqual(anthropicError("not_found_error", "TG_ERR_UNKNOWN_MODEL"));
      const countTokens = await send("POST", "/v1/messages/count_tokens", messagesBody(), anthropicHeaders);
      expect(countTokens.status).toBe(404);
      expect(countTokens.json).toEqual(anthropicError("not_found_error", "TG_ERR_UNCLASSIFIED"));
    });
  });

  describe("afterwards", () => {
    it("the gateway still serves, through the official SDKs", async () => {
      const completion = await h.openai("customer-support").chat.completions.create({ model: "demo-chat", messages: [{ role: "user", content: "still there?" }] });
      expect(completion.choices[0]?.message.content).toContain("still there?");
      const message = await h.anthropic("customer-support").messages.create({ model: "demo-chat", max_tokens: 50, messages: [{ role: "user", content: "still there?" }] });
      expect(message.type).toBe("message");
      for (const upstream of h.upstreams) upstream.clearRequests();
    });
  });
});
