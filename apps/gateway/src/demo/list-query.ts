/** The query of OpenAI's cursor-paginated list endpoints: `after`, `limit` and sometimes `order`. */
import type { Page } from "./bounded-collection.ts";
import { isJsonObject, openAiFields } from "./request-fields.ts";

export interface ListQuery {
  readonly after: string | undefined;
  readonly limit: number;
  readonly order: "asc" | "desc";
}

/** Reads `after`, `limit` (1..maxLimit) and `order` from a parsed query string. */
export function readListQuery(query: unknown, defaultLimit: number, maxLimit: number): ListQuery {
  const fields = isJsonObject(query) ? query : {};
  const after = single(fields["after"]);
  const limitText = single(fields["limit"]);
  const order = single(fields["order"]) ?? "desc";
  let limit = defaultLimit;
  if (limitText !== undefined) {
    limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) {
      throw openAiFields.invalid("limit", `expected an integer between 1 and ${maxLimit}, but got '${limitText}'.`);
    }
  }
  if (order !== "asc" && order !== "desc") {
    throw openAiFields.invalid("order", `expected 'asc' or 'desc', but got '${order}'.`);
  }
  return { after, limit, order };
}

/** One parameter of a parsed query string. */
export function queryParameter(query: unknown, name: string): string | undefined {
  return isJsonObject(query) ? single(query[name]) : undefined;
}

/** A query parameter given once; repeated parameters keep their first value. */
function single(value: unknown): string | undefined {
  if (Array.isArray(value)) return single(value[0]);
  return typeof value === "string" ? value : undefined;
}

/** The list envelope OpenAI wraps pages in. */
export function listBody<T extends { readonly id: string }, R>(page: Page<T>, present: (item: T) => R): unknown {
  return {
    object: "list",
    data: page.data.map(present),
    first_id: page.data[0]?.id ?? null,
    last_id: page.data.at(-1)?.id ?? null,
    has_more: page.hasMore,
  };
}

/** A cursor that names nothing: the caller paged past a deleted or unknown object. */
export function unknownCursor(after: string | undefined): Error {
  return openAiFields.invalid("after", `no object with id '${after ?? ""}' to list after.`);
}
