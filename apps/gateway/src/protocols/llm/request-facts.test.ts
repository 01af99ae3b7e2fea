import { describe, expect, it } from "vitest";
import { requestedOutputCap, requestFacts, requireModel } from "./request-facts.ts";

describe("requestFacts", () => {
  it("tells the policy whether the call streams and the largest output it asks for", () => {
    expect(requestFacts("chat", { model: "m", stream: true, max_tokens: 512, messages: [{ content: "secret prompt" }] })).toEqual({ stream: true, max_tokens: 512 });
    expect(requestFacts("chat", { max_completion_tokens: 10, max_tokens: 9_000 })).toEqual({ max_tokens: 9_000 });
    expect(requestFacts("responses", { max_output_tokens: 77 })).toEqual({ max_tokens: 77 });
    expect(requestFacts("embeddings", { input: "x", max_tokens: 5 })).toEqual({});
  });

  it("tells what account calls will do", () => {
    expect(requestFacts("batches", { endpoint: "/v1/embeddings", completion_window: "24h", input_file_id: "file-1" })).toEqual({
      endpoint: "/v1/embeddings",
      completion_window: "24h",
    });
    expect(requestFacts("fine_tuning", { training_file: "file-2", model: "m" })).toEqual({ training_file: "file-2" });
    expect(requestFacts("files", undefined)).toEqual({});
  });

  it("ignores cap values that are not finite numbers", () => {
    expect(requestedOutputCap("chat", { max_tokens: "5000" })).toBeUndefined();
    expect(requestedOutputCap("messages", { max_tokens: Number.NaN })).toBeUndefined();
  });
});

describe("requireModel", () => {
  it("returns the model, or throws a 400 naming the field", () => {
    expect(requireModel({ model: "demo-chat" })).toBe("demo-chat");
    for (const json of [{}, { model: "" }, { model: 42 }, { model: ["a"] }]) {
      expect(() => requireModel(json)).toThrow(expect.objectContaining({ code: "TG_ERR_BAD_REQUEST", param: "model", status: 400 }));
    }
  });
});
