/**
 * OpenAI's Chat Completions API: POST /v1/chat/completions, as JSON or as a stream of
 * `chat.completion.chunk` events ending with `data: [DONE]`.
 */
import type { FastifyInstance } from "fastify";
import { conversationTokens, lastUserText } from "./conversation-text.ts";
import { unixSeconds, type IdSource } from "./demo-ids.ts";
import { requireModel } from "./demo-models.ts";
import { planReply, type ReplyPlan } from "./demo-text.ts";
import { isJsonObject, openAiFields } from "./request-fields.ts";
import { sendEventStream, sendJson, sseData } from "./response-writer.ts";

/** OpenAI accepts up to 128 choices per request. */
const maxChoices = 128;
const systemFingerprint = "fp_tollgate_demo";

interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; audio_tokens: number };
  completion_tokens_details: {
    reasoning_tokens: number;
    audio_tokens: number;
    accepted_prediction_tokens: number;
    rejected_prediction_tokens: number;
  };
}

interface Completion {
  readonly id: string;
  readonly created: number;
  readonly model: string;
  readonly choices: number;
  readonly plan: ReplyPlan;
  readonly usage: ChatUsage;
}

export function openAiChatRoutes(app: FastifyInstance, ids: IdSource): void {
  app.post("/v1/chat/completions", async (request, reply) => {
    const body = openAiFields.body(request.body);
    const modelId = openAiFields.requiredString(body, "model");
    const messages = openAiFields.requiredArray(body, "messages");
    validateMessages(messages);
    const model = requireModel(modelId, "chat", "openai");
    const maxTokens =
      openAiFields.optionalInteger(body, "max_completion_tokens", 1) ??
      openAiFields.optionalInteger(body, "max_tokens", 1);
    const choices = openAiFields.optionalInteger(body, "n", 1, maxChoices) ?? 1;
    const stream = openAiFields.optionalBoolean(body, "stream") ?? false;
    const streamOptions = body["stream_options"];
    if (streamOptions !== undefined && streamOptions !== null && !stream) {
      throw openAiFields.invalid("stream_options", "this parameter is only allowed when 'stream' is enabled.");
    }

    const plan = planReply(model.id, lastUserText(messages), maxTokens);
    const completion: Completion = {
      id: ids.next("chatcmpl-"),
      created: unixSeconds(),
      model: model.id,
      choices,
      plan,
      usage: chatUsage(conversationTokens(messages), plan.outputTokens * choices),
    };
    if (!stream) return sendJson(request, reply, completionBody(completion));
    const includeUsage = isJsonObject(streamOptions) && streamOptions["include_usage"] === true;
    return sendEventStream(request, reply, chunkEvents(completion, includeUsage));
  });
}

function chatUsage(promptTokens: number, completionTokens: number): ChatUsage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function validateMessages(messages: readonly unknown[]): void {
  if (messages.length === 0) {
    throw openAiFields.invalid("messages", "empty array. Expected an array with minimum length 1.", "empty_array");
  }
  messages.forEach((message, index) => {
    if (!isJsonObject(message) || typeof message["role"] !== "string") {
      throw openAiFields.invalid(`messages[${index}]`, "expected an object with a 'role'.", "invalid_type");
    }
  });
}

function finishReason(plan: ReplyPlan): "stop" | "length" {
  return plan.truncated ? "length" : "stop";
}

function completionBody(completion: Completion): unknown {
  const { plan } = completion;
  const choices = [];
  for (let index = 0; index < completion.choices; index += 1) {
    choices.push({
      index,
      message: { role: "assistant", content: plan.text, refusal: null, annotations: [] },
      logprobs: null,
      finish_reason: finishReason(plan),
    });
  }
  return {
    id: completion.id,
    object: "chat.completion",
    created: completion.created,
    model: completion.model,
    choices,
    usage: completion.usage,
    service_tier: "default",
    system_fingerprint: systemFingerprint,
  };
}

/**
 * The stream as OpenAI sends it: per choice a role chunk, one chunk per delta and a chunk with the
 * finish reason; then, when asked for, a chunk with the usage and no choices (every other chunk then
 * carries `"usage": null`); then `[DONE]`. Chunks are framed from templates around the reply's
 * pre-quoted pieces, so a cached reply is streamed without serializing anything again.
 */
function chunkEvents(completion: Completion, includeUsage: boolean): string[] {
  const head =
    `{"id":"${completion.id}","object":"chat.completion.chunk","created":${completion.created},` +
    `"model":${JSON.stringify(completion.model)},"service_tier":"default",` +
    `"system_fingerprint":"${systemFingerprint}","choices":[`;
  const tail = includeUsage ? `],"usage":null}` : "]}";
  const { plan } = completion;
  const events: string[] = [];
  for (let index = 0; index < completion.choices; index += 1) {
    events.push(
      sseData(
        `${head}{"index":${index},"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}${tail}`,
      ),
    );
    for (const quoted of plan.quotedPieces) {
      events.push(
        sseData(`${head}{"index":${index},"delta":{"content":${quoted}},"logprobs":null,"finish_reason":null}${tail}`),
      );
    }
    events.push(
      sseData(`${head}{"index":${index},"delta":{},"logprobs":null,"finish_reason":"${finishReason(plan)}"}${tail}`),
    );
  }
  if (includeUsage) events.push(sseData(`${head}],"usage":${JSON.stringify(completion.usage)}}`));
  events.push(sseData("[DONE]"));
  return events;
}
