/**
 * What the demo "model" reads from a conversation: the text of the last user message (which the
 * reply quotes) and the number of prompt tokens (which usage reports). Both OpenAI's and Anthropic's
 * message shapes are read here: content is a string or an array of parts with a `text` field.
 */
import { countTextTokens } from "./demo-text.ts";
import { isJsonObject } from "./request-fields.ts";

/**
 * Tokens OpenAI's chat format adds around each message and to prime the reply (from OpenAI's
 * cookbook on counting tokens); used for every family so counts stay comparable.
 */
const tokensPerMessage = 3;
const tokensPerName = 1;
const replyPrimingTokens = 3;

/** The text of one message's content: a string, or the `text` of each part, joined. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let text = "";
  for (const part of content) {
    if (typeof part === "string") text += part;
    else if (isJsonObject(part) && typeof part["text"] === "string") text += part["text"];
  }
  return text;
}

/** The text of the last message whose role is `user`, or "" when there is none. */
export function lastUserText(messages: readonly unknown[]): string {
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index];
    if (isJsonObject(message) && message["role"] === "user") return contentText(message["content"]);
  }
  return "";
}

/** Prompt tokens of a conversation, plus an optional system prompt given outside of it. */
export function conversationTokens(messages: readonly unknown[], system?: string): number {
  let tokens = replyPrimingTokens;
  if (system !== undefined && system.length > 0) tokens += tokensPerMessage + countTextTokens(system);
  for (const message of messages) {
    tokens += tokensPerMessage;
    if (!isJsonObject(message)) continue;
    const role = message["role"];
    if (typeof role === "string") tokens += countTextTokens(role);
    tokens += countTextTokens(contentText(message["content"]));
    if (typeof message["name"] === "string") tokens += tokensPerName + countTextTokens(message["name"]);
  }
  return tokens;
}
