import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoProvider, type DemoProvider } from "./demo-provider.ts";

let provider: DemoProvider;
let client: OpenAI;

beforeAll(async () => {
  provider = await startDemoProvider({ apiKey: "sk-demo-files" });
  client = new OpenAI({ baseURL: `${provider.url}/v1`, apiKey: "sk-demo-files", maxRetries: 0 });
});

afterAll(async () => {
  await provider.close();
});

const trainingLine = `${JSON.stringify({ messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }] })}\n`;

describe("the Files API", () => {
  it("uploads, retrieves, downloads, lists and deletes a file", async () => {
    const uploaded = await client.files.create({
      file: await toFile(Buffer.from(trainingLine), "train.jsonl"),
      purpose: "fine-tune",
    });
    expect(uploaded).toMatchObject({
      object: "file",
      filename: "train.jsonl",
      purpose: "fine-tune",
      bytes: Buffer.byteLength(trainingLine),
      status: "processed",
    });
    expect(uploaded.id).toMatch(/^file-/u);

    expect(await client.files.retrieve(uploaded.id)).toEqual(uploaded);
    const content = await client.files.content(uploaded.id);
    expect(await content.text()).toBe(trainingLine);

    const listed = [];
    for await (const file of client.files.list()) listed.push(file.id);
    expect(listed).toContain(uploaded.id);

    expect(await client.files.delete(uploaded.id)).toEqual({ id: uploaded.id, object: "file", deleted: true });
    const gone = await client.files.retrieve(uploaded.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError);
    const deletedTwice = await client.files.delete(uploaded.id).catch((e: unknown) => e);
    expect(deletedTwice).toMatchObject({ status: 404 });
  });

  it("lists by purpose, newest first, page by page", async () => {
    const ids = [];
    for (const name of ["one", "two", "three"]) {
      const file = await client.files.create({ file: await toFile(Buffer.from(name), `${name}.jsonl`), purpose: "batch" });
      ids.push(file.id);
    }
    await client.files.create({ file: await toFile(Buffer.from("v"), "v.png"), purpose: "vision" });

    const firstPage = await client.files.list({ purpose: "batch", limit: 2 });
    expect(firstPage.data.map((file) => file.id)).toEqual([ids[2], ids[1]]);
    expect(firstPage.has_more).toBe(true);
    const all = [];
    for await (const file of client.files.list({ purpose: "batch", limit: 2 })) all.push(file.id);
    expect(all).toEqual([...ids].reverse());
  });

  it("answers 400 without a purpose, with an unknown purpose or without a file", async () => {
    const form = new FormData();
    form.append("file", new Blob(["x"]), "x.jsonl");
    const noPurpose = await fetch(`${provider.url}/v1/files`, {
      method: "POST",
      headers: { authorization: "Bearer sk-demo-files" },
      body: form,
    });
    expect(noPurpose.status).toBe(400);
    expect(await noPurpose.json()).toMatchObject({ error: { param: "purpose" } });

    const badPurpose = await client.files
      // @ts-expect-error: a purpose the API does not have
      .create({ file: await toFile(Buffer.from("x"), "x.jsonl"), purpose: "anything" })
      .catch((e: unknown) => e);
    expect(badPurpose).toMatchObject({ status: 400, param: "purpose" });

    const onlyPurpose = new FormData();
    onlyPurpose.append("purpose", "batch");
    const noFile = await fetch(`${provider.url}/v1/files`, {
      method: "POST",
      headers: { authorization: "Bearer sk-demo-files" },
      body: onlyPurpose,
    });
    expect(noFile.status).toBe(400);
    expect(await noFile.json()).toMatchObject({ error: { param: "file" } });
  });

  it("answers 400 to an upload that is not multipart", async () => {
    const response = await fetch(`${provider.url}/v1/files`, {
      method: "POST",
      headers: { authorization: "Bearer sk-demo-files", "content-type": "application/json" },
      body: JSON.stringify({ purpose: "batch" }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { type: "invalid_request_error" } });
  });

  it("answers 413 in OpenAI's format to a file above the size limit", async () => {
    const form = new FormData();
    form.append("purpose", "batch");
    form.append("file", new Blob([new Uint8Array(16 * 1024 * 1024 + 1)]), "big.jsonl");
    const response = await fetch(`${provider.url}/v1/files`, {
      method: "POST",
      headers: { authorization: "Bearer sk-demo-files" },
      body: form,
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { type: "invalid_request_error" } });
  });
});
