import { TollgateError } from "../../errors/tollgate-error.ts";
import type { McpResource, PromptResource, ToolResource } from "../../gate/resource.ts";
import { type ClientMessage, isObject, type JsonObject } from "./json-rpc.ts";

export type McpItemKind = "tool" | "resource" | "prompt";

/**
 * What a client's message asks, for the policy:
 *  - `use`: a named tool, resource or prompt (tools/call, resources/read, resources/subscribe,
 *    prompts/get, completion/complete), decided on that name alone;
 *  - `connect`: the session's plumbing and the lists (initialize, ping, notifications, tools/list,
 *    ...), allowed to a caller that may list something on the server; lists are then filtered item
 *    by item. subscriptions/listen (2026-07-28) also names resources to watch, each decided as a
 *    `subscribe`;
 *  - `unclassified`: a method the gateway does not know, which no policy could allow.
 */
export type McpOperation =
  | { kind: "use"; resource: ToolResource | McpResource | PromptResource }
  | { kind: "connect"; method: string | undefined; preferred: McpItemKind; subscriptions: readonly string[] }
  | { kind: "unclassified"; method: string };

/** Protocol plumbing: no name to decide on, only whether the caller may use the server at all. */
const plumbing = new Set([
  "initialize",
  "ping",
  "logging/setLevel",
  "server/discover",
  "tasks/get",
  "tasks/result",
  "tasks/list",
  "tasks/cancel",
  "notifications/initialized",
  "notifications/cancelled",
  "notifications/progress",
  "notifications/roots/list_changed",
  "notifications/tasks/status",
]);

const lists: Readonly<Record<string, McpItemKind>> = {
  "tools/list": "tool",
  "resources/list": "resource",
  "resources/templates/list": "resource",
  "prompts/list": "prompt",
};

function invalidParams(message: string): TollgateError {
  return new TollgateError("TG_ERR_BAD_REQUEST", message, { reason: "jsonrpc.invalid_params" });
}

function requireString(params: JsonObject | undefined, field: string, method: string): string {
  const value = params?.[field];
  if (typeof value !== "string") throw invalidParams(`${method} needs params.${field} (a string).`);
  return value;
}

export function classifyMessage(server: string, message: ClientMessage): McpOperation {
  // A response answers something the server asked; it names nothing of its own.
  if (message.kind === "response") return { kind: "connect", method: undefined, preferred: "tool", subscriptions: [] };
  const { method, params } = message;
  const listed = lists[method];
  if (listed !== undefined) return { kind: "connect", method, preferred: listed, subscriptions: [] };
  if (plumbing.has(method)) return { kind: "connect", method, preferred: "tool", subscriptions: [] };
  switch (method) {
    case "tools/call":
      return { kind: "use", resource: { kind: "tool", server, name: requireString(params, "name", method), action: "call", method } };
    case "resources/read":
      return { kind: "use", resource: { kind: "resource", server, name: requireString(params, "uri", method), action: "read", method } };
    // Unsubscribing is decided like subscribing: whoever may watch a resource may stop watching it.
    case "resources/subscribe":
    case "resources/unsubscribe":
      return { kind: "use", resource: { kind: "resource", server, name: requireString(params, "uri", method), action: "subscribe", method } };
    case "prompts/get":
      return { kind: "use", resource: { kind: "prompt", server, name: requireString(params, "name", method), action: "get", method } };
    case "completion/complete":
      return { kind: "use", resource: completionTarget(server, params) };
    case "subscriptions/listen":
      return { kind: "connect", method, preferred: "resource", subscriptions: watchedUris(params) };
    default:
      return { kind: "unclassified", method };
  }
}

/** completion/complete names what it completes: a prompt (`ref/prompt`) or a resource template (`ref/resource`). */
function completionTarget(server: string, params: JsonObject | undefined): McpResource | PromptResource {
  const ref = params?.ref;
  if (!isObject(ref)) throw invalidParams("completion/complete needs params.ref.");
  if (ref.type === "ref/prompt" && typeof ref.name === "string") {
    return { kind: "prompt", server, name: ref.name, action: "complete", method: "completion/complete" };
  }
  if (ref.type === "ref/resource" && typeof ref.uri === "string") {
    return { kind: "resource", server, name: ref.uri, action: "complete", method: "completion/complete" };
  }
  throw invalidParams('completion/complete needs params.ref of type "ref/prompt" (with a name) or "ref/resource" (with a uri).');
}

function watchedUris(params: JsonObject | undefined): string[] {
  const filter = params?.notifications;
  if (filter === undefined) return [];
  if (!isObject(filter)) throw invalidParams("subscriptions/listen needs params.notifications to be an object.");
  const uris = filter.resourceSubscriptions;
  if (uris === undefined) return [];
  if (!Array.isArray(uris) || !uris.every((uri) => typeof uri === "string")) {
    throw invalidParams("params.notifications.resourceSubscriptions must be an array of resource URIs.");
  }
  return uris as string[];
}
