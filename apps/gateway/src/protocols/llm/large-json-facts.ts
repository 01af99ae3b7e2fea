import type { LlmApi } from "../../config/schema.ts";
import { factsFromJson, type ResponseFacts } from "./usage.ts";

/**
 * Facts from a JSON response too large to keep whole (a batch of embeddings can be a hundred
 * megabytes): read from its first and last bytes only. The providers put `id` and `model` first and
 * `usage` last (embeddings: `model` and `usage` after the data), so the head and the tail hold them.
 *
 * Keys are found in the raw text: inside a JSON string a quote is always escaped, so `"usage":` can
 * only be a key. The usage object itself is cut out by matching braces and parsed.
 */
export function factsFromHeadAndTail(api: LlmApi, head: string, tail: string): ResponseFacts {
  const partial: Record<string, unknown> = {};
  const id = firstString(head, "id");
  if (id !== undefined) partial.id = id;
  const model = lastString(tail, "model") ?? firstString(head, "model");
  if (model !== undefined) partial.model = model;
  const usage = lastObject(tail, "usage");
  if (usage !== undefined) partial.usage = usage;
  const stop = api === "messages" ? lastString(tail, "stop_reason") : undefined;
  if (stop !== undefined) partial.stop_reason = stop;
  return factsFromJson(api, partial);
}

function keyPattern(key: string, value: string): RegExp {
  return new RegExp(`"${key}"\\s*:\\s*${value}`, "g");
}

function firstString(text: string, key: string): string | undefined {
  const match = keyPattern(key, String.raw`"((?:[^"\\]|\\.)*)"`).exec(text);
  return match === null ? undefined : decodeJsonString(match[1] ?? "");
}

function lastString(text: string, key: string): string | undefined {
  let last: string | undefined;
  for (const match of text.matchAll(keyPattern(key, String.raw`"((?:[^"\\]|\\.)*)"`))) last = match[1];
  return last === undefined ? undefined : decodeJsonString(last);
}

/** The object value of the last `"key": {` in the text, if it is complete there. */
function lastObject(text: string, key: string): unknown {
  let start = -1;
  for (const match of text.matchAll(keyPattern(key, "\\{"))) start = match.index + match[0].length - 1;
  if (start === -1) return undefined;
  const end = matchingBrace(text, start);
  if (end === -1) return undefined;
  try {
    return JSON.parse(text.slice(start, end + 1));
  } catch {
    return undefined;
  }
}

/** The index of the brace that closes the one at `open`, skipping strings; -1 when the text ends first. */
function matchingBrace(text: string, open: number): number {
  let depth = 0;
  let inString = false;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === "{") {
      depth++;
    } else if (c === "}") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function decodeJsonString(raw: string): string | undefined {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return undefined;
  }
}
