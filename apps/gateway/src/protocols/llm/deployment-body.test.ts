import { describe, expect, it } from "vitest";
import type { Deployment } from "../../upstream/model-routes.ts";
import type { Provider } from "../../upstream/provider.ts";
import { cappedFields, deploymentBody } from "./deployment-body.ts";
import { parseJsonBody } from "./json-body.ts";

const at = (model: string): Deployment => ({ provider: {} as Provider, model, weight: 1, timeoutMs: 1, idleTimeoutMs: 1 });
const json = (text: string) => parseJsonBody(Buffer.from(text));

describe("cappedFields", () => {
  it("lowers every chat cap field above the cap, both the current and the deprecated one", () => {
    expect(cappedFields("chat", { max_tokens: 10_000 }, 4096)).toEqual({ max_tokens: 4096 });
    expect(cappedFields("chat", { max_completion_tokens: 9_000 }, 4096)).toEqual({ max_completion_tokens: 4096 });
    expect(cappedFields("chat", { max_completion_tokens: 10, max_tokens: 100_000 }, 4096)).toEqual({ max_tokens: 4096 });
  });

  it("sets the API's own cap field when the caller set none (null counts as none)", () => {
    expect(cappedFields("chat", {}, 4096)).toEqual({ max_completion_tokens: 4096 });
    expect(cappedFields("chat", { max_tokens: null }, 4096)).toEqual({ max_completion_tokens: 4096 });
    expect(cappedFields("responses", {}, 4096)).toEqual({ max_output_tokens: 4096 });
    expect(cappedFields("messages", {}, 4096)).toEqual({ max_tokens: 4096 });
  });

  it("leaves a smaller request alone, and replaces what is not a number", () => {
    expect(cappedFields("chat", { max_tokens: 100 }, 4096)).toBeUndefined();
    expect(cappedFields("responses", { max_output_tokens: 4096 }, 4096)).toBeUndefined();
    expect(cappedFields("messages", { max_tokens: "99999" }, 4096)).toEqual({ max_tokens: 4096 });
  });

  it("does nothing without a cap, or for APIs without output", () => {
    expect(cappedFields("chat", { max_tokens: 10_000 }, undefined)).toBeUndefined();
    expect(cappedFields("embeddings", {}, 4096)).toBeUndefined();
  });
});

describe("deploymentBody", () => {
  it("sends the caller's own bytes when nothing changes", () => {
    const body = json('{ "model": "demo-chat",  "max_tokens": 5 }');
    expect(deploymentBody(body, "demo-chat", "chat", 4096)(at("demo-chat"))).toBe(body.raw);
  });

  it("renames the model for a deployment that knows it by another name", () => {
    const body = json('{"model":"gpt-4o-mini","messages":[]}');
    const forDeployment = deploymentBody(body, "gpt-4o-mini", "chat", undefined);
    expect(JSON.parse(forDeployment(at("demo-chat")).toString())).toEqual({ model: "demo-chat", messages: [] });
    expect(forDeployment(at("gpt-4o-mini"))).toBe(body.raw);
  });

  it("caps and renames together, making each distinct body once", () => {
    const body = json('{"model":"m","max_output_tokens":100000,"input":"hi"}');
    const forDeployment = deploymentBody(body, "m", "responses", 4096);
    const first = forDeployment(at("m"));
    expect(JSON.parse(first.toString())).toEqual({ model: "m", max_output_tokens: 4096, input: "hi" });
    expect(forDeployment(at("m"))).toBe(first);
    expect(JSON.parse(forDeployment(at("other")).toString())).toMatchObject({ model: "other", max_output_tokens: 4096 });
  });
});
