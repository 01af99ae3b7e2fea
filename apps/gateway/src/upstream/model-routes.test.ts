import { describe, expect, it } from "vitest";
import { configSchema } from "../config/schema.ts";
import { ModelRoutes } from "./model-routes.ts";
import type { Provider } from "./provider.ts";
import { createProvider } from "./providers/create-provider.ts";

function routes(models: Record<string, unknown>): ModelRoutes {
  const config = configSchema.parse({
    policy: { dir: "/nonexistent" },
    llm: {
      providers: {
        a: { type: "openai-compatible", base_url: "http://a.internal/v1", apis: ["chat", "embeddings"] },
        b: { type: "openai-compatible", base_url: "http://b.internal/v1", apis: ["chat", "messages"] },
        c: { type: "openai-compatible", base_url: "http://c.internal/v1", apis: ["chat"] },
      },
      models,
    },
  });
  const providers = new Map<string, Provider>(Object.entries(config.llm.providers).map(([name, p]) => [name, createProvider(name, p)]));
  return new ModelRoutes(config.llm.models, providers);
}

const names = (plan: readonly { provider: Provider }[]) => plan.map((d) => d.provider.name);
/** A random source that returns the given values in turn. */
const draws = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length] as number;
};

describe("ModelRoutes.plan", () => {
  const table = routes({
    weighted: { deployments: [{ provider: "a", weight: 1 }, { provider: "b", weight: 3 }, { provider: "c", weight: 0 }] },
    standby_first: { deployments: [{ provider: "c", weight: 0 }, { provider: "a", weight: 1 }, { provider: "b", weight: 1 }] },
    aliased: { deployments: [{ provider: "a", model: "llama-3.3-70b", timeout: "2s", idle_timeout: "5s" }] },
  });

  it("draws the first deployment by weight, the others following in configured order", () => {
    expect(names(table.plan("weighted", "chat", () => 0))).toEqual(["a", "b", "c"]);
    expect(names(table.plan("weighted", "chat", () => 0.2499))).toEqual(["a", "b", "c"]);
    expect(names(table.plan("weighted", "chat", () => 0.25))).toEqual(["b", "a", "c"]);
    expect(names(table.plan("weighted", "chat", () => 0.999_999))).toEqual(["b", "a", "c"]);
  });

  it("never puts a deployment of weight 0 first, whatever the draw: it is only a fallback", () => {
    for (const value of [0, 0.1, 0.5, 0.9, 0.999_999, 1]) {
      const plan = names(table.plan("standby_first", "chat", () => value));
      expect(plan[0]).not.toBe("c");
      expect(plan).toContain("c");
    }
    const firsts = new Set(Array.from({ length: 50 }, (_, i) => names(table.plan("standby_first", "chat", draws(i / 50)))[0]));
    expect(firsts).toEqual(new Set(["a", "b"]));
  });

  it("shares the calls by weight over many draws", () => {
    const counts = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 400; i++) counts[names(table.plan("weighted", "chat", () => i / 400))[0] as "a" | "b" | "c"]++;
    expect(counts).toEqual({ a: 100, b: 300, c: 0 });
  });

  it("only plans deployments that serve the API called", () => {
    expect(names(table.plan("weighted", "messages"))).toEqual(["b"]);
    expect(names(table.plan("weighted", "embeddings"))).toEqual(["a"]);
    expect(table.plan("weighted", "responses")).toEqual([]);
    expect(table.plan("unknown", "chat")).toEqual([]);
    expect(table.apis("weighted")).toEqual(["chat", "embeddings", "messages"]);
  });

  it("carries the model's name at the provider and the deployment's timeouts", () => {
    const [deployment] = table.plan("aliased", "chat");
    expect(deployment).toMatchObject({ model: "llama-3.3-70b", timeoutMs: 2_000, idleTimeoutMs: 5_000 });
    expect(table.plan("weighted", "chat")[0]?.model).toBe("weighted");
    expect(table.has("aliased")).toBe(true);
    expect(table.names()).toEqual(["weighted", "standby_first", "aliased"]);
  });
});
