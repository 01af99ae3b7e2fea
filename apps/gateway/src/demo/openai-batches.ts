/**
 * OpenAI's Batch API: create, list, retrieve and cancel. Batches never run: they stay `validating`
 * until cancelled. A cancel answers `cancelling` and the batch reads as `cancelled` afterwards, the
 * lifecycle a real batch goes through.
 */
import type { FastifyInstance } from "fastify";
import { BoundedCollection } from "./bounded-collection.ts";
import { unixSeconds, type IdSource } from "./demo-ids.ts";
import { listBody, readListQuery, unknownCursor } from "./list-query.ts";
import type { FileStore } from "./openai-files.ts";
import { ProviderError } from "./provider-error.ts";
import { isJsonObject, openAiFields, type JsonObject } from "./request-fields.ts";
import { sendJson } from "./response-writer.ts";

const maxStoredBatches = 1000;
const completionWindowSeconds = 24 * 60 * 60;
const batchEndpoints = new Set([
  "/v1/responses",
  "/v1/chat/completions",
  "/v1/embeddings",
  "/v1/completions",
  "/v1/moderations",
]);

type BatchStatus = "validating" | "in_progress" | "finalizing" | "completed" | "failed" | "expired" | "cancelling" | "cancelled";

interface Batch {
  readonly id: string;
  readonly endpoint: string;
  readonly inputFileId: string;
  readonly completionWindow: string;
  readonly createdAt: number;
  readonly requests: number;
  readonly metadata: unknown;
  status: BatchStatus;
  cancellingAt: number | null;
  cancelledAt: number | null;
  completedAt: number | null;
  usage: { input: number; output: number } | null;
}

/** Ends jobs by hand: the demo never runs them, so an operator (or a test) says how they ended. */
export interface BatchControl {
  /** Marks a batch completed, reporting the tokens it used (as OpenAI does since September 2025). */
  complete(id: string, usage: { input: number; output: number }): void;
}

export function openAiBatchesRoutes(app: FastifyInstance, ids: IdSource, files: FileStore): BatchControl {
  const batches = new BoundedCollection<Batch>({ maxItems: maxStoredBatches });

  const findBatch = (id: string): Batch => {
    const batch = batches.get(id);
    if (batch === undefined) throw new ProviderError(404, `No batch found with id '${id}'.`, { param: "batch_id" });
    return batch;
  };

  app.post("/v1/batches", async (request, reply) => {
    const body = openAiFields.body(request.body);
    const inputFileId = openAiFields.requiredString(body, "input_file_id");
    const endpoint = openAiFields.requiredString(body, "endpoint");
    const completionWindow = openAiFields.requiredString(body, "completion_window");
    if (!batchEndpoints.has(endpoint)) {
      throw openAiFields.invalid("endpoint", `'${endpoint}' is not one of ${[...batchEndpoints].join(", ")}.`);
    }
    if (completionWindow !== "24h") {
      throw openAiFields.invalid("completion_window", `'${completionWindow}' is not supported; use '24h'.`);
    }
    const file = files.get(inputFileId);
    if (file === undefined) {
      throw new ProviderError(404, `No such File object: ${inputFileId}`, { param: "input_file_id" });
    }
    if (file.purpose !== "batch") {
      throw openAiFields.invalid("input_file_id", `file ${inputFileId} has purpose '${file.purpose}', batches need 'batch'.`);
    }
    const batch: Batch = {
      id: ids.next("batch_"),
      endpoint,
      inputFileId,
      completionWindow,
      createdAt: unixSeconds(),
      requests: countLines(file.content),
      metadata: isJsonObject(body["metadata"]) ? body["metadata"] : null,
      status: "validating",
      cancellingAt: null,
      cancelledAt: null,
      completedAt: null,
      usage: null,
    };
    batches.add(batch);
    return sendJson(request, reply, batchObject(batch));
  });

  app.get("/v1/batches", async (request, reply) => {
    const query = readListQuery(request.query, 20, 100);
    const page = batches.page(query);
    if (page === undefined) throw unknownCursor(query.after);
    return sendJson(request, reply, listBody(page, batchObject));
  });

  app.get<{ Params: { id: string } }>("/v1/batches/:id", async (request, reply) =>
    sendJson(request, reply, batchObject(findBatch(request.params.id))),
  );

  app.post<{ Params: { id: string } }>("/v1/batches/:id/cancel", async (request, reply) => {
    const batch = findBatch(request.params.id);
    if (batch.status !== "validating" && batch.status !== "in_progress" && batch.status !== "finalizing") {
      throw new ProviderError(409, `Cannot cancel a batch with status '${batch.status}'.`, { param: "batch_id" });
    }
    const now = unixSeconds();
    batch.cancellingAt = now;
    const answer = batchObject({ ...batch, status: "cancelling" });
    batch.status = "cancelled";
    batch.cancelledAt = now;
    return sendJson(request, reply, answer);
  });

  return {
    complete(id, usage) {
      const batch = findBatch(id);
      batch.status = "completed";
      batch.completedAt = unixSeconds();
      batch.usage = usage;
    },
  };
}

/** The number of requests in a JSONL batch file: its non-empty lines. */
function countLines(content: Buffer): number {
  return content
    .toString("utf8")
    .split("\n")
    .filter((line) => line.trim().length > 0).length;
}

function batchObject(batch: Batch): JsonObject {
  return {
    id: batch.id,
    object: "batch",
    endpoint: batch.endpoint,
    errors: null,
    input_file_id: batch.inputFileId,
    completion_window: batch.completionWindow,
    status: batch.status,
    output_file_id: null,
    error_file_id: null,
    created_at: batch.createdAt,
    in_progress_at: null,
    expires_at: batch.createdAt + completionWindowSeconds,
    finalizing_at: null,
    completed_at: batch.completedAt,
    failed_at: null,
    expired_at: null,
    cancelling_at: batch.cancellingAt,
    cancelled_at: batch.cancelledAt,
    request_counts: { total: batch.requests, completed: batch.status === "completed" ? batch.requests : 0, failed: 0 },
    metadata: batch.metadata,
    ...(batch.usage === null
      ? {}
      : {
          usage: {
            input_tokens: batch.usage.input,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: batch.usage.output,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: batch.usage.input + batch.usage.output,
          },
        }),
  };
}
