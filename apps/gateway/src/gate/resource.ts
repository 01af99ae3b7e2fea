/**
 * What a request is about, as the protocol modules classify it and the policy sees it
 * (`input.resource`). A discriminated union on `kind`: code that handles resources switches on it
 * exhaustively, so a new kind cannot be forgotten.
 */
export type Resource = ModelResource | ToolResource | McpResource | PromptResource | CollectionResource | AdminResource;

export type ResourceKind = Resource["kind"];

/** An LLM model, or an account-level LLM API (files, fine-tuning, batches) whose name is "" when no model is involved. */
export interface ModelResource {
  kind: "model";
  name: string;
  /** The provider that will serve it, when known before routing (account-level APIs). */
  provider?: string;
  action: ModelAction;
}

export type ModelAction =
  | "chat"
  | "embed"
  | "list"
  | "file.upload"
  | "file.list"
  | "file.read"
  | "file.delete"
  | "fine_tune.create"
  | "fine_tune.list"
  | "fine_tune.read"
  | "fine_tune.cancel"
  | "batch.create"
  | "batch.list"
  | "batch.read"
  | "batch.cancel";

/**
 * An MCP tool on an MCP server (`server` is the configured server name). Actions: `list`, `call`,
 * and `sampling`, `elicitation`, `roots` for what the server asks of the agent while a tool runs.
 */
export interface ToolResource {
  kind: "tool";
  server: string;
  name: string;
  action: string;
  /** The JSON-RPC method the request carried, e.g. `tools/call` (MCP requests only). */
  method?: string;
}

/** An MCP resource, by URI (or URI template). Actions: `list`, `read`, `subscribe`, `complete`. */
export interface McpResource {
  kind: "resource";
  server: string;
  name: string;
  action: string;
  /** The JSON-RPC method the request carried, e.g. `resources/read`. */
  method?: string;
}

/** An MCP prompt. Actions: `list`, `get`, `complete`. */
export interface PromptResource {
  kind: "prompt";
  server: string;
  name: string;
  action: string;
  /** The JSON-RPC method the request carried, e.g. `prompts/get`. */
  method?: string;
}

/** A vector database collection. */
export interface CollectionResource {
  kind: "collection";
  database: string;
  name: string;
  action: string;
}

/** The gateway's own admin API. */
export interface AdminResource {
  kind: "admin";
  name: string;
  action: string;
}

/** A short label for logs and span attributes, e.g. `model:demo-chat`. */
export function resourceLabel(resource: Resource): string {
  switch (resource.kind) {
    case "model":
    case "admin":
      return `${resource.kind}:${resource.name}`;
    case "tool":
    case "resource":
    case "prompt":
      return `${resource.kind}:${resource.server}/${resource.name}`;
    case "collection":
      return `${resource.kind}:${resource.database}/${resource.name}`;
    default:
      return assertNever(resource);
  }
}

export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
