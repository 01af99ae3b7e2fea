import type { Resource, ResourceKind } from "../gate/resource.ts";
import type { AuthMethod, PolicyInput } from "./input.ts";

/** A policy input read from a file (`tollgate policy eval --input FILE`) is not what the gateway sends. */
export class PolicyInputError extends Error {
  override readonly name = "PolicyInputError";
}

const resourceKinds: ReadonlySet<string> = new Set<ResourceKind>(["model", "tool", "resource", "prompt", "collection", "admin"]);
const authMethods: ReadonlySet<string> = new Set<AuthMethod>(["x509-svid", "jwt-svid"]);

/**
 * Checks a JSON value against the shape of PolicyInput (DESIGN.md) and returns it typed. Fields the
 * gateway does not send yet are kept: the input only ever grows. Throws PolicyInputError naming the
 * first field that is missing or mistyped.
 */
export function readPolicyInput(raw: unknown): PolicyInput {
  const input = record(raw, "input");
  const sourceId = record(input.source_id, "input.source_id");
  const segments = sourceId.segments;
  if (!Array.isArray(segments) || !segments.every((segment) => typeof segment === "string")) {
    throw new PolicyInputError("input.source_id.segments must be an array of strings");
  }
  const auth = text(sourceId.auth, "input.source_id.auth");
  if (!authMethods.has(auth)) throw new PolicyInputError(`input.source_id.auth must be one of ${[...authMethods].join(", ")}`);
  text(sourceId.trust_domain, "input.source_id.trust_domain");
  text(sourceId.path, "input.source_id.path");
  for (const field of ["source", "target", "method", "path", "now"] as const) text(input[field], `input.${field}`);
  record(input.request, "input.request");
  readResource(input.resource);
  // Every field PolicyInput declares has been checked above.
  return input as unknown as PolicyInput;
}

function readResource(raw: unknown): Resource {
  const resource = record(raw, "input.resource");
  const kind = text(resource.kind, "input.resource.kind");
  if (!resourceKinds.has(kind)) throw new PolicyInputError(`input.resource.kind must be one of ${[...resourceKinds].join(", ")}`);
  text(resource.name, "input.resource.name");
  text(resource.action, "input.resource.action");
  switch (kind) {
    case "model":
      if (resource.provider !== undefined) text(resource.provider, "input.resource.provider");
      break;
    case "tool":
    case "resource":
    case "prompt":
      text(resource.server, "input.resource.server");
      break;
    case "collection":
      text(resource.database, "input.resource.database");
      break;
  }
  return resource as unknown as Resource;
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new PolicyInputError(`${field} must be an object`);
  return value as Record<string, unknown>;
}

function text(value: unknown, field: string): string {
  if (typeof value !== "string") throw new PolicyInputError(`${field} must be a string`);
  return value;
}
