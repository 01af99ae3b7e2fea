import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { startDemoProvider, type DemoProvider } from "./demo-provider.ts";
import { familyOf } from "./request-lifecycle.ts";

const openAiHeaders = { authorization: "Bearer sk-any", "content-type": "application/json" };
const anthropicHeaders = { "x-api-key": "sk-ant-any", "anthropic-version": "2023-06-01", "content-type": "application/json" };

async function withProvider(test: (provider: DemoProvider) => Promise<void>, requestLogLimit?: number): Promise<void> {
  const provider = await startDemoProvider({ requestLogLimit });
  try {
    await test(provider);
  } finally {
    await provider.close();
  }
}

describe("startDemoProvider", () => {
  it("listens on a free loopback port and says where", async () => {
    await withProvider(async (provider) => {
      expect(provider.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/u);
      const response = await fetch(`${provider.url}/v1/models`, { headers: openAiHeaders });
      expect(response.status).toBe(200);
      expect(response.headers.get("x-request-id")).toMatch(/^req_/u);
    });
  });

  it("records method, path, query, headers and the parsed JSON body", async () => {
    await withProvider(async (provider) => {
      const arrived = provider.nextRequest();
      const finished = provider.nextFinished();
      await fetch(`${provider.url}/v1/chat/completions?trace=1`, {
        method: "POST",
        headers: { ...openAiHeaders, "x-custom": "yes" },
        body: JSON.stringify({ model: "demo-chat", messages: [{ role: "user", content: "hi" }] }),
      });
      const record = await arrived;
      expect(record).toMatchObject({
        sequence: 1,
        method: "POST",
        path: "/v1/chat/completions",
        url: "/v1/chat/completions?trace=1",
        family: "openai",
        body: { model: "demo-chat", messages: [{ role: "user", content: "hi" }] },
      });
      expect(record.headers["x-custom"]).toBe("yes");
      expect(provider.requests).toEqual([record]);
      expect(await finished).toBe(record);
      expect(record.outcome).toBe("completed");
    });
  });

  it("keeps a bounded log, newest last, and can forget it", async () => {
    await withProvider(async (provider) => {
      for (let index = 0; index < 7; index += 1) {
        await fetch(`${provider.url}/v1/models/demo-chat?n=${index}`, { headers: openAiHeaders });
      }
      expect(provider.requests.length).toBeGreaterThanOrEqual(3);
      expect(provider.requests.length).toBeLessThan(7);
      expect(provider.requests.at(-1)?.url).toBe("/v1/models/demo-chat?n=6");
      provider.clearRequests();
      expect(provider.requests).toHaveLength(0);
    }, 3);
  });

  it("answers malformed JSON with a 400 in each provider's format", async () => {
    await withProvider(async (provider) => {
      const openAi = await fetch(`${provider.url}/v1/chat/completions`, {
        method: "POST",
        headers: openAiHeaders,
        body: '{"model": "demo-chat", "messages": [',
      });
      expect(openAi.status).toBe(400);
      expect(await openAi.json()).toMatchObject({ error: { type: "invalid_request_error", param: null, code: null } });

      const anthropic = await fetch(`${provider.url}/v1/messages`, { method: "POST", headers: anthropicHeaders, body: "{nope" });
      expect(anthropic.status).toBe(400);
      const body = (await anthropic.json()) as { request_id: string };
      expect(body).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
      expect(body.request_id).toBe(anthropic.headers.get("request-id"));
    });
  });

  it("answers bodies that are not JSON objects with a 400, and unknown content types with a 415", async () => {
    await withProvider(async (provider) => {
      for (const body of ["[1, 2]", '"text"', "null", ""]) {
        const response = await fetch(`${provider.url}/v1/chat/completions`, { method: "POST", headers: openAiHeaders, body });
        expect(response.status, body).toBe(400);
        expect(await response.json()).toMatchObject({ error: { type: "invalid_request_error" } });
      }
      const xml = await fetch(`${provider.url}/v1/messages`, {
        method: "POST",
        headers: { ...anthropicHeaders, "content-type": "application/xml" },
        body: "<messages/>",
      });
      expect(xml.status).toBe(415);
      expect(await xml.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    });
  });

  it("survives odd but well-formed bodies", async () => {
    await withProvider(async (provider) => {
      const odd = [
        { model: "demo-chat", messages: [{ role: "user", content: [1, null, { text: 5 }, { type: "text", text: "ok" }] }] },
        { model: "demo-chat", messages: [{ role: "user", content: { nested: { deeper: [] } } }] },
        { model: 42, messages: [] },
        { model: "demo-chat", messages: [{ role: "user", content: "x" }], max_tokens: 1e308 },
        { model: "demo-chat", messages: [{ role: "user", content: "<|endoftext|>" }], max_tokens: 1 },
      ];
      for (const body of odd) {
        const response = await fetch(`${provider.url}/v1/chat/completions`, {
          method: "POST",
          headers: openAiHeaders,
          body: JSON.stringify(body),
        });
        expect(response.status, JSON.stringify(body)).toBeLessThan(500);
      }
      const alive = await fetch(`${provider.url}/v1/models`, { headers: openAiHeaders });
      expect(alive.status).toBe(200);
    });
  });

  it("answers unknown routes with a 404 in each provider's format", async () => {
    await withProvider(async (provider) => {
      const openAi = await fetch(`${provider.url}/v1/completions/legacy`, { headers: openAiHeaders });
      expect(openAi.status).toBe(404);
      expect(await openAi.json()).toMatchObject({ error: { message: "Invalid URL (GET /v1/completions/legacy)" } });
      const anthropic = await fetch(`${provider.url}/v1/messages`, { headers: anthropicHeaders });
      expect(anthropic.status).toBe(404);
      expect(await anthropic.json()).toMatchObject({ type: "error", error: { type: "not_found_error" } });
    });
  });

  it("closes even while a request hangs, and the client sees the connection end", async () => {
    const provider = await startDemoProvider();
    provider.faults.push({ kind: "hang" });
    const arrived = provider.nextRequest();
    const call = fetch(`${provider.url}/v1/models`, { headers: openAiHeaders }).catch((e: unknown) => e);
    await arrived;
    await provider.close();
    expect(await call).toBeInstanceOf(TypeError);
  });

  it("writes to the logger it is given, without a line per request", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    const provider = await startDemoProvider({ logger: pino(sink) });
    try {
      const response = await fetch(`${provider.url}/v1/models`, { headers: openAiHeaders });
      expect(response.status).toBe(200);
      expect(lines.some((line) => line.includes("/v1/models"))).toBe(false);
    } finally {
      await provider.close();
    }
    expect(lines.some((line) => line.includes("Server listening"))).toBe(true);
  });

  it("keeps no log when asked to, while still telling waiting tests", async () => {
    await withProvider(async (provider) => {
      const arrived = provider.nextRequest({ path: "/v1/models", method: "GET" });
      await fetch(`${provider.url}/v1/models`, { headers: openAiHeaders });
      expect((await arrived).path).toBe("/v1/models");
      expect(provider.requests).toHaveLength(0);
    }, 0);
  });
});

describe("familyOf", () => {
  it("sends /v1/messages and below to Anthropic and everything else to OpenAI", () => {
    expect(familyOf("/v1/messages")).toBe("anthropic");
    expect(familyOf("/v1/messages?beta=true")).toBe("anthropic");
    expect(familyOf("/v1/messages/count_tokens")).toBe("anthropic");
    expect(familyOf("/v1/messagesx")).toBe("openai");
    expect(familyOf("/v1/chat/completions")).toBe("openai");
  });
});
