import { PassThrough, Readable } from "node:stream";
import { TollgateError } from "../../../errors/tollgate-error.ts";
import { jsonRpcErrorBody } from "../json-rpc-errors.ts";
import { isJsonRpcId, isObject, type JsonObject, type JsonRpcId, metaOf } from "../json-rpc.ts";
import { encodeSseEvent } from "../sse-parser.ts";
import type { UpstreamCall, UpstreamReply } from "./mcp-upstream.ts";
import type { ChildExit, StdioChild } from "./stdio-child.ts";
import { stdioExitError } from "./stdio-exit-error.ts";

const subscriptionKey = "io.modelcontextprotocol/subscriptionId";

interface InFlight {
  /** The id and progress token the client chose; the process sees the bridge's own. */
  id: JsonRpcId;
  token: JsonRpcId | undefined;
  requestId: string;
  onFailure: (error: TollgateError) => void;
  /** Settles the HTTP answer with the first message: JSON when it is the response, SSE otherwise. */
  reply: ((reply: UpstreamReply) => void) | undefined;
  fail: ((error: TollgateError) => void) | undefined;
  stream: PassThrough | undefined;
}

/**
 * A stdio MCP server for clients of the 2026-07-28 revision, which has no sessions: one process per
 * caller, shared by that caller's requests, each answered on its own HTTP response. Several clients
 * of one caller may use the same ids, so the bridge gives every request an id (and progress token)
 * of its own and maps the process's messages back. The answer is JSON when the response is the
 * first message, SSE when notifications come first. Closing the response stream cancels the request
 * (the revision's cancellation), which the process is told with notifications/cancelled.
 */
export class ModernStdioBridge {
  readonly caller: string;
  readonly #server: string;
  readonly #child: StdioChild;
  readonly #inFlight = new Map<number, InFlight>();
  #nextId = 0;
  #ended = false;
  onEnd: ((why: string) => void) | undefined;

  constructor(options: { caller: string; server: string; child: StdioChild }) {
    this.caller = options.caller;
    this.#server = options.server;
    this.#child = options.child;
    this.#child.on("message", (message) => this.#fromServer(message));
    this.#child.once("exit", (exit) => this.#serverExited(exit));
  }

  get busy(): boolean {
    return this.#inFlight.size > 0;
  }

  get ended(): boolean {
    return this.#ended;
  }

  handle(call: UpstreamCall): Promise<UpstreamReply> {
    const message = call.message;
    if (message === undefined || message.kind === "response") {
      throw new TollgateError("TG_ERR_BAD_REQUEST", "Clients of protocol version 2026-07-28 send requests and notifications only.", { reason: "jsonrpc.invalid_request" });
    }
    if (message.kind === "notification") {
      this.#child.send(message.json);
      return Promise.resolve({ status: 202, headers: {}, body: Readable.from([]) });
    }
    const internal = ++this.#nextId;
    const token = metaOf(message.params)?.progressToken;
    const params: JsonObject = { ...message.params };
    if (isJsonRpcId(token)) params._meta = { ...metaOf(message.params), progressToken: `tg-${internal}` };
    const entry: InFlight = {
      id: message.id,
      token: isJsonRpcId(token) ? token : undefined,
      requestId: call.requestId,
      onFailure: call.onFailure,
      reply: undefined,
      fail: undefined,
      stream: undefined,
    };
    const answered = new Promise<UpstreamReply>((resolve, reject) => {
      entry.reply = resolve;
      entry.fail = reject;
    });
    this.#inFlight.set(internal, entry);
    call.signal.addEventListener("abort", () => this.#cancel(internal), { once: true });
    this.#child.send({ ...message.json, id: internal, ...(message.params === undefined ? {} : { params }) });
    return answered;
  }

  async end(why: string): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.onEnd?.(why);
    await this.#child.stop();
  }

  /** The client went away before the answer: the process is told, and nothing more is sent for it. */
  #cancel(internal: number): void {
    const entry = this.#inFlight.get(internal);
    if (entry === undefined) return;
    this.#inFlight.delete(internal);
    this.#child.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: internal, reason: "the client closed the response stream" } });
    entry.stream?.end();
    entry.fail?.(new TollgateError("TG_ERR_UPSTREAM_FAILED", "The request was abandoned by the caller.", { reason: "upstream.aborted" }));
  }

  #fromServer(message: JsonObject): void {
    if (typeof message.method !== "string") {
      const internal = typeof message.id === "number" ? message.id : undefined;
      const entry = internal === undefined ? undefined : this.#inFlight.get(internal);
      if (entry === undefined || internal === undefined) return;
      this.#inFlight.delete(internal);
      this.#deliver(entry, { ...message, id: entry.id }, true);
      return;
    }
    if ("id" in message) {
      // 2026-07-28 servers ask for input with InputRequiredResult, never with requests of their own.
      this.#child.send({ jsonrpc: "2.0", id: isJsonRpcId(message.id) ? message.id : null, error: { code: -32601, message: "Method not found: requests to the client are not part of protocol version 2026-07-28." } });
      return;
    }
    const routed = this.#route(message);
    if (routed !== undefined) this.#deliver(routed.entry, routed.message, false);
  }

  /** The request a notification belongs to, and the notification as its client must see it. */
  #route(message: JsonObject): { entry: InFlight; message: JsonObject } | undefined {
    const params = isObject(message.params) ? message.params : undefined;
    if (message.method === "notifications/progress") {
      const token = params?.progressToken;
      const internal = typeof token === "string" && token.startsWith("tg-") ? Number(token.slice(3)) : Number.NaN;
      const entry = this.#inFlight.get(internal);
      if (entry === undefined || entry.token === undefined) return undefined;
      return { entry, message: { ...message, params: { ...params, progressToken: entry.token } } };
    }
    const subscription = metaOf(params)?.[subscriptionKey];
    if (typeof subscription === "number") {
      const entry = this.#inFlight.get(subscription);
      if (entry === undefined) return undefined;
      return { entry, message: { ...message, params: { ...params, _meta: { ...metaOf(params), [subscriptionKey]: entry.id } } } };
    }
    if (this.#inFlight.size === 1) {
      const entry = this.#inFlight.values().next().value;
      return entry === undefined ? undefined : { entry, message };
    }
    return undefined;
  }

  #deliver(entry: InFlight, message: JsonObject, final: boolean): void {
    const text = JSON.stringify(message);
    if (entry.stream !== undefined) {
      entry.stream.write(encodeSseEvent({ event: "message", data: text }));
      if (final) entry.stream.end();
      return;
    }
    if (final) {
      entry.reply?.({ status: 200, headers: { "content-type": "application/json" }, body: Readable.from([Buffer.from(text)]) });
      return;
    }
    const stream = new PassThrough();
    entry.stream = stream;
    stream.write(encodeSseEvent({ event: "message", data: text }));
    entry.reply?.({ status: 200, headers: { "content-type": "text/event-stream", "cache-control": "no-cache" }, body: stream });
  }

  #serverExited(exit: ChildExit): void {
    const error = stdioExitError(this.#server, exit);
    for (const entry of this.#inFlight.values()) {
      entry.onFailure(error);
      this.#deliver(entry, jsonRpcErrorBody(error, entry.id, entry.requestId), true);
    }
    this.#inFlight.clear();
    void this.end(error.message);
  }
}
