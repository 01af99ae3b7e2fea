import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { afterAll, describe, expect, it } from "vitest";
import { estimateFactor, TokenCounter, tokenizerFor, tokensPerImage } from "./token-counter.ts";

describe("token counting", () => {
  const counter = new TokenCounter({ workerThresholdChars: 10_000 });
  afterAll(() => counter.close());

  it("picks the model family's own encoding, or the documented estimate", () => {
    expect(tokenizerFor("gpt-4o-mini")).toEqual({ encoding: "o200k_base", factor: 1 });
    expect(tokenizerFor("gpt-4.1-2025-04-14")).toEqual({ encoding: "o200k_base", factor: 1 });
    expect(tokenizerFor("o3-mini")).toEqual({ encoding: "o200k_base", factor: 1 });
    expect(tokenizerFor("text-embedding-3-small")).toEqual({ encoding: "cl100k_base", factor: 1 });
    expect(tokenizerFor("claude-sonnet-4-5")).toEqual({ encoding: "o200k_base", factor: estimateFactor });
    expect(tokenizerFor("meta-llama/Llama-3.3-70B-Instruct").factor).toBe(estimateFactor);
  });

  it("counts texts exactly, plus message framing, images and given token ids", async () => {
    const texts = ["You are a helpful assistant.", "What is the capital of France?"];
    const exact = texts.reduce((sum, t) => sum + countTokens(t), 0);
    expect(await counter.countPrompt({ texts, messages: 2, images: 1, tokens: 5 }, "gpt-4o")).toBe(exact + 2 * 4 + 3 + tokensPerImage + 5);
  });

  it("rounds the estimate up for families without a public tokenizer", async () => {
    const text = "Bonjour, je voudrais suivre ma commande.";
    expect(await counter.countPrompt({ texts: [text], messages: 0, images: 0, tokens: 0 }, "claude-haiku-4-5")).toBe(
      Math.ceil(countTokens(text) * estimateFactor),
    );
  });

  it("counts large texts in a worker thread with the same result", async () => {
    const large = "The gateway counts every token it reserves. ".repeat(1000);
    expect(large.length).toBeGreaterThan(10_000);
    const before = { ...counter.stats };
    expect(await counter.countPrompt({ texts: [large], messages: 0, images: 0, tokens: 0 }, "gpt-4o")).toBe(countTokens(large));
    expect(counter.stats.workerRuns).toBe(before.workerRuns + 1);
    // Counted again, it comes from the cache: same number, no worker.
    expect(await counter.countOutput(large, "gpt-4o")).toBe(countTokens(large));
    expect(counter.stats).toEqual({ workerRuns: before.workerRuns + 1, cacheHits: before.cacheHits + 1 });
  });
});
