import type { LlmApi, ProviderType } from "../config/schema.ts";

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
  /** Strings that must never reach a caller (keys, internal hosts), for scrubbing upstream errors. */
  readonly secrets: readonly string[];
}

/** Splits a base URL into origin and path prefix without a trailing slash. */
export function splitBaseUrl(baseUrl: string): { origin: string; prefix: string } {
  const url = new URL(baseUrl);
  return { origin: url.origin, prefix: url.pathname.replace(/\/+$/, "") };
}

/** The secrets of a provider: its key, and its host when that is not a public provider's. */
export function providerSecrets(apiKey: string | undefined, baseUrl: string, publicHosts: readonly string[]): string[] {
  const secrets: string[] = [];
  if (apiKey !== undefined && apiKey.length > 0) secrets.push(apiKey);
  const url = new URL(baseUrl);
  if (!publicHosts.includes(url.hostname)) secrets.push(url.origin, url.host);
  return secrets;
}
