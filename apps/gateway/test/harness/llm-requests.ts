/** Small request helpers for the LLM path's end-to-end tests. */
import type { Harness } from "./gateway-harness.ts";

export const chat = (content: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: "demo-chat", messages: [{ role: "user", content }], ...extra });
export const post = (h: Harness, identity: Parameters<Harness["fetch"]>[0], path: string, body: string) =>
  h.fetch(identity, path, { method: "POST", headers: { "content-type": "application/json" }, body });

/** Parses an SSE body into its data payloads (JSON where it is JSON). */
export function sseData(text: string): unknown[] {
  return text
    .split(/\n\n/)
    .map((block) => /^data: ?(.*)$/m.exec(block)?.[1])
    .filter((data): data is string => data !== undefined)
    .map((data) => (data === "[DONE]" ? data : JSON.parse(data)));
}

