import { encode } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it } from "vitest";
import { countTextTokens, planReply, replyText } from "./demo-text.ts";

describe("demo reply text", () => {
  it("quotes the prompt and is the same every time", () => {
    const first = replyText("demo-chat", "What is   the\nweather?");
    expect(first).toContain('Demo reply from demo-chat: you said "What is the weather?".');
    expect(replyText("demo-chat", "What is   the\nweather?")).toBe(first);
    expect(replyText("demo-chat", "Something else")).not.toBe(first);
  });

  it("says so when the prompt is empty", () => {
    expect(replyText("demo-chat", "  ")).toContain("you said nothing.");
  });

  it("quotes only the start of a long prompt, without splitting a surrogate pair", () => {
    const prompt = `${"a".repeat(159)}😀 and much more text after it`;
    const reply = replyText("demo-chat", prompt);
    expect(reply).toContain(`"${"a".repeat(159)}…"`);
    expect(reply).not.toContain("much more");
  });

  it("counts the full reply's tokens with o200k_base", () => {
    const plan = planReply("demo-chat", "Hello");
    expect(plan.truncated).toBe(false);
    expect(plan.outputTokens).toBe(encode(plan.text).length);
    expect(plan.outputTokens).toBeGreaterThan(30);
  });

  it("cuts the reply at the token limit and reports the limit as the output tokens", () => {
    const plan = planReply("demo-chat", "Hello", 7);
    expect(plan.truncated).toBe(true);
    expect(plan.outputTokens).toBe(7);
    expect(replyText("demo-chat", "Hello").startsWith(plan.text)).toBe(true);
    expect(encode(plan.text).length).toBeLessThanOrEqual(7);
  });

  it("does not cut a reply that fits the limit", () => {
    const full = planReply("demo-chat", "Hello");
    const limited = planReply("demo-chat", "Hello", full.outputTokens);
    expect(limited.truncated).toBe(false);
    expect(limited.text).toBe(full.text);
  });

  it("streams pieces that join back into the reply, each already quoted as JSON", () => {
    const plan = planReply("demo-chat", "Tell me\tsomething", 20);
    expect(plan.pieces.join("")).toBe(plan.text);
    expect(plan.quotedPieces.map((quoted) => JSON.parse(quoted) as string)).toEqual(plan.pieces);
  });

  it("treats special tokens a caller sends as plain text instead of failing", () => {
    expect(countTextTokens("before <|endoftext|> after")).toBeGreaterThan(3);
    expect(() => planReply("demo-chat", "<|endoftext|><|im_start|>", 5)).not.toThrow();
  });

  it("counts the same text the same way, cached or not", () => {
    const long = "word ".repeat(1000);
    expect(countTextTokens("hello world")).toBe(encode("hello world").length);
    expect(countTextTokens("hello world")).toBe(encode("hello world").length);
    expect(countTextTokens(long)).toBe(encode(long).length);
    expect(countTextTokens("")).toBe(0);
  });
});
