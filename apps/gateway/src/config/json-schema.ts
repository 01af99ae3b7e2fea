import { z } from "zod";
import { configSchema } from "./schema.ts";

/**
 * The configuration's JSON Schema (draft 2020-12), generated from the zod schema that validates it,
 * so editors can complete and check tollgate.yaml. Committed as docs/config.schema.json; a test keeps
 * the committed file equal to this.
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any", target: "draft-2020-12" }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: "https://tollgate.dev/schemas/config.schema.json",
    title: "Tollgate configuration (tollgate.yaml)",
    ...schema,
  };
}
