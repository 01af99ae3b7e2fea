import { TollgateError } from "../../errors/tollgate-error.ts";
import type { Exchange } from "../../gate/exchange.ts";
import type { McpResource, PromptResource, ToolResource } from "../../gate/resource.ts";
import type { Authorizer, RequestFacts } from "../../policy/authorize-stage.ts";
import type { Decision } from "../../policy/decision.ts";
import type { McpItemKind, McpOperation } from "./classify.ts";

type McpNamedResource = ToolResource | McpResource | PromptResource;

const itemKinds: readonly McpItemKind[] = ["tool", "resource", "prompt"];

/**
 * Asks the policy about an MCP request and records the answer on the exchange; throws the deny.
 *
 * "May this caller use the server at all?" (for initialize, ping, the lists, the GET stream, DELETE)
 * is asked as: may it `list` tools, resources or prompts (name "") on the server's target? The kind
 * the request is about is asked first, so `prompts/list` is recorded as a prompt decision; a caller
 * with prompt grants alone still connects and lists its prompts. When no kind is allowed, the first
 * deny, with its reasons, is what the caller gets.
 */
export function authorizeMcpOperation(authorizer: Authorizer, exchange: Exchange, server: string, operation: McpOperation, facts: RequestFacts): void {
  switch (operation.kind) {
    case "use":
      authorizer.authorize(exchange, operation.resource, facts);
      return;
    case "connect": {
      authorizeServerAccess(authorizer, exchange, server, operation.method, operation.preferred, facts);
      for (const uri of operation.subscriptions) {
        const resource: McpResource = { kind: "resource", server, name: uri, action: "subscribe", method: operation.method ?? "subscriptions/listen" };
        // Decided without recording first, so that the exchange keeps the access decision unless one is refused.
        if (!authorizer.decide(exchange, resource, facts).allow) authorizer.authorize(exchange, resource, facts);
      }
      return;
    }
    case "unclassified":
      throw new TollgateError("TG_ERR_UNCLASSIFIED", `Method not found: "${operation.method}" is not an MCP method this gateway forwards.`, {
        reason: "mcp.unclassified_method",
      });
  }
}

export function authorizeServerAccess(
  authorizer: Authorizer,
  exchange: Exchange,
  server: string,
  method: string | undefined,
  preferred: McpItemKind,
  facts: RequestFacts,
): void {
  const access = (kind: McpItemKind): McpNamedResource => {
    const resource = { kind, server, name: "", action: "list" } as McpNamedResource;
    if (method !== undefined) resource.method = method;
    return resource;
  };
  let firstDenial: unknown;
  for (const kind of [preferred, ...itemKinds.filter((k) => k !== preferred)]) {
    try {
      authorizer.authorize(exchange, access(kind), facts);
      return;
    } catch (error) {
      // Only a policy deny is worth asking about another kind; no policy at all is final.
      if (!(error instanceof TollgateError) || error.code !== "TG_ERR_POLICY_DENIED") throw error;
      firstDenial ??= error;
    }
  }
  // Record the first deny again (the later kinds' denies overwrote it on the exchange) and throw it.
  authorizer.authorize(exchange, access(preferred), facts);
  throw firstDenial;
}

/**
 * Decides, without recording, whether the caller may use one item of the server: what list
 * filtering and the inspection of server messages ask for every tool, resource, prompt and
 * server-to-client request they meet.
 */
export type ItemDecider = (kind: McpItemKind, name: string, action: string) => Decision;

export function itemDecider(authorizer: Authorizer, exchange: Exchange, server: string, facts: RequestFacts): ItemDecider {
  return (kind, name, action) => authorizer.decide(exchange, { kind, server, name, action } as McpNamedResource, facts);
}
