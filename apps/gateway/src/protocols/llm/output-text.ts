import type { LlmApi } from "../../config/schema.ts";

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined);

/**
 * The generated text one streamed event carries, per client API: content, tool-call arguments and
 * reasoning text, which providers all count as output tokens. "" for events that carry none.
 */
export function outputTextOf(api: LlmApi, event: string | undefined, data: string): string {
  if (data === "[DONE]" || data === "") return "";
  let json: Json | undefined;
  try {
    json = obj(JSON.parse(data));
  } catch {
    return "";
  }
  if (json === undefined) return "";
  switch (api) {
    case "chat": {
      let text = "";
      for (const choice of Array.isArray(json.choices) ? json.choices : []) {
        const delta = obj(obj(choice)?.delta);
        if (delta === undefined) continue;
        if (typeof delta.content === "string") text += delta.content;
        if (typeof delta.reasoning_content === "string") text += delta.reasoning_content;
        for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
          const args = obj(obj(call)?.function)?.arguments;
          if (typeof args === "string") text += args;
        }
      }
      return text;
    }
    case "responses":
      return typeof json.delta === "string" && (event ?? String(json.type)).endsWith(".delta") ? json.delta : "";
    case "messages": {
      const delta = obj(json.delta);
      if (delta === undefined || (event ?? json.type) !== "content_block_delta") return "";
      for (const field of ["text", "partial_json", "thinking"]) if (typeof delta[field] === "string") return delta[field] as string;
      return "";
    }
    default:
      return "";
  }
}
