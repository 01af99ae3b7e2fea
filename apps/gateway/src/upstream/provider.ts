import type { LlmApi, ProviderType } from "../config/schema.ts";
import { SecretScrubber } from "./secret-scrubber.ts";

/** Where and how to send one request to a provider. */
export interface UpstreamTarget {
  /** scheme://host:port */
  origin: string;
  /** Path and query. */
  path: string;
  /** The provider's credentials and fixed headers; the caller's never appear here. */
  headers: Record<string, string>;
}

export interface TargetRequest {
  api: LlmApi;
  /** The client's path below its `/v1`, e.g. `/chat/completions` or `/files/file-abc/content`. */
  subpath: string;
  /** The client's query string, including its `?`, or "". */
  search: string;
  /** The model's name at this provider (Azure: the deployment), when the request names one. */
  model: string | undefined;
}

/**
 * One configured provider: which client APIs it serves natively, and how to address a request to it.
 * Adding a provider type means adding one small file that implements this; nothing else changes.
 */
export interface Provider {
  /** The name under llm.providers. */
  readonly name: string;
  readonly type: ProviderType;
  /** gen_ai.provider.name of OpenTelemetry's GenAI semantic conventions. */
  readonly genAiName: string;
  serves(api: LlmApi): boolean;
  target(request: TargetRequest): UpstreamTarget;
  /** Removes this provider's keys and internal hosts from its error texts before a caller sees them. */
  readonly scrubber: SecretScrubber;
}

/** Splits a base URL into origin and path prefix without a trailing slash. */
export function splitBaseUrl(baseUrl: string): { origin: string; prefix: string } {
  const url = new URL(baseUrl);
  return { origin: url.origin, prefix: url.pathname.replace(/\/+$/, "") };
}

/**
 * The scrubber of a provider: its key, and where it lives when that is not a public provider's host
 * (an internal vLLM, a private Azure resource): the base URL, the origin, host:port and host name.
 */
export function providerScrubber(apiKey: string | undefined, baseUrl: string, publicHosts: readonly string[]): SecretScrubber {
  const keys = apiKey !== undefined && apiKey.length > 0 ? [apiKey] : [];
  const url = new URL(baseUrl);
  const hosts = publicHosts.includes(url.hostname) ? [] : [baseUrl.replace(/\/+$/, ""), url.origin, url.host, url.hostname.replace(/^\[|\]$/g, "")];
  return new SecretScrubber({ keys, hosts });
}
