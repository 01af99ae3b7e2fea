import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoProvider, type DemoProvider } from "./demo-provider.ts";

let provider: DemoProvider;
let client: OpenAI;

beforeAll(async () => {
  provider = await startDemoProvider({ apiKey: "sk-demo-models" });
  client = new OpenAI({ baseURL: `${provider.url}/v1`, apiKey: "sk-demo-models", maxRetries: 0 });
});

afterAll(async () => {
  await provider.close();
});

describe("GET /v1/models", () => {
  it("lists the chat and the embedding model", async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(["demo-chat", "demo-embed"]);
  });

  it("retrieves one model", async () => {
    const model = await client.models.retrieve("demo-embed");
    expect(model).toMatchObject({ id: "demo-embed", object: "model", owned_by: "tollgate-demo" });
    expect(model.created).toBeGreaterThan(0);
  });

  it("answers 404 model_not_found for any other model", async () => {
    const error = await client.models.retrieve("gpt-4o-mini").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ code: "model_not_found", param: "model" });
  });
});
