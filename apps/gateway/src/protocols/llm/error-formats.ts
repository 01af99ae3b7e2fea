import type { ErrorClass } from "../../errors/catalogue.ts";
import type { TollgateError } from "../../errors/tollgate-error.ts";

export type ErrorFormat = "openai" | "anthropic";

const openaiTypes: Record<ErrorClass, string> = {
  invalid_request: "invalid_request_error",
  authentication: "authentication_error",
  permission: "permission_error",
  not_found: "not_found_error",
  payload_too_large: "invalid_request_error",
  rate_limit: "rate_limit_error",
  upstream: "server_error",
  timeout: "server_error",
  unavailable: "server_error",
  internal: "server_error",
};

const anthropicTypes: Record<ErrorClass, string> = {
  invalid_request: "invalid_request_error",
  authentication: "authentication_error",
  permission: "permission_error",
  not_found: "not_found_error",
  payload_too_large: "request_too_large",
  rate_limit: "rate_limit_error",
  upstream: "api_error",
  timeout: "timeout_error",
  unavailable: "overloaded_error",
  internal: "api_error",
};

/**
 * A gateway error in the wire format the caller's SDK parses: OpenAI's `{"error": {message, type,
 * param, code}}` or Anthropic's `{"type": "error", "error": {type, message}}`. The policy's reasons
 * travel as an extra `reasons` list, which both SDKs expose on their error objects.
 */
export function errorBody(format: ErrorFormat, error: TollgateError, requestId: string): Record<string, unknown> {
  const reasons = error.reasons.length > 0 ? { reasons: error.reasons } : {};
  if (format === "anthropic") {
    return {
      type: "error",
      error: { type: anthropicTypes[error.class], message: error.message, code: error.code, ...reasons },
      request_id: requestId,
    };
  }
  return {
    error: {
      message: error.message,
      type: openaiTypes[error.class],
      param: error.param ?? null,
      code: error.code,
      ...reasons,
    },
  };
}
