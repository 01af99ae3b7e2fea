import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TollgateError } from "../errors/tollgate-error.ts";
import type { Deployment } from "./model-routes.ts";
import { openaiCompatibleProvider } from "./providers/openai-compatible.ts";
import { providerConfig } from "./providers/provider-test-config.ts";
import { maxErrorBody, UpstreamClient, type UpstreamAnswer, type UpstreamRequest } from "./upstream-client.ts";

type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void;

/** A local HTTP upstream answering each request with the next scripted handler (then 200 "ok"). */
class ScriptedUpstream {
  readonly server: Server;
  readonly script: Handler[] = [];
  readonly seen: Array<{ path: string; body: string; headers: IncomingMessage["headers"] }> = [];

  constructor() {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        this.seen.push({ path: request.url ?? "", body, headers: request.headers });
        const handler = this.script.shift() ?? ((_q, s) => s.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}'));
        handler(request, response, body);
      });
    });
  }

  async start(): Promise<string> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, "close");
  }
}

const status = (code: number, headers: Record<string, string> = {}, body = `{"error":{"message":"status ${code}"}}`): Handler => (_q, s) => {
  s.writeHead(code, { "content-type": "application/json", ...headers }).end(body);
};
const reset: Handler = (request) => request.socket.destroy();
const hang: Handler = () => {};

/** A port nothing listens on: bound, then released. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  server.close();
  await once(server, "close");
  return `http://127.0.0.1:${port}`;
}

function deployment(name: string, baseUrl: string, timeoutMs = 10_000): Deployment {
  const provider = openaiCompatibleProvider(name, providerConfig({ type: "openai-compatible", base_url: `${baseUrl}/v1`, api_key: `key-of-${name}` }));
  return { provider, model: `model-at-${name}`, weight: 1, timeoutMs, idleTimeoutMs: 10_000 };
}

async function text(answer: UpstreamAnswer): Promise<string> {
  if (!answer.ok) return answer.body.toString("utf8");
  const chunks: Buffer[] = [];
  for await (const chunk of answer.body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

describe("UpstreamClient", () => {
  const primary = new ScriptedUpstream();
  const backup = new ScriptedUpstream();
  let primaryUrl = "";
  let backupUrl = "";
  let refusedUrl = "";
  // No waiting between attempts: backoff is tested on its own; these tests are about what is tried.
  const client = new UpstreamClient({ attempts: 2, initialBackoffMs: 0, maxBackoffMs: 100 });

  beforeAll(async () => {
    primaryUrl = await primary.start();
    backupUrl = await backup.start();
    refusedUrl = await closedPortUrl();
  });
  afterEach(() => {
    primary.script.length = 0;
    primary.seen.length = 0;
    backup.script.length = 0;
    backup.seen.length = 0;
  });
  afterAll(async () => {
    await client.close();
    await primary.stop();
    await backup.stop();
  });

  const send = (plan: Deployment[], extra: Partial<UpstreamRequest> = {}) => {
    const tried: string[] = [];
    const answer = client.send({
      plan,
      api: "chat",
      method: "POST",
      subpath: "/chat/completions",
      search: "",
      headers: { "content-type": "application/json" },
      body: (d) => Buffer.from(JSON.stringify({ model: d.model })),
      signal: new AbortController().signal,
      onAttempt: (d, attempt) => tried.push(`${d.provider.name}#${attempt}`),
      ...extra,
    });
    return { answer, tried };
  };

  it("retries a 429, a 500, a 503 and a reset on the same deployment until it answers", async () => {
    primary.script.push(status(429, { "retry-after": "0" }), status(500));
    const first = send([deployment("primary", primaryUrl)]);
    const answer = await first.answer;
    expect([answer.ok, answer.status, answer.attempts]).toEqual([true, 200, 3]);
    expect(await text(answer)).toBe('{"ok":true}');
    expect(first.tried).toEqual(["primary#1", "primary#2", "primary#3"]);

    primary.script.push(status(503), reset);
    expect((await send([deployment("primary", primaryUrl)]).answer).attempts).toBe(3);
    expect(primary.seen).toHaveLength(6);
  });

  it("sends each deployment its own body, path and key", async () => {
    primary.script.push(status(500), status(500), status(500));
    const { answer } = send([deployment("primary", primaryUrl), deployment("backup", backupUrl)]);
    expect((await answer).deployment.provider.name).toBe("backup");
    expect(primary.seen.map((s) => s.body)).toEqual(Array(3).fill('{"model":"model-at-primary"}'));
    expect(backup.seen[0]).toMatchObject({ path: "/v1/chat/completions", body: '{"model":"model-at-backup"}' });
    expect(backup.seen[0]?.headers.authorization).toBe("Bearer key-of-backup");
    expect(backup.seen[0]?.headers["accept-encoding"]).toBe("identity");
  });

  it("does not retry an answer the caller must see (400, 404)", async () => {
    primary.script.push(status(400), status(404));
    const bad = await send([deployment("primary", primaryUrl), deployment("backup", backupUrl)]).answer;
    expect([bad.ok, bad.status, bad.attempts]).toEqual([false, 400, 1]);
    expect(backup.seen).toHaveLength(0);
  });

  it("follows the provider's x-should-retry advice over the status", async () => {
    primary.script.push(status(500, { "x-should-retry": "false" }));
    const final = await send([deployment("primary", primaryUrl), deployment("backup", backupUrl)]).answer;
    expect([final.status, final.attempts]).toEqual([500, 1]);
    primary.script.push(status(409, { "x-should-retry": "true" }));
    const retried = await send([deployment("primary", primaryUrl)]).answer;
    expect([retried.status, retried.attempts]).toEqual([200, 2]);
  });

  it("returns the last HTTP answer when every attempt failed, with its body read", async () => {
    primary.script.push(...Array.from({ length: 3 }, (_, i) => status(429, { "retry-after": "0" }, `{"error":{"message":"busy ${i}"}}`)));
    const answer = await send([deployment("primary", primaryUrl)]).answer;
    expect([answer.ok, answer.status, answer.attempts, answer.headers["retry-after"]]).toEqual([false, 429, 3, "0"]);
    expect(await text(answer)).toBe('{"error":{"message":"busy 2"}}');
  });

  it("prefers an HTTP answer to a later failure to connect", async () => {
    primary.script.push(status(503), status(503), status(503));
    const answer = await send([deployment("primary", primaryUrl), deployment("down", refusedUrl)]).answer;
    expect([answer.status, answer.attempts, answer.deployment.provider.name]).toEqual([503, 6, "primary"]);
  });

  it("moves to the next deployment at once when the provider asks to wait longer than the cap", async () => {
    primary.script.push(status(429, { "retry-after": "60" }));
    const { answer, tried } = send([deployment("primary", primaryUrl), deployment("backup", backupUrl)]);
    expect((await answer).status).toBe(200);
    expect(tried).toEqual(["primary#1", "backup#2"]);
  });

  it("throws a 502 when no deployment can be reached", async () => {
    const { answer, tried } = send([deployment("down", refusedUrl), deployment("also-down", refusedUrl)]);
    const error = await answer.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TollgateError);
    expect(error).toMatchObject({ code: "TG_ERR_UPSTREAM_FAILED", status: 502, reason: "upstream.connection" });
    expect((error as Error).message).toContain("also-down, 6 attempts");
    expect(tried).toHaveLength(6);
  });

  it("throws a 504 when the deployment does not answer within its timeout", async () => {
    primary.script.push(hang, hang, hang);
    const error = await send([deployment("slow", primaryUrl, 50)]).answer.then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: "TG_ERR_UPSTREAM_TIMEOUT", status: 504 });
    expect(primary.seen).toHaveLength(3);
  });

  it("stops when the caller aborts, while waiting for an answer", async () => {
    const controller = new AbortController();
    primary.script.push((request) => {
      controller.abort();
      request.socket.once("close", () => undefined);
    });
    const error = await send([deployment("primary", primaryUrl), deployment("backup", backupUrl)], { signal: controller.signal }).answer.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "TG_ERR_UPSTREAM_FAILED", reason: "upstream.aborted" });
    expect(backup.seen).toHaveLength(0);
  });

  it("stops when the caller aborts during the backoff wait", async () => {
    const slow = new UpstreamClient({ attempts: 2, initialBackoffMs: 60_000, maxBackoffMs: 60_000 }, new Map(), () => 0.5);
    const controller = new AbortController();
    primary.script.push(status(500));
    const answer = slow.send({
      plan: [deployment("primary", primaryUrl)],
      api: "chat",
      method: "POST",
      subpath: "/chat/completions",
      search: "",
      headers: {},
      body: Buffer.from("{}"),
      signal: controller.signal,
      onAttempt: (_d, attempt) => {
        // The second attempt would only start after a minute's backoff: abort as the first is answered.
        if (attempt === 1) primary.server.once("request", (_q, response: ServerResponse) => response.once("finish", () => controller.abort()));
      },
    });
    await expect(answer).rejects.toMatchObject({ reason: "upstream.aborted" });
    expect(primary.seen).toHaveLength(1);
    await slow.close();
  });

  it("never retries a streamed body, and passes its 5xx straight on", async () => {
    primary.script.push(status(503));
    const answer = await send([deployment("primary", primaryUrl), deployment("backup", backupUrl)], { body: Readable.from([Buffer.from("part")]) }).answer;
    expect([answer.status, answer.attempts]).toEqual([503, 1]);
    primary.script.push(reset);
    await expect(send([deployment("primary", primaryUrl), deployment("backup", backupUrl)], { body: Readable.from([Buffer.from("x")]) }).answer).rejects.toMatchObject({
      code: "TG_ERR_UPSTREAM_FAILED",
    });
    expect(backup.seen).toHaveLength(0);
  });

  it("keeps at most maxErrorBody bytes of an error body", async () => {
    primary.script.push(status(400, {}, "x".repeat(maxErrorBody * 3)));
    const answer = await send([deployment("primary", primaryUrl)]).answer;
    expect(answer.ok).toBe(false);
    expect(answer.ok ? 0 : answer.body.length).toBe(maxErrorBody);
  });

  it("passes a success body through as a stream", async () => {
    primary.script.push((_q, s) => {
      s.writeHead(200, { "content-type": "text/event-stream" });
      s.write("data: 1\n\n");
      s.end("data: 2\n\n");
    });
    const answer = await send([deployment("primary", primaryUrl)]).answer;
    expect(await text(answer)).toBe("data: 1\n\ndata: 2\n\n");
  });
});
