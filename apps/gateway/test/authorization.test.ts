import Anthropic from "@anthropic-ai/sdk";
import OpenAI, { toFile } from "openai";
import { FormData } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quickstartIdentities } from "../src/config/embedded.ts";
import { type Harness, type Identity, startHarness } from "./harness/gateway-harness.ts";

/**
 * "May they do this?" through a real gateway and the shipped policy: each quickstart identity
 * against each LLM endpoint, allowed or denied exactly as policies/data.json says. An allowed call
 * names its grant in the log; a denied one reaches no upstream and carries the policy's reasons to
 * the caller (`reasons` in the error body) and to the log line.
 */

const target = "spiffe://ai.company.org/service/llm-proxy";

interface Fixtures {
  fileId: string;
  batchFileId: string;
  jobId: string;
  batchId: string;
}

interface EndpointCall {
  method: "GET" | "POST" | "DELETE";
  path: string;
  json?: unknown;
  form?: () => FormData;
}

interface Endpoint {
  /** Policy action and resource name the gateway asks about. */
  action: string;
  model: string;
  /** Whether an allowed call goes to the upstream (the model list is the gateway's own). */
  forwarded: boolean;
  errors: "openai" | "anthropic";
  call(fixtures: Fixtures): EndpointCall;
}

const chatMessages = [{ role: "user", content: "hello" }];

const endpoints = {
  chat: {
    action: "chat",
    model: "demo-chat",
    forwarded: true,
    errors: "openai",
    call: () => ({ method: "POST", path: "/v1/chat/completions", json: { model: "demo-chat", messages: chatMessages } }),
  },
  responses: {
    action: "chat",
    model: "demo-chat",
    forwarded: true,
    errors: "openai",
    call: () => ({ method: "POST", path: "/v1/responses", json: { model: "demo-chat", input: "hello" } }),
  },
  messages: {
    action: "chat",
    model: "demo-chat",
    forwarded: true,
    errors: "anthropic",
    call: () => ({ method: "POST", path: "/v1/messages", json: { model: "demo-chat", max_tokens: 50, messages: chatMessages } }),
  },
  embeddings: {
    action: "embed",
    model: "demo-embed",
    forwarded: true,
    errors: "openai",
    call: () => ({ method: "POST", path: "/v1/embeddings", json: { model: "demo-embed", input: "a document" } }),
  },
  models: { action: "list", model: "", forwarded: false, errors: "openai", call: () => ({ method: "GET", path: "/v1/models" }) },
  "files upload": {
    action: "file.upload",
    model: "",
    forwarded: true,
    errors: "openai",
    call: () => ({
      method: "POST",
      path: "/v1/files",
      form: () => {
        const form = new FormData();
        form.append("purpose", "fine-tune");
        form.append("file", new Blob(['{"messages":[{"role":"user","content":"hi"}]}\n']), "train.jsonl");
        return form;
      },
    }),
  },
  "files list": { action: "file.list", model: "", forwarded: true, errors: "openai", call: () => ({ method: "GET", path: "/v1/files" }) },
  "files read": {
    action: "file.read",
    model: "",
    forwarded: true,
    errors: "openai",
    call: ({ fileId }) => ({ method: "GET", path: `/v1/files/${fileId}` }),
  },
  "files delete": {
    action: "file.delete",
    model: "",
    forwarded: true,
    errors: "openai",
    call: ({ fileId }) => ({ method: "DELETE", path: `/v1/files/${fileId}` }),
  },
  "fine-tuning create": {
    action: "fine_tune.create",
    model: "demo-chat",
    forwarded: true,
    errors: "openai",
    call: ({ fileId }) => ({ method: "POST", path: "/v1/fine_tuning/jobs", json: { model: "demo-chat", training_file: fileId } }),
  },
  "fine-tuning list": {
    action: "fine_tune.list",
    model: "",
    forwarded: true,
    errors: "openai",
    call: () => ({ method: "GET", path: "/v1/fine_tuning/jobs" }),
  },
  "fine-tuning read": {
    action: "fine_tune.read",
    model: "",
    forwarded: true,
    errors: "openai",
    call: ({ jobId }) => ({ method: "GET", path: `/v1/fine_tuning/jobs/${jobId}` }),
  },
  "fine-tuning cancel": {
    action: "fine_tune.cancel",
    model: "",
    forwarded: true,
    errors: "openai",
    call: ({ jobId }) => ({ method: "POST", path: `/v1/fine_tuning/jobs/${jobId}/cancel` }),
  },
  "batches create": {
    action: "batch.create",
    model: "",
    forwarded: true,
    errors: "openai",
    call: ({ batchFileId }) => ({ method: "POST", path: "/v1/batches", json: { input_file_id: batchFileId, endpoint: "/v1/embeddings", completion_window: "24h" } }),
  },
  "batches list": { action: "batch.list", model: "", forwarded: true, errors: "openai", call: () => ({ method: "GET", path: "/v1/batches" }) },
  "batches read": {
    action: "batch.read",
    model: "",
    forwarded: true,
    errors: "openai",
    call: ({ batchId }) => ({ method: "GET", path: `/v1/batches/${batchId}` }),
  },
  "batches cancel": {
    action: "batch.cancel",
    model: "",
    forwarded: true,
    errors: "openai",
    call: ({ batchId }) => ({ method: "POST", path: `/v1/batches/${batchId}/cancel` }),
  },
} satisfies Record<string, Endpoint>;

type EndpointName = keyof typeof endpoints;

/** policies/data.json, read as a table: the grants that allow each identity each endpoint; absent: denied. */
const allowedBy: Record<Identity, Partial<Record<EndpointName, readonly string[]>>> = {
  "customer-support": {
    chat: ["customer-support-chat"],
    responses: ["customer-support-chat"],
    messages: ["customer-support-chat"],
    models: ["customer-support-chat"],
  },
  "code-review": {
    chat: ["code-review-chat"],
    responses: ["code-review-chat"],
    messages: ["code-review-chat"],
    embeddings: ["code-review-embed"],
    models: ["code-review-chat", "code-review-embed"],
  },
  training: {
    embeddings: ["training-embed"],
    "files upload": ["training-files"],
    "files list": ["training-files"],
    "files read": ["training-files"],
    "fine-tuning create": ["training-fine-tune"],
    "fine-tuning list": ["training-fine-tune"],
    "fine-tuning read": ["training-fine-tune"],
    "batches create": ["training-batches"],
    "batches list": ["training-batches"],
    "batches read": ["training-batches"],
  },
  // The operator identity runs the platform; it has no LLM grant at all.
  operator: {},
};

let h: Harness;
let fixtures: Fixtures;

beforeAll(async () => {
  h = await startHarness({ upstreams: 1 });
  // Objects for the read, delete and cancel calls to name, made by the one identity allowed to.
  const training = h.openai("training");
  const file = await training.files.create({
    file: await toFile(Buffer.from('{"messages":[{"role":"user","content":"hi"}]}\n'), "train.jsonl"),
    purpose: "fine-tune",
  });
  const batchFile = await training.files.create({
    file: await toFile(Buffer.from('{"custom_id":"1","method":"POST","url":"/v1/embeddings","body":{"model":"demo-embed","input":"x"}}\n'), "batch.jsonl"),
    purpose: "batch",
  });
  const job = await training.fineTuning.jobs.create({ model: "demo-chat", training_file: file.id });
  const batch = await training.batches.create({ input_file_id: batchFile.id, endpoint: "/v1/embeddings", completion_window: "24h" });
  fixtures = { fileId: file.id, batchFileId: batchFile.id, jobId: job.id, batchId: batch.id };
});

afterAll(() => h.close());

async function send(identity: Identity, endpoint: Endpoint) {
  const call = endpoint.call(fixtures);
  const init =
    call.form !== undefined
      ? { method: call.method, body: call.form() }
      : call.json !== undefined
        ? { method: call.method, headers: { "content-type": "application/json" }, body: JSON.stringify(call.json) }
        : { method: call.method };
  const response = await h.fetch(identity, call.path, init);
  const requestId = response.headers.get("x-request-id");
  const body = (await response.json()) as Record<string, unknown>;
  const log = await h.requestLog(requestId);
  return { status: response.status, requestId, body, log };
}

function upstreamRequests(): number {
  return h.upstreams.reduce((sum, upstream) => sum + upstream.requests.length, 0);
}

function denialReason(identity: Identity, endpoint: Endpoint): string {
  const resource = endpoint.model === "" ? "" : ` model "${endpoint.model}"`;
  return `no grant allows ${quickstartIdentities[identity]} to ${endpoint.action}${resource} on ${target}`;
}

const cells = (Object.keys(allowedBy) as Identity[]).flatMap((identity) =>
  (Object.keys(endpoints) as EndpointName[]).map((name) => [identity, name, allowedBy[identity][name]] as const),
);

describe("the shipped policy, identity by endpoint", () => {
  it.each(cells)("%s -> %s", async (identity, name, grants) => {
    const endpoint: Endpoint = endpoints[name];
    const seenBefore = upstreamRequests();
    const answer = await send(identity, endpoint);

    if (grants !== undefined) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.log).toMatchObject({
        caller: quickstartIdentities[identity],
        target,
        decision: "allow",
        reasons: grants.map((grant) => `allowed by grant ${grant}`),
        resource: { kind: "model", name: endpoint.model, action: endpoint.action },
      });
      expect(upstreamRequests() - seenBefore).toBe(endpoint.forwarded ? 1 : 0);
      return;
    }

    const reasons = [denialReason(identity, endpoint)];
    expect(answer.status).toBe(403);
    const message = `Denied by policy: ${reasons.join("; ")}`;
    if (endpoint.errors === "anthropic") {
      expect(answer.body).toEqual({
        type: "error",
        error: { type: "permission_error", message, code: "TG_ERR_POLICY_DENIED", reasons },
        request_id: answer.requestId,
      });
    } else {
      expect(answer.body).toEqual({ error: { message, type: "permission_error", param: null, code: "TG_ERR_POLICY_DENIED", reasons } });
    }
    expect(answer.log).toMatchObject({
      caller: quickstartIdentities[identity],
      decision: "deny",
      reasons,
      outcome: "denied",
      status: 403,
      error: { code: "TG_ERR_POLICY_DENIED", reason: "policy.denied" },
      resource: { kind: "model", name: endpoint.model, action: endpoint.action },
    });
    expect(answer.log?.policyRevision).toEqual(h.gateway.engine.status().revision);
    expect(upstreamRequests()).toBe(seenBefore);
  });
});

describe("the reasons, as the SDKs show them", () => {
  it("OpenAI's SDK raises PermissionDeniedError carrying the reasons", async () => {
    const denied = await h
      .openai("customer-support")
      .embeddings.create({ model: "demo-embed", input: "x" })
      .catch((error: unknown) => error);
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const error = denied as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(error.status).toBe(403);
    expect(error.code).toBe("TG_ERR_POLICY_DENIED");
    expect(error.error).toMatchObject({ reasons: [denialReason("customer-support", endpoints.embeddings)] });
  });

  it("Anthropic's SDK raises PermissionDeniedError carrying the reasons", async () => {
    const denied = await h
      .anthropic("training")
      .messages.create({ model: "demo-chat", max_tokens: 10, messages: [{ role: "user", content: "hi" }] })
      .catch((error: unknown) => error);
    expect(denied).toBeInstanceOf(Anthropic.PermissionDeniedError);
    const error = denied as InstanceType<typeof Anthropic.PermissionDeniedError>;
    expect(error.status).toBe(403);
    expect(error.error).toMatchObject({ error: { type: "permission_error", reasons: [denialReason("training", endpoints.messages)] } });
  });
});
