import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoProvider, type DemoProvider } from "./demo-provider.ts";

let provider: DemoProvider;
let client: OpenAI;
let trainingFile: string;

beforeAll(async () => {
  provider = await startDemoProvider({ apiKey: "sk-demo-ft" });
  client = new OpenAI({ baseURL: `${provider.url}/v1`, apiKey: "sk-demo-ft", maxRetries: 0 });
  const line = JSON.stringify({ messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }] });
  const file = await client.files.create({ file: await toFile(Buffer.from(`${line}\n`), "train.jsonl"), purpose: "fine-tune" });
  trainingFile = file.id;
});

afterAll(async () => {
  await provider.close();
});

describe("fine-tuning jobs", () => {
  it("creates, retrieves, cancels a job and lists its events", async () => {
    const job = await client.fineTuning.jobs.create({
      model: "demo-chat",
      training_file: trainingFile,
      suffix: "support",
      hyperparameters: { n_epochs: 3 },
    });
    expect(job).toMatchObject({
      object: "fine_tuning.job",
      model: "demo-chat",
      training_file: trainingFile,
      status: "validating_files",
      fine_tuned_model: null,
      hyperparameters: { n_epochs: 3, batch_size: "auto", learning_rate_multiplier: "auto" },
    });
    expect(job.id).toMatch(/^ftjob-/u);
    expect(await client.fineTuning.jobs.retrieve(job.id)).toEqual(job);

    const cancelled = await client.fineTuning.jobs.cancel(job.id);
    expect(cancelled.status).toBe("cancelled");
    expect((await client.fineTuning.jobs.retrieve(job.id)).status).toBe("cancelled");
    const again = await client.fineTuning.jobs.cancel(job.id).catch((e: unknown) => e);
    expect(again).toMatchObject({ status: 400 });

    const events = [];
    for await (const event of client.fineTuning.jobs.listEvents(job.id, { limit: 1 })) events.push(event);
    expect(events.map((event) => event.message)).toEqual([
      "Fine-tuning job cancelled",
      `Validating training file: ${trainingFile}`,
      `Created fine-tuning job: ${job.id}`,
    ]);
    expect(events.every((event) => event.object === "fine_tuning.job.event")).toBe(true);
  });

  it("lists jobs newest first with after/limit pagination", async () => {
    const created = [];
    for (let index = 0; index < 3; index += 1) {
      created.push((await client.fineTuning.jobs.create({ model: "demo-chat", training_file: trainingFile })).id);
    }
    const page = await client.fineTuning.jobs.list({ limit: 2 });
    expect(page.data.map((job) => job.id)).toEqual([created[2], created[1]]);
    expect(page.has_more).toBe(true);
    const next = await client.fineTuning.jobs.list({ limit: 2, after: created[1] });
    expect(next.data[0]?.id).toBe(created[0]);

    const all = [];
    for await (const job of client.fineTuning.jobs.list({ limit: 2 })) all.push(job.id);
    expect(all.slice(0, 3)).toEqual([...created].reverse());
  });

  it("refuses a training file that does not exist or is not for fine-tuning", async () => {
    const missing = await client.fineTuning.jobs
      .create({ model: "demo-chat", training_file: "file-nope" })
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ status: 400, param: "training_file" });

    const batchFile = await client.files.create({ file: await toFile(Buffer.from("{}\n"), "b.jsonl"), purpose: "batch" });
    const wrongPurpose = await client.fineTuning.jobs
      .create({ model: "demo-chat", training_file: batchFile.id })
      .catch((e: unknown) => e);
    expect(wrongPurpose).toMatchObject({ status: 400, param: "training_file" });
  });

  it("refuses models other than demo-chat", async () => {
    const unknown = await client.fineTuning.jobs
      .create({ model: "gpt-4o-mini", training_file: trainingFile })
      .catch((e: unknown) => e);
    expect(unknown).toMatchObject({ status: 404, code: "model_not_found" });
    const embedding = await client.fineTuning.jobs
      .create({ model: "demo-embed", training_file: trainingFile })
      .catch((e: unknown) => e);
    expect(embedding).toMatchObject({ status: 400, param: "model" });
  });

  it("answers 404 for an unknown job", async () => {
    const error = await client.fineTuning.jobs.retrieve("ftjob-unknown").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
  });
});
