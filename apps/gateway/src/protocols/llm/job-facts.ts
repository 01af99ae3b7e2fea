import type { LlmApi } from "../../config/schema.ts";
import type { TokenUsage } from "../../gate/exchange.ts";

/** A batch or fine-tuning job as a provider's answer shows it. */
export interface JobFact {
  kind: "batch" | "fine_tune";
  id: string;
  /** The tokens the job consumed, once it has ended and the provider says (batches since September 2025). */
  usage?: TokenUsage;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined);

const endedBatch = new Set(["completed", "failed", "cancelled", "expired"]);
const endedFineTune = new Set(["succeeded", "failed", "cancelled"]);

/**
 * The jobs an answer of the batches or fine-tuning API shows (one object, or a list's `data`), with
 * their token usage when they have ended: a batch's `usage`, a fine-tuning job's `trained_tokens`.
 * Their tokens were not part of any request, so the budget stage charges them to the job's creator
 * when the gateway first sees them.
 */
export function jobsFromJson(api: LlmApi, body: unknown): JobFact[] {
  const json = obj(body);
  if (json === undefined) return [];
  const items = Array.isArray(json.data) ? json.data : [json];
  const jobs: JobFact[] = [];
  for (const item of items) {
    const job = obj(item);
    if (job === undefined || typeof job.id !== "string") continue;
    if (api === "batches" && job.object === "batch") {
      const usage = obj(job.usage);
      const input = num(usage?.input_tokens);
      const fact: JobFact = { kind: "batch", id: job.id };
      if (endedBatch.has(String(job.status)) && input !== undefined) {
        fact.usage = { input, output: num(usage?.output_tokens) ?? 0 };
        const cached = num(obj(usage?.input_tokens_details)?.cached_tokens);
        if (cached !== undefined) fact.usage.cachedInput = cached;
      }
      jobs.push(fact);
    } else if (api === "fine_tuning" && job.object === "fine_tuning.job") {
      const trained = num(job.trained_tokens);
      const fact: JobFact = { kind: "fine_tune", id: job.id };
      if (endedFineTune.has(String(job.status)) && trained !== undefined) fact.usage = { input: trained, output: 0 };
      jobs.push(fact);
    }
  }
  return jobs;
}
