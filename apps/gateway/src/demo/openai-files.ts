/**
 * OpenAI's Files API: upload (multipart: `file` and `purpose`), list, retrieve, download and delete.
 * Files live in memory, bounded in number and in total size; the oldest go first when full.
 */
import type { FastifyInstance } from "fastify";
import { BoundedCollection } from "./bounded-collection.ts";
import { unixSeconds, type IdSource } from "./demo-ids.ts";
import { listBody, queryParameter, readListQuery, unknownCursor } from "./list-query.ts";
import { ProviderError } from "./provider-error.ts";
import { openAiFields } from "./request-fields.ts";
import { sendJson } from "./response-writer.ts";

export const maxFileBytes = 16 * 1024 * 1024;
const maxStoredFiles = 512;
const maxStoredBytes = 64 * 1024 * 1024;
const purposes = new Set(["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]);

export interface StoredFile {
  readonly id: string;
  readonly filename: string;
  readonly purpose: string;
  readonly createdAt: number;
  readonly content: Buffer;
}

export type FileStore = BoundedCollection<StoredFile>;

export function createFileStore(): FileStore {
  return new BoundedCollection<StoredFile>({
    maxItems: maxStoredFiles,
    maxWeight: maxStoredBytes,
    weigh: (file) => file.content.length,
  });
}

function fileObject(file: StoredFile): unknown {
  return {
    id: file.id,
    object: "file",
    bytes: file.content.length,
    created_at: file.createdAt,
    filename: file.filename,
    purpose: file.purpose,
    status: "processed",
    expires_at: null,
    status_details: null,
  };
}

function fileNotFound(id: string): ProviderError {
  return new ProviderError(404, `No such File object: ${id}`, { param: "id" });
}

export function openAiFilesRoutes(app: FastifyInstance, ids: IdSource, files: FileStore): void {
  app.post("/v1/files", async (request, reply) => {
    if (!request.isMultipart()) {
      throw new ProviderError(400, "Files must be uploaded as multipart/form-data with the fields 'file' and 'purpose'.");
    }
    let upload: { filename: string; content: Buffer } | undefined;
    let purpose: string | undefined;
    const parts = request.parts({ limits: { fileSize: maxFileBytes, files: 1, fields: 16 } });
    for await (const part of parts) {
      if (part.type === "file") {
        if (part.fieldname === "file") upload = { filename: part.filename, content: await part.toBuffer() };
        else part.file.resume();
      } else if (part.fieldname === "purpose" && typeof part.value === "string") {
        purpose = part.value;
      }
    }
    if (upload === undefined) throw openAiFields.missing("file");
    if (purpose === undefined) throw openAiFields.missing("purpose");
    if (!purposes.has(purpose)) {
      throw openAiFields.invalid("purpose", `'${purpose}' is not one of ${[...purposes].join(", ")}.`);
    }
    const file: StoredFile = {
      id: ids.next("file-"),
      filename: upload.filename,
      purpose,
      createdAt: unixSeconds(),
      content: upload.content,
    };
    files.add(file);
    return sendJson(request, reply, fileObject(file));
  });

  app.get("/v1/files", async (request, reply) => {
    const query = readListQuery(request.query, 10_000, 10_000);
    const purpose = queryParameter(request.query, "purpose");
    const page = files.page({
      ...query,
      include: purpose === undefined ? undefined : (file) => file.purpose === purpose,
    });
    if (page === undefined) throw unknownCursor(query.after);
    return sendJson(request, reply, listBody(page, fileObject));
  });

  app.get<{ Params: { id: string } }>("/v1/files/:id", async (request, reply) => {
    const file = files.get(request.params.id);
    if (file === undefined) throw fileNotFound(request.params.id);
    return sendJson(request, reply, fileObject(file));
  });

  app.get<{ Params: { id: string } }>("/v1/files/:id/content", async (request, reply) => {
    const file = files.get(request.params.id);
    if (file === undefined) throw fileNotFound(request.params.id);
    return reply.type("application/octet-stream").send(file.content);
  });

  app.delete<{ Params: { id: string } }>("/v1/files/:id", async (request, reply) => {
    if (!files.delete(request.params.id)) throw fileNotFound(request.params.id);
    return sendJson(request, reply, { id: request.params.id, object: "file", deleted: true });
  });
}
