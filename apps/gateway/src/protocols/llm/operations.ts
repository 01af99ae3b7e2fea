import type { LlmApi } from "../../config/schema.ts";
import type { ModelAction } from "../../gate/resource.ts";

/**
 * Every LLM operation the gateway classifies. A request that matches none of these is not forwarded:
 * no policy could have allowed something the gateway does not understand.
 *
 * - `routing`: "model" operations go to the deployments of the model named in the body; "account"
 *   operations (files, fine-tuning, batches) to the configured account provider.
 * - `body`: "json" bodies are parsed (the gateway reads a few fields and forwards the bytes), "upload"
 *   bodies (multipart file uploads) are streamed through unparsed, "none" operations take no body.
 * - `errors`: whose error format the caller expects.
 */
export interface LlmOperation {
  method: "GET" | "POST" | "DELETE";
  /** Fastify route, under /v1. */
  url: string;
  api: LlmApi;
  action: ModelAction;
  routing: "model" | "account" | "catalogue";
  body: "json" | "upload" | "none";
  errors: "openai" | "anthropic";
  /** Whether the response may be an SSE stream (the body's `stream: true`). */
  streams?: boolean;
  /** For account operations that name a model in their body (fine-tuning's base model). */
  modelField?: string;
}

const openai = "openai" as const;

export const llmOperations: readonly LlmOperation[] = [
  { method: "POST", url: "/v1/chat/completions", api: "chat", action: "chat", routing: "model", body: "json", errors: openai, streams: true },
  { method: "POST", url: "/v1/responses", api: "responses", action: "chat", routing: "model", body: "json", errors: openai, streams: true },
  { method: "POST", url: "/v1/embeddings", api: "embeddings", action: "embed", routing: "model", body: "json", errors: openai },
  { method: "POST", url: "/v1/messages", api: "messages", action: "chat", routing: "model", body: "json", errors: "anthropic", streams: true },
  { method: "GET", url: "/v1/models", api: "models", action: "list", routing: "catalogue", body: "none", errors: openai },
  { method: "GET", url: "/v1/models/:model", api: "models", action: "list", routing: "catalogue", body: "none", errors: openai },

  { method: "POST", url: "/v1/files", api: "files", action: "file.upload", routing: "account", body: "upload", errors: openai },
  { method: "GET", url: "/v1/files", api: "files", action: "file.list", routing: "account", body: "none", errors: openai },
  { method: "GET", url: "/v1/files/:id", api: "files", action: "file.read", routing: "account", body: "none", errors: openai },
  { method: "GET", url: "/v1/files/:id/content", api: "files", action: "file.read", routing: "account", body: "none", errors: openai },
  { method: "DELETE", url: "/v1/files/:id", api: "files", action: "file.delete", routing: "account", body: "none", errors: openai },

  { method: "POST", url: "/v1/fine_tuning/jobs", api: "fine_tuning", action: "fine_tune.create", routing: "account", body: "json", errors: openai, modelField: "model" },
  { method: "GET", url: "/v1/fine_tuning/jobs", api: "fine_tuning", action: "fine_tune.list", routing: "account", body: "none", errors: openai },
  { method: "GET", url: "/v1/fine_tuning/jobs/:id", api: "fine_tuning", action: "fine_tune.read", routing: "account", body: "none", errors: openai },
  { method: "GET", url: "/v1/fine_tuning/jobs/:id/events", api: "fine_tuning", action: "fine_tune.read", routing: "account", body: "none", errors: openai },
  { method: "GET", url: "/v1/fine_tuning/jobs/:id/checkpoints", api: "fine_tuning", action: "fine_tune.read", routing: "account", body: "none", errors: openai },
  { method: "POST", url: "/v1/fine_tuning/jobs/:id/cancel", api: "fine_tuning", action: "fine_tune.cancel", routing: "account", body: "none", errors: openai },
  { method: "POST", url: "/v1/fine_tuning/jobs/:id/pause", api: "fine_tuning", action: "fine_tune.cancel", routing: "account", body: "none", errors: openai },
  { method: "POST", url: "/v1/fine_tuning/jobs/:id/resume", api: "fine_tuning", action: "fine_tune.create", routing: "account", body: "none", errors: openai },

  { method: "POST", url: "/v1/batches", api: "batches", action: "batch.create", routing: "account", body: "json", errors: openai },
  { method: "GET", url: "/v1/batches", api: "batches", action: "batch.list", routing: "account", body: "none", errors: openai },
  { method: "GET", url: "/v1/batches/:id", api: "batches", action: "batch.read", routing: "account", body: "none", errors: openai },
  { method: "POST", url: "/v1/batches/:id/cancel", api: "batches", action: "batch.cancel", routing: "account", body: "none", errors: openai },
];
