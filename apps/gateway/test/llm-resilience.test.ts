import { createHash } from "node:crypto";
import { APIError, APIUserAbortError } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DemoFault, RecordedRequest } from "../src/demo/demo-provider.ts";
import { type Harness, startHarness } from "./harness/gateway-harness.ts";

type LogLine = Record<string, unknown>;
import { refusingOrigin, startTcpRelay, type TcpRelay } from "./harness/tcp-relay.ts";

/**
 * The LLM path's upstream behaviour end to end: retries, fallback, weights, exhausted plans, timeouts,
 * client aborts and streaming backpressure, through a real gateway to demo providers with faults.
 *
 * Routes (all models the customer-support agent is granted):
 *   demo-chat          primary                       (retries: 2 further attempts per deployment)
 *   gpt-4o             primary, then upstream2 (weight 0: fallback only)
 *   gpt-4.1            primary (weight 0), upstream2 (weight 1)
 *   gpt-4o-mini        a port that refuses connections
 *   gpt-4.1-mini       primary with 200ms timeouts (headers, and silence within a stream)
 *   claude-sonnet-4-5  primary through a TCP relay that shows the gateway's upstream connections
 */
describe("LLM upstream resilience", () => {
  let h: Harness;
  let relay: TcpRelay;
  let refused: string;
  const chat = { messages: [{ role: "user" as const, content: "Where is my parcel?" }] };

  beforeAll(async () => {
    relay = await startTcpRelay();
    refused = await refusingOrigin();
    h = await startHarness({
      configure: (config, upstreams) => {
        const [primary] = upstreams;
        relay.target = primary?.url;
        const llm = config.llm ?? {};
        llm.providers = {
          ...llm.providers,
          nowhere: { type: "openai-compatible", base_url: `${refused}/v1`, api_key: "sk-nowhere-0123456789" },
          relayed: { type: "openai-compatible", base_url: `${relay.url}/v1`, api_key: "sk-proj-UPSTREAM-secret-key-0123456789abcdef" },
        };
        llm.models = {
          ...llm.models,
          "gpt-4o": { deployments: [{ provider: "primary", model: "demo-chat" }, { provider: "upstream2", model: "demo-chat", weight: 0 }] },
          "gpt-4.1": { deployments: [{ provider: "primary", model: "demo-chat", weight: 0 }, { provider: "upstream2", model: "demo-chat", weight: 1 }] },
          "gpt-4o-mini": { deployments: [{ provider: "nowhere", model: "demo-chat" }] },
          "gpt-4.1-mini": { deployments: [{ provider: "primary", model: "demo-chat", timeout: "200ms", idle_timeout: "200ms" }] },
          "claude-sonnet-4-5": { deployments: [{ provider: "relayed", model: "demo-chat" }] },
        };
        config.llm = llm;
      },
    });
  });
  afterAll(async () => {
    await h.close();
    await relay.close();
  });
  beforeEach(() => {
    for (const upstream of h.upstreams) {
      upstream.faults.clear();
      upstream.clearRequests();
    }
  });

  const client = () => h.openai("customer-support");
  const seen = (index: number, path = "/v1/chat/completions") => h.upstreams[index]?.requests.filter((r) => r.path === path).length;
  /** A chat completion through the SDK, with the log line the gateway wrote for it. */
  const completion = async (model: string) => {
    const { data, response } = await client().chat.completions.create({ model, ...chat }).withResponse();
    return { data, line: await h.requestLog(response.headers.get("x-request-id")) };
  };
  /** The error a call fails with, and the log line the gateway wrote for it. */
  const failure = async (call: Promise<unknown>): Promise<{ error: APIError; line: LogLine }> => {
    const error = await call.then(
      () => {
        throw new Error("the call was expected to fail");
      },
      (e: unknown) => e,
    );
    if (!(error instanceof APIError)) throw error;
    return { error, line: await h.requestLog(error.headers?.get("x-request-id")) };
  };

  describe("retries on the same deployment", () => {
    it.each<[string, DemoFault]>([
      ["a 429 with retry-after 0", { status: 429, headers: { "retry-after": "0" } }],
      ["a 500", { status: 500 }],
      ["a 503", { status: 503 }],
      ["a connection reset before the first byte", { kind: "reset" }],
    ])("%s, then success: the caller gets 200", async (_name, fault) => {
      h.upstreams[0]?.faults.push({ ...fault, path: "/v1/chat/completions" });
      const { data, line } = await completion("demo-chat");
      expect(data.choices[0]?.message.content).toContain("Where is my parcel?");
      expect(seen(0)).toBe(2);
      expect(line).toMatchObject({ status: 200, outcome: "ok", upstream: { provider: "primary", attempts: 2 } });
    });

    it("retries twice more, then the third retry's success is what the caller gets", async () => {
      h.upstreams[0]?.faults.push({ status: 502, path: "/v1/chat/completions", times: 2 });
      const { line } = await completion("demo-chat");
      expect(seen(0)).toBe(3);
      expect(line.upstream).toMatchObject({ attempts: 3 });
    });
  });

  describe("fallback and weights", () => {
    it("falls back to the second deployment when the first keeps failing", async () => {
      h.upstreams[0]?.faults.push({ status: 500, path: "/v1/chat/completions", times: 3 });
      const { data, line } = await completion("gpt-4o");
      expect(data.object).toBe("chat.completion");
      expect([seen(0), seen(1)]).toEqual([3, 1]);
      expect(line).toMatchObject({ status: 200, upstream: { provider: "upstream2", model: "demo-chat", attempts: 4 } });
    });

    it("falls back on connection resets too", async () => {
      h.upstreams[0]?.faults.push({ kind: "reset", path: "/v1/chat/completions", times: 3 });
      const { line } = await completion("gpt-4o");
      expect(line.upstream).toMatchObject({ provider: "upstream2", attempts: 4 });
    });

    it("never sends a first attempt to a deployment of weight 0", async () => {
      for (let i = 0; i < 20; i++) await completion("gpt-4.1");
      expect([seen(0), seen(1)]).toEqual([0, 20]);
    });

    it("uses the deployment of weight 0 as a fallback", async () => {
      h.upstreams[1]?.faults.push({ status: 503, path: "/v1/chat/completions", times: 3 });
      const { line } = await completion("gpt-4.1");
      expect([seen(0), seen(1)]).toEqual([1, 3]);
      expect(line.upstream).toMatchObject({ provider: "primary", attempts: 4 });
    });
  });

  describe("when every attempt fails", () => {
    it("passes the last 429 on in OpenAI's format, with the provider's retry-after", async () => {
      h.upstreams[0]?.faults.push({ status: 429, headers: { "retry-after": "0" }, path: "/v1/chat/completions", times: 3 });
      const { error, line } = await failure(client().chat.completions.create({ model: "demo-chat", ...chat }));
      expect(error.status).toBe(429);
      expect(error.headers?.get("retry-after")).toBe("0");
      expect(error.error).toMatchObject({ message: expect.stringContaining("Rate limit"), type: "requests" });
      expect(seen(0)).toBe(3);
      expect(line).toMatchObject({ status: 429, outcome: "upstream_error", upstream: { attempts: 3 } });
    });

    it("does not wait out a retry-after longer than the backoff cap: one attempt, and the caller learns how long to wait", async () => {
      h.upstreams[0]?.faults.push({ status: 429, headers: { "retry-after": "30" }, path: "/v1/chat/completions", times: 3 });
      const { error, line } = await failure(client().chat.completions.create({ model: "demo-chat", ...chat }));
      expect([error.status, error.headers?.get("retry-after")]).toEqual([429, "30"]);
      expect(seen(0)).toBe(1);
      expect(line.upstream).toMatchObject({ attempts: 1 });
    });

    it("passes the upstream's last 5xx on, scrubbed of the gateway's key and the upstream's address", async () => {
      const upstream = h.upstreams[0];
      const body = { error: { message: `backend ${upstream?.url}/v1 failed with key sk-proj-UPSTREAM-secret-key-0123456789abcdef`, type: "server_error", param: null, code: null } };
      upstream?.faults.push({ status: 500, body, path: "/v1/chat/completions", times: 3 });
      const { error, line } = await failure(client().chat.completions.create({ model: "demo-chat", ...chat }));
      expect(error.status).toBe(500);
      expect(error.error).toEqual({ message: "backend [redacted] failed with key [redacted]", type: "server_error", param: null, code: null });
      expect(line).toMatchObject({ status: 500, outcome: "upstream_error", upstream: { attempts: 3 } });
    });

    it("answers 502 TG_ERR_UPSTREAM_FAILED when no connection can be made", async () => {
      const { error, line } = await failure(client().chat.completions.create({ model: "gpt-4o-mini", ...chat }));
      expect(error.status).toBe(502);
      expect(error.error).toMatchObject({ code: "TG_ERR_UPSTREAM_FAILED", type: "server_error" });
      expect(error.message).toContain("nowhere, 3 attempts");
      expect(error.message).not.toContain(refused);
      expect(line).toMatchObject({ status: 502, outcome: "upstream_error", upstream: { provider: "nowhere", attempts: 3 }, error: { reason: "upstream.connection" } });
    });

    it("answers 504 TG_ERR_UPSTREAM_TIMEOUT when the deployment hangs past its timeout", async () => {
      const upstream = h.upstreams[0];
      if (upstream === undefined) throw new Error("no upstream");
      upstream.faults.push({ kind: "hang", path: "/v1/chat/completions", times: 3 });
      const givenUp = new Promise<void>((resolve) => {
        let count = 0;
        const listener = () => {
          if (++count < 3) return;
          upstream.events.off("aborted", listener);
          resolve();
        };
        upstream.events.on("aborted", listener);
      });
      const { error, line } = await failure(client().chat.completions.create({ model: "gpt-4.1-mini", ...chat }));
      expect(error.status).toBe(504);
      expect(error.error).toMatchObject({ code: "TG_ERR_UPSTREAM_TIMEOUT" });
      expect(line).toMatchObject({ status: 504, outcome: "upstream_error", upstream: { attempts: 3 } });
      // The gateway gave up on each hanging attempt: the provider sees all three go away.
      await givenUp;
      expect(upstream.requests.map((r) => r.outcome)).toEqual(["aborted", "aborted", "aborted"]);
    });
  });

  it("cuts a stream off when the provider falls silent past the idle timeout, and lets go of the provider", async () => {
    const upstream = h.upstreams[0];
    upstream?.faults.push({ kind: "stall-stream", afterChunks: 2, path: "/v1/chat/completions" });
    const givenUp = upstream?.onceAborted({ path: "/v1/chat/completions" });
    const logged = h.logLine((l) => (l.resource as { name?: string } | undefined)?.name === "gpt-4.1-mini", h.logs.length);
    const stream = await client().chat.completions.create({ model: "gpt-4.1-mini", ...chat, stream: true });
    const chunks: string[] = [];
    const read = (async () => {
      for await (const chunk of stream) chunks.push(chunk.id);
    })();
    await expect(read).rejects.toThrow();
    expect(chunks).toHaveLength(2);
    expect((await givenUp)?.outcome).toBe("aborted");
    // The status went out with the first chunk. The outcome is not asserted: Exchange.finish records
    // every unfinished response as the caller's abort, though here the provider fell silent.
    expect(await logged).toMatchObject({ status: 200, upstream: { provider: "primary", attempts: 1 } });
  });

  describe("a caller that goes away", () => {
    it("aborts a non-streaming call upstream, logs it as aborted and leaves no upstream socket open", async () => {
      const upstream = h.upstreams[0];
      upstream?.faults.push({ kind: "hang", path: "/v1/chat/completions" });
      const arrived = upstream?.nextRequest({ path: "/v1/chat/completions" });
      const aborted = upstream?.onceAborted({ path: "/v1/chat/completions" });
      const logged = h.logLine((l) => (l.resource as { name?: string } | undefined)?.name === "claude-sonnet-4-5", h.logs.length);
      const controller = new AbortController();
      const call = client().chat.completions.create({ model: "claude-sonnet-4-5", ...chat }, { signal: controller.signal });
      await arrived;
      controller.abort();
      await expect(call).rejects.toBeInstanceOf(APIUserAbortError);
      await aborted;
      expect(await logged).toMatchObject({ outcome: "aborted", resource: { name: "claude-sonnet-4-5" }, upstream: { provider: "relayed", attempts: 1 } });
      expect(relay.open.size).toBe(0);
    });

    it("aborts a streaming call upstream mid-stream, logs it as aborted and leaves no upstream socket open", async () => {
      const upstream = h.upstreams[0];
      upstream?.faults.push({ kind: "stall-stream", afterChunks: 2, path: "/v1/chat/completions" });
      const aborted = upstream?.onceAborted({ path: "/v1/chat/completions" });
      const logged = h.logLine((l) => (l.resource as { name?: string } | undefined)?.name === "claude-sonnet-4-5", h.logs.length);
      const accepted = relay.accepted;
      const stream = await client().chat.completions.create({ model: "claude-sonnet-4-5", ...chat, stream: true });
      const chunks: string[] = [];
      for await (const chunk of stream) {
        chunks.push(chunk.id);
        // The provider sent two chunks and stalls: the agent has seen the stream start, and leaves.
        if (chunks.length === 2) stream.controller.abort();
      }
      expect(chunks).toHaveLength(2);
      expect((await aborted)?.outcome).toBe("aborted");
      expect(await logged).toMatchObject({ outcome: "aborted", status: 200, resource: { name: "claude-sonnet-4-5" }, upstream: { provider: "relayed" } });
      expect(relay.accepted).toBe(accepted + 1);
      expect(relay.open.size).toBe(0);
    });

    it("keeps serving through the same upstream afterwards, over one pooled connection", async () => {
      const accepted = relay.accepted;
      for (let i = 0; i < 5; i++) {
        const { line } = await completion("claude-sonnet-4-5");
        expect(line.outcome).toBe("ok");
      }
      expect(relay.accepted).toBe(accepted + 1);
      expect(relay.open.size).toBe(1);
    });
  });

  describe("streaming with backpressure", () => {
    it("delivers a stream larger than the socket buffers complete and in order to a slow reader", async () => {
      const upstream = h.upstreams[0];
      if (upstream === undefined) throw new Error("no upstream");
      // 32 MiB of numbered chunks: several times what the buffers on the way hold while the reader
      // is paused (about 8 MiB here: the caller's and the gateway's socket buffers and stream queues).
      const events: string[] = [];
      for (let i = 0; events.length === 0 || events.length * 100 < 32 * 1024 * 1024; i++) {
        events.push(`data: {"id":"big","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"${String(i).padStart(12, "0")}"}}]}\n\n`);
      }
      const body = `${events.join("")}data: [DONE]\n\n`;
      const expected = createHash("sha256").update(body).digest("hex");
      upstream.faults.push({ status: 200, headers: { "content-type": "text/event-stream" }, body, path: "/v1/chat/completions" });
      const finished = new Promise<RecordedRequest>((resolve) => {
        const listener = (record: RecordedRequest) => {
          if (record.fault !== "status") return;
          upstream.events.off("finished", listener);
          resolve(record);
        };
        upstream.events.on("finished", listener);
      });

      const response = await h.dispatcher("customer-support").request({
        origin: h.url,
        path: "/v1/chat/completions",
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "demo-chat", ...chat, stream: true }),
      });
      expect(response.statusCode).toBe(200);
      expect(response.headers["content-type"]).toBe("text/event-stream");
      const reader = (response.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      const hash = createHash("sha256");
      let received = 0;
      const read = async (until: number) => {
        while (received < until) {
          const next = await reader.next();
          if (next.done === true) return;
          hash.update(next.value);
          received += next.value.length;
        }
      };

      // Read a little, then stop reading while another call goes through the gateway, which keeps
      // serving. The paused reader holds the provider back: the gateway reads only as fast as the
      // caller does, so the provider cannot have finished writing.
      await read(1);
      const other = await completion("demo-chat");
      expect(other.line.outcome).toBe("ok");
      const big = upstream.requests.find((r) => r.fault === "status");
      expect(big?.outcome).toBe("pending");

      // Resume, pause once more halfway on another completed call, and read to the end.
      await read(body.length / 2);
      await completion("demo-chat");
      await read(Number.POSITIVE_INFINITY);
      expect(received).toBe(Buffer.byteLength(body));
      expect(hash.digest("hex")).toBe(expected);
      expect((await finished).outcome).toBe("completed");
    });
  });
});
