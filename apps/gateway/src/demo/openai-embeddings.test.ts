import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoProvider, type DemoProvider } from "./demo-provider.ts";

let provider: DemoProvider;
let client: OpenAI;

beforeAll(async () => {
  provider = await startDemoProvider({ apiKey: "sk-demo-embed" });
  client = new OpenAI({ baseURL: `${provider.url}/v1`, apiKey: "sk-demo-embed", maxRetries: 0 });
});

afterAll(async () => {
  await provider.close();
});

function norm(vector: readonly number[]): number {
  return Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
}

function cosine(a: readonly number[], b: readonly number[]): number {
  return a.reduce((sum, value, index) => sum + value * (b[index] ?? 0), 0) / (norm(a) * norm(b));
}

describe("POST /v1/embeddings", () => {
  it("answers the SDK's default base64 request with unit vectors of 256 dimensions", async () => {
    const result = await client.embeddings.create({ model: "demo-embed", input: "the quick brown fox" });
    expect(provider.requests.at(-1)?.body).toMatchObject({ encoding_format: "base64" });
    const vector = result.data[0]?.embedding ?? [];
    expect(vector).toHaveLength(256);
    expect(norm(vector)).toBeCloseTo(1, 5);
    expect(result.model).toBe("demo-embed");
    expect(result.usage.prompt_tokens).toBe(4);
    expect(result.usage.total_tokens).toBe(4);
  });

  it("answers floats when asked, equal to the base64 answer", async () => {
    const floats = await client.embeddings.create({ model: "demo-embed", input: "same text", encoding_format: "float" });
    const base64 = await client.embeddings.create({ model: "demo-embed", input: "same text" });
    expect(floats.data[0]?.embedding).toEqual(base64.data[0]?.embedding);
  });

  it("honours dimensions", async () => {
    const result = await client.embeddings.create({ model: "demo-embed", input: "short", dimensions: 64 });
    expect(result.data[0]?.embedding).toHaveLength(64);
  });

  it("embeds arrays of strings and of token ids, one vector per input", async () => {
    const strings = await client.embeddings.create({ model: "demo-embed", input: ["alpha", "beta", "gamma"] });
    expect(strings.data.map((item) => item.index)).toEqual([0, 1, 2]);
    const tokens = await client.embeddings.create({ model: "demo-embed", input: [[1, 2, 3], [4, 5]] });
    expect(tokens.data).toHaveLength(2);
    expect(tokens.usage.prompt_tokens).toBe(5);
    const single = await client.embeddings.create({ model: "demo-embed", input: [10, 20, 30] });
    expect(single.data).toHaveLength(1);
    expect(single.usage.prompt_tokens).toBe(3);
  });

  it("gives the same text the same vector, and related texts closer vectors", async () => {
    const result = await client.embeddings.create({
      model: "demo-embed",
      input: ["budgets for agents", "budgets for agents", "agents and their budgets", "penguins swim in cold water"],
    });
    const [a, b, related, unrelated] = result.data.map((item) => item.embedding);
    expect(a).toEqual(b);
    expect(cosine(a ?? [], related ?? [])).toBeGreaterThan(cosine(a ?? [], unrelated ?? []));
  });

  it("answers 400 for empty or malformed input and 404 for a chat model", async () => {
    for (const input of ["", [], [""], [1, "mixed"], [[]], [-1], { text: "object" }]) {
      const error = await client.embeddings
        // @ts-expect-error: malformed inputs on purpose
        .create({ model: "demo-embed", input })
        .catch((e: unknown) => e);
      expect(error, JSON.stringify(input)).toMatchObject({ status: 400, param: "input" });
    }
    const format = await client.embeddings
      // @ts-expect-error: an encoding the API does not have
      .create({ model: "demo-embed", input: "x", encoding_format: "hex" })
      .catch((e: unknown) => e);
    expect(format).toMatchObject({ status: 400, param: "encoding_format" });
    const chatModel = await client.embeddings.create({ model: "demo-chat", input: "x" }).catch((e: unknown) => e);
    expect(chatModel).toMatchObject({ status: 404, param: "model" });
  });
});
