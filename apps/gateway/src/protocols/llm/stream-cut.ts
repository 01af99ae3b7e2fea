import type { LlmApi } from "../../config/schema.ts";

/**
 * What a stream cut off by the budget hard stop ends with, so the caller's SDK sees a complete
 * stream that stopped for length (as if the provider had hit max_tokens), not a broken connection.
 */
export function streamEnding(api: LlmApi): string {
  switch (api) {
    case "chat":
      return `data: ${JSON.stringify({ object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "length" }] })}\n\ndata: [DONE]\n\n`;
    case "messages":
      return (
        `event: message_delta\ndata: ${JSON.stringify({ type: "message_delta", delta: { stop_reason: "max_tokens", stop_sequence: null }, usage: {} })}\n\n` +
        `event: message_stop\ndata: ${JSON.stringify({ type: "message_stop" })}\n\n`
      );
    case "responses":
      return `event: response.incomplete\ndata: ${JSON.stringify({ type: "response.incomplete", response: { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } } })}\n\n`;
    default:
      return "";
  }
}
