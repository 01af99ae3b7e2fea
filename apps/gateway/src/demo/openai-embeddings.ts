/**
 * OpenAI's Embeddings API: POST /v1/embeddings. `input` is a string, an array of strings, a token
 * array or an array of token arrays; vectors come back as floats or, as the openai SDK asks for by
 * default, as base64.
 */
import type { FastifyInstance } from "fastify";
import { requireModel } from "./demo-models.ts";
import { countTextTokens } from "./demo-text.ts";
import { embedText, embedTokens, vectorToBase64 } from "./embedding-vector.ts";
import { openAiFields, type JsonObject } from "./request-fields.ts";
import { sendJson } from "./response-writer.ts";

const defaultDimensions = 256;
const maxDimensions = 3072;
/** OpenAI's limit on inputs per request. */
const maxInputs = 2048;

type EmbeddingInput = { readonly text: string } | { readonly tokens: readonly number[] };

export function openAiEmbeddingsRoutes(app: FastifyInstance): void {
  app.post("/v1/embeddings", async (request, reply) => {
    const body = openAiFields.body(request.body);
    const modelId = openAiFields.requiredString(body, "model");
    const inputs = embeddingInputs(body);
    const dimensions = openAiFields.optionalInteger(body, "dimensions", 1, maxDimensions) ?? defaultDimensions;
    const format = openAiFields.optionalString(body, "encoding_format") ?? "float";
    if (format !== "float" && format !== "base64") {
      throw openAiFields.invalid("encoding_format", `expected 'float' or 'base64', but got '${format}'.`);
    }
    const model = requireModel(modelId, "embedding", "openai");

    let promptTokens = 0;
    const data = inputs.map((input, index) => {
      const vector = "text" in input ? embedText(input.text, dimensions) : embedTokens(input.tokens, dimensions);
      promptTokens += "text" in input ? countTextTokens(input.text) : input.tokens.length;
      const embedding = format === "base64" ? vectorToBase64(vector) : Array.from(vector);
      return { object: "embedding", index, embedding };
    });
    return sendJson(request, reply, {
      object: "list",
      data,
      model: model.id,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    });
  });
}

function embeddingInputs(body: JsonObject): EmbeddingInput[] {
  const input = body["input"];
  if (input === undefined || input === null) throw openAiFields.missing("input");
  if (typeof input === "string") return [textInput(input)];
  if (!Array.isArray(input) || input.length === 0 || input.length > maxInputs) throw invalidInput();
  if (input.every((item) => typeof item === "number")) return [tokenInput(input)];
  return input.map((item) => (typeof item === "string" ? textInput(item) : tokenInput(item)));
}

function textInput(text: string): EmbeddingInput {
  if (text.length === 0) throw invalidInput();
  return { text };
}

function tokenInput(tokens: unknown): EmbeddingInput {
  if (!Array.isArray(tokens) || tokens.length === 0) throw invalidInput();
  const ids: number[] = [];
  for (const token of tokens) {
    if (typeof token !== "number" || !Number.isInteger(token) || token < 0) throw invalidInput();
    ids.push(token);
  }
  return { tokens: ids };
}

function invalidInput(): Error {
  return openAiFields.invalid(
    "input",
    `expected a non-empty string, an array of up to ${maxInputs} non-empty strings, or arrays of token ids.`,
  );
}
