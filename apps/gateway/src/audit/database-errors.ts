/**
 * Whether a database error means "PostgreSQL is not there" (spool the rows and try again later) or
 * "PostgreSQL refused these rows" (a bug or a schema problem: retrying the same rows cannot help).
 */
export function isUnavailable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code)) return true; // a socket error: ECONNREFUSED, ECONNRESET, a timeout...
  // SQLSTATE classes that say nothing about the rows themselves: connection (08), resources (53),
  // operator intervention such as a shutdown (57), system errors (58), transaction rollbacks (40),
  // and a statement cancelled by statement_timeout (57014, class 57).
  return /^(08|53|57|58|40|XX)/.test(code) || code === "55P03" || code === "55006";
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
