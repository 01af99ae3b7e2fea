import { TollgateError } from "../errors/tollgate-error.ts";

/** Why an attempt produced no usable response: decides whether to retry and what the caller is told. */
export type FailureKind = "timeout" | "connection" | "aborted";

const timeoutCodes = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "ETIMEDOUT"]);

/**
 * The upstream could not be reached, cut the connection, or answered something that is not HTTP:
 * all the provider's fault, never the caller's, so a 502 (and worth another attempt) rather than a 500.
 */
const connectionCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_DESTROYED",
  "UND_ERR_HEADERS_OVERFLOW",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
  "UND_ERR_RES_EXCEEDED_MAX_SIZE",
  "UND_ERR_INFO",
]);

/** llhttp's parse errors (HPE_*), TLS and certificate failures towards the provider. */
const connectionCodePrefixes = ["HPE_", "ERR_TLS_", "ERR_SSL_", "CERT_", "UNABLE_TO_", "DEPTH_ZERO_", "SELF_SIGNED_", "ERR_HTTP2_"];

/**
 * Classifies what an upstream attempt threw; undefined means it is none of these (a gateway bug, or
 * an error of the caller's own body such as an upload cut off at the limit) and must be passed on.
 */
export function classifyFailure(error: unknown, signal: AbortSignal): FailureKind | undefined {
  if (signal.aborted) return "aborted";
  return classifyCause(error, 0);
}

function classifyCause(error: unknown, depth: number): FailureKind | undefined {
  if (error === null || typeof error !== "object" || depth > 4) return undefined;
  const { code, syscall, cause } = error as { code?: unknown; syscall?: unknown; cause?: unknown };
  if (typeof code === "string") {
    if (timeoutCodes.has(code)) return "timeout";
    if (connectionCodes.has(code) || connectionCodePrefixes.some((prefix) => code.startsWith(prefix))) return "connection";
    // Any other system error on the socket (it names the syscall that failed) is a network failure too.
    if (typeof syscall === "string") return "connection";
  }
  return cause !== undefined && cause !== error ? classifyCause(cause, depth + 1) : undefined;
}

/** The caller-facing error once every deployment failed without an HTTP answer. */
export function failureError(kind: FailureKind, provider: string, attempts: number, cause: unknown): TollgateError {
  const tried = `last tried: ${provider}, ${attempts} attempt${attempts === 1 ? "" : "s"}`;
  if (kind === "timeout") {
    return new TollgateError("TG_ERR_UPSTREAM_TIMEOUT", `The upstream provider did not answer in time (${tried}).`, {
      reason: "upstream.timeout",
      cause,
    });
  }
  if (kind === "aborted") {
    return new TollgateError("TG_ERR_UPSTREAM_FAILED", `The request was abandoned by the caller before the provider answered (${tried}).`, {
      reason: "upstream.aborted",
      cause,
    });
  }
  return new TollgateError("TG_ERR_UPSTREAM_FAILED", `The upstream provider could not be reached (${tried}).`, {
    reason: "upstream.connection",
    cause,
  });
}
