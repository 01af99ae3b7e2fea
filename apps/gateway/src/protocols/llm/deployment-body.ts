import type { LlmApi } from "../../config/schema.ts";
import type { Deployment } from "../../upstream/model-routes.ts";
import type { JsonBody } from "./json-body.ts";
import { outputCapFields } from "./request-facts.ts";

/**
 * The fields the policy's output cap forces on a body: every cap field the caller set above the cap
 * (or to something that is not a number) is lowered to it, and when the caller set none, the API's
 * first cap field is set, so the provider never generates more than the policy allows. A smaller
 * request is left alone. Null counts as not set, as the providers read it.
 */
export function cappedFields(api: LlmApi, json: Record<string, unknown>, cap: number | undefined): Record<string, number> | undefined {
  const fields = outputCapFields(api);
  if (cap === undefined || fields.length === 0) return undefined;
  const forced: Record<string, number> = {};
  let anySet = false;
  for (const field of fields) {
    const value = json[field];
    if (value === undefined || value === null) continue;
    anySet = true;
    if (!(typeof value === "number" && value <= cap)) forced[field] = cap;
  }
  if (!anySet) forced[fields[0] as string] = cap;
  return Object.keys(forced).length === 0 ? undefined : forced;
}

/**
 * The bytes to send to each deployment: the caller's own, unless the deployment knows the model by
 * another name or the policy's output cap changes the body. A rewritten body is made once per distinct
 * model name, so retries and fallbacks to the same name send the same bytes without serializing again.
 * `extra` fields are set as well (the gateway's own additions, such as asking a stream for usage).
 */
export function deploymentBody(
  body: JsonBody,
  model: string,
  api: LlmApi,
  cap: number | undefined,
  extra?: Record<string, unknown>,
): (deployment: Deployment) => Buffer {
  const capped = cappedFields(api, body.json, cap);
  const forced = capped === undefined && extra === undefined ? undefined : { ...capped, ...extra };
  const made = new Map<string, Buffer>();
  return (deployment) => {
    if (forced === undefined && deployment.model === model) return body.raw;
    let bytes = made.get(deployment.model);
    if (bytes === undefined) {
      bytes = Buffer.from(JSON.stringify({ ...body.json, ...forced, model: deployment.model }));
      made.set(deployment.model, bytes);
    }
    return bytes;
  };
}
