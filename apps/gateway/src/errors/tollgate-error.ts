import { catalogue, type ErrorClass, type ErrorCode } from "./catalogue.ts";

export interface TollgateErrorOptions {
  /** A short machine-readable reason recorded in the audit trail, e.g. `x509svid.uri_san_count`. */
  reason?: string;
  /** Reasons given by the policy; shown to the caller and audited. */
  reasons?: readonly string[];
  /** The request field the error is about (OpenAI's `param`). */
  param?: string;
  /** Extra response headers, e.g. `retry-after`. */
  headers?: Record<string, string>;
  /** Overrides the catalogue's status (an upstream's own 4xx passed on, for example). */
  status?: number;
  cause?: unknown;
}

/**
 * An error whose message is written for the caller. Anything thrown that is not a TollgateError is
 * a bug: it is logged with its stack and the caller gets a generic TG_ERR_INTERNAL message.
 */
export class TollgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly class: ErrorClass;
  readonly reason: string;
  readonly reasons: readonly string[];
  readonly param: string | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, options: TollgateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TollgateError";
    this.code = code;
    this.status = options.status ?? catalogue[code].status;
    this.class = catalogue[code].class;
    this.reason = options.reason ?? code.toLowerCase();
    this.reasons = options.reasons ?? [];
    this.param = options.param;
    this.headers = options.headers;
  }
}

/** Turns anything thrown into a TollgateError, hiding details of errors that are not ours. */
export function asTollgateError(error: unknown): TollgateError {
  if (error instanceof TollgateError) return error;
  const fastifyStatus = fastifyClientErrorStatus(error);
  if (fastifyStatus === 413) {
    return new TollgateError("TG_ERR_BODY_TOO_LARGE", "The request body is larger than this gateway accepts.", {
      cause: error,
    });
  }
  if (fastifyStatus !== undefined) {
    const message = error instanceof Error ? error.message : "The request is malformed.";
    return new TollgateError("TG_ERR_BAD_REQUEST", message, { cause: error, status: fastifyStatus });
  }
  return new TollgateError("TG_ERR_INTERNAL", "The gateway failed to handle this request.", { cause: error });
}

/** Fastify's own client errors (bad JSON, wrong content type, body too large) carry a 4xx statusCode. */
function fastifyClientErrorStatus(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
  if (typeof code !== "string" || !code.startsWith("FST_")) return undefined;
  return typeof statusCode === "number" && statusCode >= 400 && statusCode < 500 ? statusCode : undefined;
}
