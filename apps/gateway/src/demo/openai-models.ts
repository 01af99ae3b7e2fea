/** OpenAI's Models API: GET /v1/models and GET /v1/models/{model}. */
import type { FastifyInstance } from "fastify";
import { demoModelOwner, demoModels, findDemoModel, modelNotFound, type DemoModel } from "./demo-models.ts";
import { sendJson } from "./response-writer.ts";

export function openAiModelsRoutes(app: FastifyInstance): void {
  const listing = { object: "list", data: demoModels.map(modelObject) };

  app.get("/v1/models", async (request, reply) => sendJson(request, reply, listing));

  app.get<{ Params: { model: string } }>("/v1/models/:model", async (request, reply) => {
    const model = findDemoModel(request.params.model);
    if (model === undefined) throw modelNotFound(request.params.model);
    return sendJson(request, reply, modelObject(model));
  });
}

function modelObject(model: DemoModel): unknown {
  return { id: model.id, object: "model", created: model.created, owned_by: demoModelOwner };
}
