import type { TollgateError } from "../../errors/tollgate-error.ts";

/** The admin API's error body: the code, the message written for the operator, the policy's reasons. */
export interface AdminErrorBody {
  error: { code: string; message: string; reasons?: readonly string[] };
  request_id: string;
}

export function adminErrorBody(error: TollgateError, requestId: string): AdminErrorBody {
  return {
    error: { code: error.code, message: error.message, ...(error.reasons.length > 0 ? { reasons: error.reasons } : {}) },
    request_id: requestId,
  };
}
