import { isObject, type JsonObject } from "./json-rpc.ts";
import type { McpItemKind } from "./classify.ts";
import type { ItemDecider } from "./mcp-authorization.ts";

/**
 * The list fields of MCP results, the kind of item each holds, the field naming an item, and the
 * action that must be allowed for the item to be shown: an item is listed exactly when the caller may
 * use it, so a list never shows what a call by name would be refused.
 */
const listFields: ReadonlyArray<{ field: string; kind: McpItemKind; nameField: string; action: string }> = [
  { field: "tools", kind: "tool", nameField: "name", action: "call" },
  { field: "prompts", kind: "prompt", nameField: "name", action: "get" },
  { field: "resources", kind: "resource", nameField: "uri", action: "read" },
  { field: "resourceTemplates", kind: "resource", nameField: "uriTemplate", action: "read" },
];

/**
 * Quick test on the raw JSON text of a result before parsing it: a list field appears as a key. A
 * tool's output that merely mentions the word holds it escaped (`\"tools\"`), so it does not match,
 * and a false positive costs only a parse.
 */
export function mayHoldList(text: string): boolean {
  return text.includes('"tools"') || text.includes('"prompts"') || text.includes('"resources"') || text.includes('"resourceTemplates"');
}

/**
 * Removes from a result every listed item the caller may not use, in place; returns whether the
 * result held a list. Judged by the result's shape rather than by the request's method, so a list
 * replayed on a resumed stream (GET with Last-Event-ID), where the gateway no longer knows which
 * request it answers, is filtered too. Pages are filtered one by one and `nextCursor` is left as the
 * server made it, so every page of a paginated list is filtered. An item without a usable name is
 * dropped: nothing could decide on it.
 *
 * A filtered list depends on who asked, so a 2026-07-28 `cacheScope: "public"` becomes "private":
 * no shared cache may hand one caller's list to another.
 */
export function filterListResult(result: JsonObject, decide: ItemDecider): boolean {
  let held = false;
  for (const { field, kind, nameField, action } of listFields) {
    const items = result[field];
    if (!Array.isArray(items)) continue;
    held = true;
    result[field] = items.filter((item: unknown) => {
      if (!isObject(item)) return false;
      const name = item[nameField];
      return typeof name === "string" && name !== "" && decide(kind, name, action).allow;
    });
  }
  if (held && result.cacheScope === "public") result.cacheScope = "private";
  return held;
}
