/**
 * OpenAI's fine-tuning jobs: create, list, retrieve, cancel and list events. Jobs never train: they
 * stay `validating_files` until cancelled, which is all a gateway needs to route and authorize them.
 */
import type { FastifyInstance } from "fastify";
import { BoundedCollection } from "./bounded-collection.ts";
import { unixSeconds, type IdSource } from "./demo-ids.ts";
import { demoChatModel, findDemoModel, modelNotFound } from "./demo-models.ts";
import { readListQuery, unknownCursor } from "./list-query.ts";
import type { FileStore } from "./openai-files.ts";
import { ProviderError } from "./provider-error.ts";
import { isJsonObject, openAiFields, type JsonObject } from "./request-fields.ts";
import { sendJson } from "./response-writer.ts";

const maxStoredJobs = 1000;
const maxEventsPerJob = 100;
const maxSuffixLength = 64;
const hyperparameterNames = ["batch_size", "learning_rate_multiplier", "n_epochs"] as const;

type JobStatus = "validating_files" | "queued" | "running" | "succeeded" | "failed" | "cancelled";

interface JobEvent {
  readonly id: string;
  readonly createdAt: number;
  readonly message: string;
}

interface FineTuningJob {
  readonly id: string;
  readonly model: string;
  readonly createdAt: number;
  readonly trainingFile: string;
  readonly validationFile: string | null;
  readonly suffix: string | null;
  readonly seed: number;
  readonly hyperparameters: JsonObject;
  readonly metadata: unknown;
  readonly events: BoundedCollection<JobEvent>;
  status: JobStatus;
  finishedAt: number | null;
  trainedTokens: number | null;
}

/** Ends jobs by hand: the demo never trains, so an operator (or a test) says how a job ended. */
export interface FineTuningControl {
  /** Marks a job succeeded, having trained on this many tokens. */
  succeed(id: string, trainedTokens: number): void;
}

export function openAiFineTuningRoutes(app: FastifyInstance, ids: IdSource, files: FileStore): FineTuningControl {
  const jobs = new BoundedCollection<FineTuningJob>({ maxItems: maxStoredJobs });

  const addEvent = (job: FineTuningJob, message: string): void => {
    job.events.add({ id: ids.next("ftevent-"), createdAt: unixSeconds(), message });
  };

  const findJob = (id: string): FineTuningJob => {
    const job = jobs.get(id);
    if (job === undefined) {
      throw new ProviderError(404, `Could not find fine-tuning job: ${id}`, { param: "fine_tuning_job_id" });
    }
    return job;
  };

  const requireTrainingFile = (field: string, id: string): void => {
    const file = files.get(id);
    if (file === undefined) throw openAiFields.invalid(field, `file ${id} does not exist.`, "file_not_found");
    if (file.purpose !== "fine-tune") {
      throw openAiFields.invalid(field, `file ${id} has purpose '${file.purpose}', fine-tuning needs 'fine-tune'.`);
    }
  };

  app.post("/v1/fine_tuning/jobs", async (request, reply) => {
    const body = openAiFields.body(request.body);
    const modelId = openAiFields.requiredString(body, "model");
    const trainingFile = openAiFields.requiredString(body, "training_file");
    const validationFile = openAiFields.optionalString(body, "validation_file");
    const suffix = openAiFields.optionalString(body, "suffix");
    const seed = openAiFields.optionalInteger(body, "seed", 0, 2_147_483_647);
    if (findDemoModel(modelId) === undefined) throw modelNotFound(modelId);
    if (modelId !== demoChatModel) {
      throw openAiFields.invalid("model", `the model ${modelId} is not available for fine-tuning.`, "model_not_available");
    }
    if (suffix !== undefined && suffix.length > maxSuffixLength) {
      throw openAiFields.invalid("suffix", `at most ${maxSuffixLength} characters are allowed.`);
    }
    requireTrainingFile("training_file", trainingFile);
    if (validationFile !== undefined) requireTrainingFile("validation_file", validationFile);

    const job: FineTuningJob = {
      id: ids.next("ftjob-"),
      model: modelId,
      createdAt: unixSeconds(),
      trainingFile,
      validationFile: validationFile ?? null,
      suffix: suffix ?? null,
      seed: seed ?? Math.floor(Math.random() * 2_147_483_647),
      hyperparameters: readHyperparameters(body),
      metadata: isJsonObject(body["metadata"]) ? body["metadata"] : null,
      events: new BoundedCollection<JobEvent>({ maxItems: maxEventsPerJob }),
      status: "validating_files",
      finishedAt: null,
      trainedTokens: null,
    };
    addEvent(job, `Created fine-tuning job: ${job.id}`);
    addEvent(job, `Validating training file: ${trainingFile}`);
    jobs.add(job);
    return sendJson(request, reply, jobObject(job));
  });

  app.get("/v1/fine_tuning/jobs", async (request, reply) => {
    const query = readListQuery(request.query, 20, 100);
    const page = jobs.page(query);
    if (page === undefined) throw unknownCursor(query.after);
    return sendJson(request, reply, { object: "list", data: page.data.map(jobObject), has_more: page.hasMore });
  });

  app.get<{ Params: { id: string } }>("/v1/fine_tuning/jobs/:id", async (request, reply) =>
    sendJson(request, reply, jobObject(findJob(request.params.id))),
  );

  app.post<{ Params: { id: string } }>("/v1/fine_tuning/jobs/:id/cancel", async (request, reply) => {
    const job = findJob(request.params.id);
    if (job.status === "succeeded" || job.status === "failed" || job.status === "cancelled") {
      throw new ProviderError(400, `Job has already completed: ${job.id}`, { param: "fine_tuning_job_id" });
    }
    job.status = "cancelled";
    job.finishedAt = unixSeconds();
    addEvent(job, "Fine-tuning job cancelled");
    return sendJson(request, reply, jobObject(job));
  });

  app.get<{ Params: { id: string } }>("/v1/fine_tuning/jobs/:id/events", async (request, reply) => {
    const job = findJob(request.params.id);
    const query = readListQuery(request.query, 20, 100);
    const page = job.events.page({ after: query.after, limit: query.limit });
    if (page === undefined) throw unknownCursor(query.after);
    return sendJson(request, reply, { object: "list", data: page.data.map(eventObject), has_more: page.hasMore });
  });

  return {
    succeed(id, trainedTokens) {
      const job = findJob(id);
      job.status = "succeeded";
      job.finishedAt = unixSeconds();
      job.trainedTokens = trainedTokens;
      addEvent(job, "The job has successfully completed");
    },
  };
}

/** Each hyperparameter is "auto" or a positive number; anything else is a 400. */
function readHyperparameters(body: JsonObject): JsonObject {
  const given = body["hyperparameters"] ?? readMethodHyperparameters(body["method"]);
  const hyperparameters: JsonObject = {};
  for (const name of hyperparameterNames) {
    const value = isJsonObject(given) ? given[name] : undefined;
    if (value === undefined || value === null || value === "auto") hyperparameters[name] = "auto";
    else if (typeof value === "number" && value > 0) hyperparameters[name] = value;
    else throw openAiFields.invalid(`hyperparameters.${name}`, "expected 'auto' or a positive number.");
  }
  return hyperparameters;
}

function readMethodHyperparameters(method: unknown): unknown {
  if (!isJsonObject(method) || !isJsonObject(method["supervised"])) return undefined;
  return method["supervised"]["hyperparameters"];
}

function jobObject(job: FineTuningJob): JsonObject {
  return {
    object: "fine_tuning.job",
    id: job.id,
    model: job.model,
    created_at: job.createdAt,
    finished_at: job.finishedAt,
    fine_tuned_model: null,
    organization_id: "org-tollgate-demo",
    result_files: [],
    status: job.status,
    validation_file: job.validationFile,
    training_file: job.trainingFile,
    hyperparameters: job.hyperparameters,
    trained_tokens: job.trainedTokens,
    error: null,
    seed: job.seed,
    estimated_finish: null,
    integrations: [],
    metadata: job.metadata,
    method: { type: "supervised", supervised: { hyperparameters: job.hyperparameters } },
    user_provided_suffix: job.suffix,
  };
}

function eventObject(event: JobEvent): JsonObject {
  return {
    object: "fine_tuning.job.event",
    id: event.id,
    created_at: event.createdAt,
    level: "info",
    message: event.message,
    data: {},
    type: "message",
  };
}
