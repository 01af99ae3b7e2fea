/**
 * Errors of the simulated providers, written in each provider's own wire format.
 *
 * These are not Tollgate's errors (no TG_ERR_* code): the demo provider plays OpenAI and Anthropic,
 * so its errors carry their codes (`model_not_found`, `invalid_api_key`, `not_found_error`, ...)
 * and reach the gateway exactly as a real upstream's would.
 */

/** Which provider a request speaks to: Anthropic's Messages API or everything OpenAI. */
export type ProviderFamily = "openai" | "anthropic";

export interface ProviderErrorOptions {
  /** OpenAI's `param`: the request field the error is about. */
  param?: string | null;
  /** OpenAI's `code`, e.g. `model_not_found`. */
  code?: string | null;
  /** OpenAI's `type`, when the status alone does not decide it. */
  openAiType?: string;
  /** Anthropic's `error.type`, when the status alone does not decide it. */
  anthropicType?: string;
}

export class ProviderError extends Error {
  readonly status: number;
  readonly param: string | null;
  readonly code: string | null;
  readonly openAiType: string;
  readonly anthropicType: string;

  constructor(status: number, message: string, options: ProviderErrorOptions = {}) {
    super(message);
    this.name = "ProviderError";
    this.status = status;
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.openAiType = options.openAiType ?? openAiTypeFor(status);
    this.anthropicType = options.anthropicType ?? anthropicTypeFor(status);
  }
}

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface AnthropicErrorBody {
  type: "error";
  error: { type: string; message: string };
  request_id: string;
}

/** The body the provider of `family` answers `error` with. */
export function providerErrorBody(
  family: ProviderFamily,
  error: ProviderError,
  requestId: string,
): OpenAiErrorBody | AnthropicErrorBody {
  if (family === "anthropic") {
    return { type: "error", error: { type: error.anthropicType, message: error.message }, request_id: requestId };
  }
  return { error: { message: error.message, type: error.openAiType, param: error.param, code: error.code } };
}

/**
 * Turns anything thrown while handling a request into a ProviderError. Fastify's and multipart's own
 * client errors (malformed JSON, wrong content type, body or file too large) keep their 4xx status;
 * anything else is a bug in the demo provider and becomes a 500 like a real provider's.
 */
export function asProviderError(error: unknown): ProviderError {
  if (error instanceof ProviderError) return error;
  const status = clientErrorStatus(error);
  if (status === undefined) {
    return new ProviderError(500, "The server had an error while processing your request. Sorry about that!");
  }
  const detail = error instanceof Error ? error.message : "the request is malformed";
  if (isJsonSyntaxError(error)) {
    return new ProviderError(400, `We could not parse the JSON body of your request: ${detail}`);
  }
  return new ProviderError(status, detail);
}

/** The message a fault answers with when the test gives no body of its own. */
export function faultMessage(status: number): string {
  if (status === 429) return "Rate limit reached (injected by the demo provider). Please try again later.";
  if (status === 503 || status === 529) return "The server is overloaded (injected by the demo provider).";
  if (status >= 500) return "The server had an error while processing your request (injected by the demo provider).";
  return `The demo provider was told to answer ${status}.`;
}

function clientErrorStatus(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { statusCode } = error as { statusCode?: unknown };
  return typeof statusCode === "number" && statusCode >= 400 && statusCode < 500 ? statusCode : undefined;
}

function isJsonSyntaxError(error: unknown): boolean {
  if (error instanceof SyntaxError) return true;
  const { code } = error as { code?: unknown };
  return code === "FST_ERR_CTP_INVALID_JSON_BODY" || code === "FST_ERR_CTP_EMPTY_JSON_BODY";
}

function openAiTypeFor(status: number): string {
  if (status === 429) return "requests";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

function anthropicTypeFor(status: number): string {
  switch (status) {
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}
