/**
 * OpenAI's Responses API: POST /v1/responses, as JSON or as a stream of typed events
 * (`response.created` ... `response.output_text.delta` ... `response.completed`).
 */
import type { FastifyInstance } from "fastify";
import { conversationTokens, lastUserText } from "./conversation-text.ts";
import { unixSeconds, type IdSource } from "./demo-ids.ts";
import { requireModel } from "./demo-models.ts";
import { planReply, type ReplyPlan } from "./demo-text.ts";
import { isJsonObject, openAiFields, type JsonObject } from "./request-fields.ts";
import { sendEventStream, sendJson, sseEvent } from "./response-writer.ts";

/** The Responses API refuses smaller output limits. */
const minOutputTokens = 16;

interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/** Everything a response object is made of, fixed once the request is read. */
interface ResponseDraft {
  readonly id: string;
  readonly messageId: string;
  readonly createdAt: number;
  readonly model: string;
  readonly instructions: string | null;
  readonly maxOutputTokens: number | null;
  readonly metadata: unknown;
  readonly plan: ReplyPlan;
  readonly usage: ResponseUsage;
}

type Stage = "in_progress" | "finished";

export function openAiResponsesRoutes(app: FastifyInstance, ids: IdSource): void {
  app.post("/v1/responses", async (request, reply) => {
    const body = openAiFields.body(request.body);
    const modelId = openAiFields.requiredString(body, "model");
    const items = inputItems(body);
    const instructions = openAiFields.optionalString(body, "instructions");
    const maxOutputTokens = openAiFields.optionalInteger(body, "max_output_tokens", minOutputTokens);
    const stream = openAiFields.optionalBoolean(body, "stream") ?? false;
    const model = requireModel(modelId, "chat", "openai");

    const plan = planReply(model.id, lastUserText(items), maxOutputTokens);
    const inputTokens = conversationTokens(items, instructions);
    const draft: ResponseDraft = {
      id: ids.next("resp_"),
      messageId: ids.next("msg_"),
      createdAt: unixSeconds(),
      model: model.id,
      instructions: instructions ?? null,
      maxOutputTokens: maxOutputTokens ?? null,
      metadata: isJsonObject(body["metadata"]) ? body["metadata"] : {},
      plan,
      usage: {
        input_tokens: inputTokens,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: plan.outputTokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: inputTokens + plan.outputTokens,
      },
    };
    if (!stream) return sendJson(request, reply, responseObject(draft, "finished"));
    return sendEventStream(request, reply, responseEvents(draft));
  });
}

/** `input` is a string (one user message) or an array of input items. */
function inputItems(body: JsonObject): unknown[] {
  const input = body["input"];
  if (input === undefined || input === null) throw openAiFields.missing("input");
  if (typeof input === "string") return [{ role: "user", content: input }];
  if (!Array.isArray(input)) throw openAiFields.invalid("input", "expected a string or an array of input items.");
  input.forEach((item, index) => {
    if (!isJsonObject(item)) throw openAiFields.invalid(`input[${index}]`, "expected an object.", "invalid_type");
  });
  return input;
}

function messageItem(draft: ResponseDraft, stage: Stage): JsonObject {
  return {
    id: draft.messageId,
    type: "message",
    status: stage === "in_progress" ? "in_progress" : draft.plan.truncated ? "incomplete" : "completed",
    content: stage === "in_progress" ? [] : [outputText(draft.plan.text)],
    role: "assistant",
  };
}

function outputText(text: string): JsonObject {
  return { type: "output_text", annotations: [], logprobs: [], text };
}

function responseObject(draft: ResponseDraft, stage: Stage): JsonObject {
  const finished = stage === "finished";
  const status = !finished ? "in_progress" : draft.plan.truncated ? "incomplete" : "completed";
  return {
    id: draft.id,
    object: "response",
    created_at: draft.createdAt,
    status,
    background: false,
    completed_at: status === "completed" ? draft.createdAt : null,
    error: null,
    incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
    instructions: draft.instructions,
    max_output_tokens: draft.maxOutputTokens,
    max_tool_calls: null,
    model: draft.model,
    output: finished ? [messageItem(draft, "finished")] : [],
    parallel_tool_calls: true,
    previous_response_id: null,
    prompt_cache_key: null,
    reasoning: { effort: null, summary: null },
    safety_identifier: null,
    service_tier: "default",
    store: false,
    temperature: 1,
    text: { format: { type: "text" }, verbosity: "medium" },
    tool_choice: "auto",
    tools: [],
    top_logprobs: 0,
    top_p: 1,
    truncation: "disabled",
    usage: finished ? draft.usage : null,
    user: null,
    metadata: draft.metadata,
  };
}

/**
 * The event sequence of a streamed text response. The last event is `response.completed`, or
 * `response.incomplete` when `max_output_tokens` cut the reply; both carry the usage.
 */
function responseEvents(draft: ResponseDraft): string[] {
  const events: string[] = [];
  let sequence = 0;
  const push = (type: string, fields: JsonObject): void => {
    events.push(sseEvent(type, JSON.stringify({ type, sequence_number: sequence, ...fields })));
    sequence += 1;
  };
  const item = { item_id: draft.messageId, output_index: 0, content_index: 0 };
  push("response.created", { response: responseObject(draft, "in_progress") });
  push("response.in_progress", { response: responseObject(draft, "in_progress") });
  push("response.output_item.added", { output_index: 0, item: messageItem(draft, "in_progress") });
  push("response.content_part.added", { ...item, part: outputText("") });
  for (const piece of draft.plan.pieces) push("response.output_text.delta", { ...item, delta: piece, logprobs: [] });
  push("response.output_text.done", { ...item, text: draft.plan.text, logprobs: [] });
  push("response.content_part.done", { ...item, part: outputText(draft.plan.text) });
  push("response.output_item.done", { output_index: 0, item: messageItem(draft, "finished") });
  const final = responseObject(draft, "finished");
  push(draft.plan.truncated ? "response.incomplete" : "response.completed", { response: final });
  return events;
}
