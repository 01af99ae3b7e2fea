/**
 * Anthropic's Messages API: POST /v1/messages, as JSON or as Anthropic's event stream
 * (message_start, content_block_start, ping, content_block_delta..., content_block_stop,
 * message_delta, message_stop), every event with its `event:` line; and
 * POST /v1/messages/count_tokens, which counts a request's input tokens the same way.
 */
import type { FastifyInstance } from "fastify";
import { contentText, conversationTokens, lastUserText } from "./conversation-text.ts";
import type { IdSource } from "./demo-ids.ts";
import { requireModel } from "./demo-models.ts";
import { planReply, type ReplyPlan } from "./demo-text.ts";
import { anthropicFields, isJsonObject, type JsonObject } from "./request-fields.ts";
import { sendEventStream, sendJson, sseEvent } from "./response-writer.ts";

interface MessageDraft {
  readonly id: string;
  readonly model: string;
  readonly plan: ReplyPlan;
  readonly inputTokens: number;
}

export function anthropicMessagesRoutes(app: FastifyInstance, ids: IdSource): void {
  app.post("/v1/messages", async (request, reply) => {
    const body = anthropicFields.body(request.body);
    const modelId = anthropicFields.requiredString(body, "model");
    const maxTokens = anthropicFields.requiredInteger(body, "max_tokens", 1);
    const messages = anthropicFields.requiredArray(body, "messages");
    validateMessages(messages);
    const system = systemText(body["system"]);
    const stream = anthropicFields.optionalBoolean(body, "stream") ?? false;
    const model = requireModel(modelId, "chat", "anthropic");

    const draft: MessageDraft = {
      id: ids.next("msg_"),
      model: model.id,
      plan: planReply(model.id, lastUserText(messages), maxTokens),
      inputTokens: conversationTokens(messages, system),
    };
    if (!stream) return sendJson(request, reply, messageObject(draft));
    return sendEventStream(request, reply, messageEvents(draft));
  });

  app.post("/v1/messages/count_tokens", async (request, reply) => {
    const body = anthropicFields.body(request.body);
    requireModel(anthropicFields.requiredString(body, "model"), "chat", "anthropic");
    const messages = anthropicFields.requiredArray(body, "messages");
    validateMessages(messages);
    return sendJson(request, reply, { input_tokens: conversationTokens(messages, systemText(body["system"])) });
  });
}

function validateMessages(messages: readonly unknown[]): void {
  if (messages.length === 0) throw anthropicFields.invalid("messages", "at least one message is required");
  messages.forEach((message, index) => {
    const role = isJsonObject(message) ? message["role"] : undefined;
    if (role !== "user" && role !== "assistant") {
      throw anthropicFields.invalid(`messages.${index}.role`, "Input should be 'user' or 'assistant'");
    }
  });
}

/** `system` is a string or an array of text blocks. */
function systemText(system: unknown): string | undefined {
  if (system === undefined || system === null) return undefined;
  if (typeof system !== "string" && !Array.isArray(system)) {
    throw anthropicFields.invalid("system", "Input should be a valid string or a list of text blocks");
  }
  return contentText(system);
}

function stopReason(plan: ReplyPlan): "end_turn" | "max_tokens" {
  return plan.truncated ? "max_tokens" : "end_turn";
}

function usage(inputTokens: number, outputTokens: number): JsonObject {
  return {
    input_tokens: inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: outputTokens,
    service_tier: "standard",
  };
}

function messageObject(draft: MessageDraft): JsonObject {
  return {
    id: draft.id,
    type: "message",
    role: "assistant",
    model: draft.model,
    content: [{ type: "text", text: draft.plan.text }],
    stop_reason: stopReason(draft.plan),
    stop_sequence: null,
    usage: usage(draft.inputTokens, draft.plan.outputTokens),
  };
}

/** The first event already reports the input tokens; output tokens follow in `message_delta`. */
function messageEvents(draft: MessageDraft): string[] {
  const event = (type: string, fields: JsonObject): string => sseEvent(type, JSON.stringify({ type, ...fields }));
  const events = [
    event("message_start", {
      message: {
        id: draft.id,
        type: "message",
        role: "assistant",
        model: draft.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: usage(draft.inputTokens, 1),
      },
    }),
    event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
    event("ping", {}),
  ];
  for (const quoted of draft.plan.quotedPieces) {
    events.push(
      sseEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":${quoted}}}`),
    );
  }
  events.push(
    event("content_block_stop", { index: 0 }),
    event("message_delta", {
      delta: { stop_reason: stopReason(draft.plan), stop_sequence: null },
      usage: { output_tokens: draft.plan.outputTokens },
    }),
    event("message_stop", {}),
  );
  return events;
}
