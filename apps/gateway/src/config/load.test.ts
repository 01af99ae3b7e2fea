import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "./config-error.ts";
import { configReference } from "./config-reference.ts";
import { configJsonSchema } from "./json-schema.ts";
import { loadConfig, parseConfigText } from "./load.ts";

const file = "/etc/tollgate/tollgate.yaml";
const minimal = "policy:\n  dir: ./policies\n";

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): readonly string[] {
  try {
    parseConfigText(text, file, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("the configuration was accepted");
}

describe("configuration", () => {
  it("accepts a minimal file and fills in the defaults", () => {
    const config = parseConfigText(minimal, file, {});
    expect(config.server.listen.port).toBe(8443);
    expect(config.server.body_limit).toBe(10 * 1024 * 1024);
    expect(config.llm.retries.attempts).toBe(2);
  });

  it("resolves relative paths against the file's directory", () => {
    const config = parseConfigText(`${minimal}identity:\n  svid: { cert: certs/gw.pem, key: /abs/key.pem }\n  bundles: { example.org: b.pem }\n`, file, {});
    expect(config.policy.dir).toBe("/etc/tollgate/policies");
    expect(config.identity.svid.cert).toBe("/etc/tollgate/certs/gw.pem");
    expect(config.identity.svid.key).toBe("/abs/key.pem");
    expect(config.identity.bundles["example.org"]).toBe("/etc/tollgate/b.pem");
  });

  it("names an unknown key and suggests the nearest known one", () => {
    expect(problemsOf(`${minimal}llm:\n  providrs: {}\n`)).toEqual(['llm.providrs: unknown key; did you mean "providers"?']);
  });

  it("names the key, the problem and the fix for a bad duration and a bad size", () => {
    const problems = problemsOf(
      `${minimal}server:\n  body_limit: lots\nllm:\n  providers: { p: { type: openai } }\n  models:\n    m: { deployments: [{ provider: p, timeout: 3 seconds }] }\n`,
    );
    expect(problems).toContainEqual(expect.stringMatching(/^server\.body_limit: "lots" is not a size; write it like/));
    expect(problems).toContainEqual(expect.stringMatching(/^llm\.models\.m\.deployments\[0\]\.timeout: .*3 seconds/));
  });

  it("checks references between sections", () => {
    const problems = problemsOf(`${minimal}llm:\n  models:\n    m: { deployments: [{ provider: opnai }] }\n  account_provider: nobody\n`);
    expect(problems).toContainEqual('llm.models.m.deployments[0].provider: unknown provider "opnai"; declare it under llm.providers (known: none)');
    expect(problems).toContainEqual('llm.account_provider: unknown provider "nobody"; name one declared under llm.providers');
  });

  it("requires a base_url where a provider type has no default", () => {
    expect(problemsOf(`${minimal}llm:\n  providers: { vllm: { type: openai-compatible } }\n`)).toEqual([
      "llm.providers.vllm.base_url: a provider of type openai-compatible needs base_url",
    ]);
  });

  it("reads secrets from the environment, and says which variable is missing", () => {
    const text = `${minimal}llm:\n  providers: { openai: { type: openai, api_key: "\${OPENAI_API_KEY}" } }\n`;
    expect(parseConfigText(text, file, { OPENAI_API_KEY: "sk-test" }).llm.providers.openai?.api_key).toBe("sk-test");
    expect(problemsOf(text)).toEqual([
      "llm.providers.openai.api_key refers to the environment variable OPENAI_API_KEY, which is not set; set it, or write ${OPENAI_API_KEY:-default} to give a default",
    ]);
    const withDefault = `${minimal}telemetry:\n  service_name: "\${SERVICE:-tollgate-eu}"\n`;
    expect(parseConfigText(withDefault, file, {}).telemetry.service_name).toBe("tollgate-eu");
  });

  it("does not let an environment value inject YAML", () => {
    const text = `${minimal}telemetry:\n  service_name: "\${NAME}"\n`;
    expect(parseConfigText(text, file, { NAME: "x\nllm: {demo: true}" }).llm.demo).toBe(false);
  });

  it("reports YAML syntax errors and duplicate keys", () => {
    expect(problemsOf("server: [\n")[0]).toMatch(/^YAML syntax:/);
    expect(problemsOf(`${minimal}server: {}\nserver: {}\n`)[0]).toMatch(/^YAML syntax: .*unique/i);
  });

  it("requires a policy source", () => {
    expect(problemsOf("llm: {}\n")).toEqual(["policy: no policy source: set policy.dir (Rego sources) or policy.bundle (a built bundle)"]);
  });

  it("runs on embedded defaults without a file, routing real providers only when their keys are set", () => {
    const cwd = resolve("/tmp/nowhere");
    const plain = loadConfig({ env: {}, cwd }).config;
    expect(Object.keys(plain.llm.models)).toEqual(["demo-chat", "demo-embed"]);
    expect(plain.llm.demo).toBe(true);
    expect(plain.identity.dev_ca.enabled).toBe(true);
    const withKeys = loadConfig({ env: { OPENAI_API_KEY: "sk-1", ANTHROPIC_API_KEY: "sk-ant-1" }, cwd }).config;
    expect(withKeys.llm.models["gpt-4o-mini"]?.deployments[0]?.provider).toBe("openai");
    expect(withKeys.llm.models["claude-haiku-4-5"]?.deployments[0]?.provider).toBe("anthropic");
    expect(withKeys.llm.account_provider).toBe("openai");
  });

  it("keeps the committed JSON Schema equal to the schema the loader validates with", () => {
    const committed = JSON.parse(readFileSync(join(import.meta.dirname, "../../../../docs/config.schema.json"), "utf8")) as unknown;
    expect(committed).toEqual(configJsonSchema());
  });

  it("keeps the committed configuration reference equal to the generated one", () => {
    const committed = readFileSync(join(import.meta.dirname, "../../../../docs/configuration.md"), "utf8");
    expect(committed).toBe(configReference());
  });
});
