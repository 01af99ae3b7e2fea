import type { Tracer } from "@opentelemetry/api";
import type { Provider } from "../../upstream/provider.ts";
import type { ModelRoutes } from "../../upstream/model-routes.ts";
import type { UpstreamClient } from "../../upstream/upstream-client.ts";

/** What the LLM protocol module is built from at start; nothing in it changes per request. */
export interface LlmContext {
  /** The SPIFFE ID policies see as `input.target` for LLM requests. */
  target: string;
  routes: ModelRoutes;
  /** Where files, fine-tuning jobs and batches go; undefined when no provider serves them. */
  accountProvider: Provider | undefined;
  client: UpstreamClient;
  tracer: Tracer;
  bodyLimit: number;
  uploadLimit: number;
  /** How long account-level calls (uploads, file downloads) may take to answer. */
  accountTimeoutMs: number;
}
