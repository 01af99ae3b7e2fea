/**
 * The local demo provider: one in-process HTTP server that speaks OpenAI's and Anthropic's wire
 * formats well enough for their official SDKs, so the quickstart works offline and the gateway's
 * tests and loadtest have a real upstream. Tests steer it with faults and read what reached it.
 */
import type { EventEmitter } from "node:events";
import fastifyMultipart from "@fastify/multipart";
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { anthropicMessagesRoutes } from "./anthropic-messages.ts";
import { FaultQueue } from "./demo-faults.ts";
import { IdSource } from "./demo-ids.ts";
import { openAiBatchesRoutes } from "./openai-batches.ts";
import { openAiChatRoutes } from "./openai-chat.ts";
import { openAiEmbeddingsRoutes } from "./openai-embeddings.ts";
import { createFileStore, maxFileBytes, openAiFilesRoutes } from "./openai-files.ts";
import { openAiFineTuningRoutes } from "./openai-fine-tuning.ts";
import { openAiModelsRoutes } from "./openai-models.ts";
import { openAiResponsesRoutes } from "./openai-responses.ts";
import type { RequestFilter } from "./request-filter.ts";
import { installRequestLifecycle } from "./request-lifecycle.ts";
import { RequestLog, type RecordedRequest, type RequestLogEvents } from "./request-log.ts";

export type { DemoFault } from "./demo-faults.ts";
export type { RequestFilter } from "./request-filter.ts";
export type { RecordedRequest, RequestLogEvents, RequestOutcome } from "./request-log.ts";

export interface DemoProviderOptions {
  /** The key OpenAI endpoints require as `Authorization: Bearer <key>`; any key when undefined. */
  apiKey?: string;
  /** The key /v1/messages requires as `x-api-key`; any key when undefined. */
  anthropicApiKey?: string;
  /** 127.0.0.1 unless given. */
  host?: string;
  /** 0 (any free port) unless given. */
  port?: number;
  /** Where to log the provider's own failures; nothing is logged when undefined. */
  logger?: FastifyBaseLogger;
  /** How many requests `requests` keeps at least (1000 unless given; 0 keeps none). */
  requestLogLimit?: number;
  /** The largest JSON body accepted, in bytes (16 MiB unless given). */
  bodyLimit?: number;
}

/** Batches and fine-tuning jobs never run in the demo: these end them, as a provider would when done. */
export interface DemoJobs {
  completeBatch(id: string, usage: { input: number; output: number }): void;
  succeedFineTune(id: string, trainedTokens: number): void;
}

export interface DemoProvider {
  /** The base origin, e.g. `http://127.0.0.1:41234`; OpenAI clients take `${url}/v1`. */
  readonly url: string;
  /** The requests received, oldest first (the last `requestLogLimit` at least). */
  readonly requests: readonly RecordedRequest[];
  /** Ends batches and fine-tuning jobs (the demo never runs them). */
  readonly jobs: DemoJobs;
  /** Faults to answer the next matching requests with. */
  readonly faults: FaultQueue;
  /** `request`, `aborted` and `finished` events, each with the request's record. */
  readonly events: EventEmitter<RequestLogEvents>;
  /** How many requests the client abandoned before their response was complete. */
  readonly aborted: number;
  /** The next request to arrive that matches `filter` (call it before causing the request). */
  nextRequest(filter?: RequestFilter): Promise<RecordedRequest>;
  /** The next request matching `filter` whose client goes away before the response is complete. */
  onceAborted(filter?: RequestFilter): Promise<RecordedRequest>;
  /** The next response matching `filter` to end, whatever its outcome. */
  nextFinished(filter?: RequestFilter): Promise<RecordedRequest>;
  /** Forgets the recorded requests and the aborted count. */
  clearRequests(): void;
  /** Stops listening and cuts every open connection, held or hanging ones included. */
  close(): Promise<void>;
}

const defaultBodyLimit = 16 * 1024 * 1024;
const defaultRequestLogLimit = 1000;

export async function startDemoProvider(options: DemoProviderOptions = {}): Promise<DemoProvider> {
  const log = new RequestLog(options.requestLogLimit ?? defaultRequestLogLimit);
  const faults = new FaultQueue();
  const { app, jobs } = await buildDemoApp(options, log, faults);
  await app.listen({ host: options.host ?? "127.0.0.1", port: options.port ?? 0 });
  const url = originOf(app);

  return {
    url,
    faults,
    jobs,
    events: log.events,
    get requests() {
      return log.records;
    },
    get aborted() {
      return log.aborted;
    },
    nextRequest: (filter) => log.nextRequest(filter),
    onceAborted: (filter) => log.onceAborted(filter),
    nextFinished: (filter) => log.nextFinished(filter),
    clearRequests: () => log.clear(),
    close: async () => {
      await app.close();
    },
  };
}

async function buildDemoApp(
  options: DemoProviderOptions,
  log: RequestLog,
  faults: FaultQueue,
): Promise<{ app: FastifyInstance; jobs: DemoJobs }> {
  const app = fastify({
    ...(options.logger === undefined
      ? { logger: false }
      : { loggerInstance: options.logger, logController: new LogController({ disableRequestLogging: true }) }),
    bodyLimit: options.bodyLimit ?? defaultBodyLimit,
    // Hanging and held requests must not keep close() waiting for a client that never leaves.
    forceCloseConnections: true,
  });
  const ids = new IdSource();
  const files = createFileStore();
  await app.register(fastifyMultipart, { limits: { fileSize: maxFileBytes } });
  installRequestLifecycle(app, { log, faults, ids, keys: { openAi: options.apiKey, anthropic: options.anthropicApiKey } });

  openAiChatRoutes(app, ids);
  openAiResponsesRoutes(app, ids);
  openAiEmbeddingsRoutes(app);
  openAiModelsRoutes(app);
  openAiFilesRoutes(app, ids, files);
  const fineTuning = openAiFineTuningRoutes(app, ids, files);
  const batches = openAiBatchesRoutes(app, ids, files);
  anthropicMessagesRoutes(app, ids);
  return { app, jobs: { completeBatch: batches.complete, succeedFineTune: fineTuning.succeed } };
}

function originOf(app: FastifyInstance): string {
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("The demo provider is not listening on TCP.");
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
