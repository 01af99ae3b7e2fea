import { Readable } from "node:stream";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { TollgateError } from "../../../errors/tollgate-error.ts";
import { jsonRpcErrorBody } from "../json-rpc-errors.ts";
import { isJsonRpcId, isObject, type JsonObject, type JsonRpcId, metaOf } from "../json-rpc.ts";
import { BoundedEventStore } from "./bounded-event-store.ts";
import { idKey } from "./json-rpc-id-key.ts";
import type { UpstreamCall, UpstreamReply } from "./mcp-upstream.ts";
import type { ChildExit, StdioChild } from "./stdio-child.ts";
import { stdioExitError } from "./stdio-exit-error.ts";

interface PendingRequest {
  id: JsonRpcId;
  requestId: string;
  onFailure: (error: TollgateError) => void;
  progressKey: string | undefined;
}

/** Where the bridge is served from, as far as the SDK's transport cares (it never connects anywhere). */
const bridgeUrl = "http://stdio.tollgate.invalid/mcp";

/**
 * One session of a stdio MCP server, for clients of the revisions with sessions (2025-11-25 and
 * earlier): one process, bridged to Streamable HTTP by the official SDK's server transport, which
 * does the transport's work as the specification has it (the session id, the POST and GET streams,
 * DELETE, resumption from an event store). What this class adds is the bridge between the two: it
 * relates what the process writes to the request it belongs to, which stdio does not say.
 *
 *  - a response goes to the stream of its request;
 *  - a progress notification goes to the stream of the request whose progress token it carries;
 *  - any other message goes to the stream of the request in flight when exactly one is, else to the
 *    GET stream; a request of the server's (sampling, elicitation, roots) that no stream can carry
 *    is answered with an error at once, so the process never waits for an answer that cannot come.
 *
 * When the process ends, every request still waiting is answered with an error that says so, and
 * the session ends: its id is unknown from then on.
 */
export class LegacyStdioSession {
  readonly id: string;
  readonly caller: string;
  readonly #server: string;
  readonly #child: StdioChild;
  readonly #transport: WebStandardStreamableHTTPServerTransport;
  readonly #pending = new Map<string, PendingRequest>();
  readonly #progress = new Map<string, JsonRpcId>();
  readonly #warn: (message: string, detail: Record<string, unknown>) => void;
  #openGetStreams = 0;
  #ended = false;
  /** Called once when the session ends, whatever ended it. */
  onEnd: ((why: string) => void) | undefined;

  constructor(options: { id: string; caller: string; server: string; child: StdioChild; warn: (message: string, detail: Record<string, unknown>) => void }) {
    this.id = options.id;
    this.caller = options.caller;
    this.#server = options.server;
    this.#child = options.child;
    this.#warn = options.warn;
    this.#transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => this.id,
      eventStore: new BoundedEventStore(),
      onsessionclosed: () => void this.end("the client ended the session (DELETE)"),
    });
    this.#transport.onmessage = (message) => this.#fromClient(message as unknown as JsonObject);
    this.#transport.onerror = () => {
      // The transport reports what it answered the client (a 4xx) here too: that answer says it all.
    };
    void this.#transport.start();
    this.#child.on("message", (message) => this.#fromServer(message));
    this.#child.once("exit", (exit) => void this.#serverExited(exit));
  }

  /** Requests waiting for the server's answer: a session with any is not idle. */
  get busy(): boolean {
    return this.#pending.size > 0;
  }

  get ended(): boolean {
    return this.#ended;
  }

  async handle(call: UpstreamCall): Promise<UpstreamReply> {
    const message = call.message;
    const pendingKey = message?.kind === "request" ? idKey(message.id) : undefined;
    if (message?.kind === "request" && pendingKey !== undefined) {
      const token = metaOf(message.params)?.progressToken;
      const progressKey = isJsonRpcId(token) ? idKey(token) : undefined;
      this.#pending.set(pendingKey, { id: message.id, requestId: call.requestId, onFailure: call.onFailure, progressKey });
      if (progressKey !== undefined) this.#progress.set(progressKey, message.id);
    }
    const headers = new Headers(call.headers);
    if (call.session !== undefined) headers.set("mcp-session-id", call.session);
    const request = new Request(bridgeUrl, {
      method: call.method,
      headers,
      ...(call.method === "POST" && message !== undefined ? { body: new Uint8Array(message.raw) } : {}),
    });
    const response = await this.#transport.handleRequest(request, message === undefined ? undefined : { parsedBody: message.json });
    if (response.status >= 300 && pendingKey !== undefined) this.#forget(pendingKey);
    const body = response.body === null ? Readable.from([]) : Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>);
    if (call.method === "GET" && response.status === 200) {
      this.#openGetStreams += 1;
      body.once("close", () => {
        this.#openGetStreams -= 1;
      });
    }
    return { status: response.status, headers: Object.fromEntries(response.headers), body };
  }

  /** Writes a message of the gateway's own to the process (the refusal of a request it made). */
  answer(message: JsonObject): void {
    this.#child.send(message);
  }

  /** Ends the session: the transport's streams close and the process is stopped. */
  async end(why: string): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.onEnd?.(why);
    await this.#transport.close();
    await this.#child.stop();
  }

  #fromClient(message: JsonObject): void {
    if (message.method === "notifications/cancelled" && isObject(message.params) && isJsonRpcId(message.params.requestId)) {
      // A cancelled request gets no answer: it is no longer waited for.
      this.#forget(idKey(message.params.requestId));
    }
    this.#child.send(message);
  }

  #fromServer(message: JsonObject): void {
    if (typeof message.method !== "string") {
      if (isJsonRpcId(message.id)) this.#forget(idKey(message.id));
      this.#toClient(message, undefined);
      return;
    }
    let related: JsonRpcId | undefined;
    if (message.method === "notifications/progress") {
      const token = isObject(message.params) ? message.params.progressToken : undefined;
      related = isJsonRpcId(token) ? this.#progress.get(idKey(token)) : undefined;
    } else if (this.#pending.size === 1) {
      related = this.#pending.values().next().value?.id;
    }
    const isRequest = "id" in message;
    if (isRequest && related === undefined && this.#openGetStreams === 0) {
      this.#refuse(message, "the client has no stream open on which this request could reach it");
      return;
    }
    this.#toClient(message, related);
  }

  #toClient(message: JsonObject, related: JsonRpcId | undefined): void {
    const options = related === undefined ? undefined : { relatedRequestId: related };
    this.#transport.send(message as unknown as JSONRPCMessage, options).catch((error: unknown) => {
      // The stream it belonged to is gone and cannot be resumed: a request of the server's must still be answered.
      if ("id" in message && typeof message.method === "string") this.#refuse(message, "the stream that would carry it is gone");
      else this.#warn("a message of the MCP server could not be delivered", { server: this.#server, err: (error as Error).message });
    });
  }

  #refuse(request: JsonObject, why: string): void {
    this.#child.send({ jsonrpc: "2.0", id: isJsonRpcId(request.id) ? request.id : null, error: { code: -32000, message: `Not delivered by the gateway: ${why}.` } });
  }

  #forget(key: string): void {
    const pending = this.#pending.get(key);
    if (pending === undefined) return;
    this.#pending.delete(key);
    if (pending.progressKey !== undefined) this.#progress.delete(pending.progressKey);
  }

  async #serverExited(exit: ChildExit): Promise<void> {
    const error = stdioExitError(this.#server, exit);
    const answers = [...this.#pending.values()].map((pending) => {
      pending.onFailure(error);
      const answer = jsonRpcErrorBody(error, pending.id, pending.requestId);
      return this.#transport.send(answer as unknown as JSONRPCMessage).catch(() => {
        // Its stream is gone: the client learns of the end from its next request (404).
      });
    });
    this.#pending.clear();
    this.#progress.clear();
    // The answers are written before the streams are closed, or a client would see its stream end
    // without an answer and wait for one until its own timeout.
    await Promise.all(answers);
    await this.end(error.message);
  }
}
