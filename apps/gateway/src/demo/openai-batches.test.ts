import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoProvider, type DemoProvider } from "./demo-provider.ts";

let provider: DemoProvider;
let client: OpenAI;
let inputFile: string;

const requests = [1, 2, 3]
  .map((index) =>
    JSON.stringify({
      custom_id: `request-${index}`,
      method: "POST",
      url: "/v1/chat/completions",
      body: { model: "demo-chat", messages: [{ role: "user", content: `question ${index}` }] },
    }),
  )
  .join("\n");

beforeAll(async () => {
  provider = await startDemoProvider({ apiKey: "sk-demo-batch" });
  client = new OpenAI({ baseURL: `${provider.url}/v1`, apiKey: "sk-demo-batch", maxRetries: 0 });
  inputFile = (await client.files.create({ file: await toFile(Buffer.from(requests), "batch.jsonl"), purpose: "batch" })).id;
});

afterAll(async () => {
  await provider.close();
});

describe("batches", () => {
  it("creates, retrieves, lists and cancels a batch", async () => {
    const batch = await client.batches.create({
      input_file_id: inputFile,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
      metadata: { purpose: "test" },
    });
    expect(batch).toMatchObject({
      object: "batch",
      endpoint: "/v1/chat/completions",
      input_file_id: inputFile,
      completion_window: "24h",
      status: "validating",
      request_counts: { total: 3, completed: 0, failed: 0 },
      metadata: { purpose: "test" },
    });
    expect(batch.expires_at).toBe(batch.created_at + 86_400);
    expect(await client.batches.retrieve(batch.id)).toEqual(batch);

    const listed = [];
    for await (const item of client.batches.list({ limit: 1 })) listed.push(item.id);
    expect(listed).toContain(batch.id);

    const cancelling = await client.batches.cancel(batch.id);
    expect(cancelling.status).toBe("cancelling");
    const cancelled = await client.batches.retrieve(batch.id);
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.cancelled_at).toBeGreaterThan(0);
    const again = await client.batches.cancel(batch.id).catch((e: unknown) => e);
    expect(again).toMatchObject({ status: 409 });
  });

  it("refuses unknown endpoints, windows and files", async () => {
    const endpoint = await client.batches
      // @ts-expect-error: an endpoint batches do not serve
      .create({ input_file_id: inputFile, endpoint: "/v1/files", completion_window: "24h" })
      .catch((e: unknown) => e);
    expect(endpoint).toMatchObject({ status: 400, param: "endpoint" });
    const window = await client.batches
      // @ts-expect-error: a window batches do not have
      .create({ input_file_id: inputFile, endpoint: "/v1/embeddings", completion_window: "1h" })
      .catch((e: unknown) => e);
    expect(window).toMatchObject({ status: 400, param: "completion_window" });
    const file = await client.batches
      .create({ input_file_id: "file-missing", endpoint: "/v1/embeddings", completion_window: "24h" })
      .catch((e: unknown) => e);
    expect(file).toMatchObject({ status: 404, param: "input_file_id" });
  });

  it("answers 404 for an unknown batch", async () => {
    const error = await client.batches.retrieve("batch_unknown").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
  });
});
