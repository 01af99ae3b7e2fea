/** The models the demo provider serves: one chat model and one embedding model. */
import { ProviderError, type ProviderFamily } from "./provider-error.ts";

export type DemoModelKind = "chat" | "embedding";

export interface DemoModel {
  readonly id: string;
  readonly kind: DemoModelKind;
  /** Unix seconds, fixed so that listings are deterministic. */
  readonly created: number;
}

export const demoChatModel = "demo-chat";
export const demoEmbeddingModel = "demo-embed";
export const demoModelOwner = "tollgate-demo";

export const demoModels: readonly DemoModel[] = [
  { id: demoChatModel, kind: "chat", created: 1_767_225_600 },
  { id: demoEmbeddingModel, kind: "embedding", created: 1_767_225_600 },
];

export function findDemoModel(id: string): DemoModel | undefined {
  return demoModels.find((model) => model.id === id);
}

/**
 * The model named by a request, which must exist and be of `kind`; otherwise the 404 the provider of
 * `family` answers with (OpenAI's `model_not_found`, Anthropic's `not_found_error`).
 */
export function requireModel(id: string, kind: DemoModelKind, family: ProviderFamily): DemoModel {
  const model = findDemoModel(id);
  if (model !== undefined && model.kind === kind) return model;
  if (family === "anthropic") throw new ProviderError(404, `model: ${id}`);
  if (model === undefined) throw modelNotFound(id);
  const purpose = kind === "chat" ? "a chat model" : "an embedding model";
  throw new ProviderError(404, `The model \`${id}\` is not ${purpose} and is not supported by this endpoint.`, {
    param: "model",
  });
}

export function modelNotFound(id: string): ProviderError {
  return new ProviderError(404, `The model \`${id}\` does not exist or you do not have access to it.`, {
    param: "model",
    code: "model_not_found",
  });
}
