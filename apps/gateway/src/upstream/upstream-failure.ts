import { TollgateError } from "../errors/tollgate-error.ts";

/** Why an attempt produced no response: decides whether to retry and what the caller is told. */
export type FailureKind = "timeout" | "connection" | "aborted";

const timeoutCodes = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "ETIMEDOUT"]);
const connectionCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
]);

export function classifyFailure(error: unknown, signal: AbortSignal): FailureKind | undefined {
  if (signal.aborted) return "aborted";
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") {
    if (timeoutCodes.has(code)) return "timeout";
    if (connectionCodes.has(code)) return "connection";
  }
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause !== undefined && cause !== error ? classifyFailure(cause, signal) : undefined;
}

/** The caller-facing error once every deployment failed without an HTTP answer. */
export function failureError(kind: FailureKind, provider: string, attempts: number, cause: unknown): TollgateError {
  if (kind === "timeout") {
    return new TollgateError(
      "TG_ERR_UPSTREAM_TIMEOUT",
      `The upstream provider did not answer in time (last tried: ${provider}, ${attempts} attempt${attempts === 1 ? "" : "s"}).`,
      { reason: "upstream.timeout", cause },
    );
  }
  return new TollgateError(
    "TG_ERR_UPSTREAM_FAILED",
    `The upstream provider could not be reached (last tried: ${provider}, ${attempts} attempt${attempts === 1 ? "" : "s"}).`,
    { reason: kind === "aborted" ? "upstream.aborted" : "upstream.connection", cause },
  );
}
