import type { LlmApi } from "../../config/schema.ts";
import type { PromptParts } from "../../budget/token-counter.ts";

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined);

/**
 * What of a request body the model reads as input, per client API: the texts to count with a
 * tokenizer, how many messages (each costs a few tokens of framing), how many images (counted at a
 * fixed, conservative rate) and tokens given already as token ids. Anything the gateway does not
 * recognise is counted as its JSON text, which over-counts rather than under-counts.
 */
export function promptParts(api: LlmApi, json: Json): PromptParts {
  const parts: PromptParts = { texts: [], messages: 0, images: 0, tokens: 0 };
  switch (api) {
    case "chat":
      for (const message of arrayOf(json.messages)) {
        parts.messages++;
        const m = obj(message);
        if (m === undefined) continue;
        addContent(parts, m.content);
        if (typeof m.name === "string") parts.texts.push(m.name);
        if (m.tool_calls !== undefined) parts.texts.push(JSON.stringify(m.tool_calls));
      }
      addJson(parts, json.tools);
      addJson(parts, json.functions);
      addJson(parts, obj(json.response_format)?.json_schema);
      break;
    case "responses":
      if (typeof json.instructions === "string") parts.texts.push(json.instructions);
      if (typeof json.input === "string") {
        parts.messages++;
        parts.texts.push(json.input);
      } else {
        for (const item of arrayOf(json.input)) {
          parts.messages++;
          const i = obj(item);
          if (i === undefined) continue;
          if (i.content !== undefined) addContent(parts, i.content);
          else if (typeof i.output === "string") parts.texts.push(i.output);
          else if (typeof i.arguments === "string") parts.texts.push(i.arguments);
          else parts.texts.push(JSON.stringify(i));
        }
      }
      addJson(parts, json.tools);
      break;
    case "messages":
      addContent(parts, json.system);
      for (const message of arrayOf(json.messages)) {
        parts.messages++;
        addContent(parts, obj(message)?.content);
      }
      addJson(parts, json.tools);
      break;
    case "embeddings": {
      const input = json.input;
      if (typeof input === "string") parts.texts.push(input);
      else if (Array.isArray(input)) {
        for (const item of input) {
          if (typeof item === "string") parts.texts.push(item);
          else if (typeof item === "number") parts.tokens++;
          else if (Array.isArray(item)) parts.tokens += item.length;
        }
      }
      break;
    }
    default:
      break;
  }
  return parts;
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function addJson(parts: PromptParts, value: unknown): void {
  if (value !== undefined && value !== null) parts.texts.push(JSON.stringify(value));
}

/** A message's content: a string, or parts/blocks (text, images, tool use and results, files). */
function addContent(parts: PromptParts, content: unknown): void {
  if (typeof content === "string") {
    parts.texts.push(content);
    return;
  }
  for (const piece of arrayOf(content)) {
    const p = obj(piece);
    if (p === undefined) continue;
    const type = typeof p.type === "string" ? p.type : "";
    if (typeof p.text === "string") parts.texts.push(p.text);
    else if (type === "image_url" || type === "input_image" || type === "image") parts.images++;
    else if (type === "tool_use") addJson(parts, p.input);
    else if (type === "tool_result") addContent(parts, p.content);
    else parts.texts.push(JSON.stringify(p));
  }
}
