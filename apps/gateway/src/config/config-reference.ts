import { configJsonSchema } from "./json-schema.ts";
import { configSchema } from "./schema.ts";

type Node = Record<string, unknown>;

interface Row {
  key: string;
  type: string;
  default: string;
  description: string;
}

/**
 * docs/configuration.md, generated from the schema the loader validates with, so the reference can
 * never disagree with what the gateway accepts. Defaults are read from a parsed configuration, so
 * durations and sizes show what they resolve to.
 */
export function configReference(): string {
  const resolved = configSchema.parse({ policy: { dir: "policies" } }) as unknown as Node;
  // A policy source is required, so one was given above; it has no default.
  delete (resolved.policy as Node).dir;
  const rows: Row[] = [];
  walk(configJsonSchema(), "", resolved, rows);
  const lines = [
    "# Configuration reference",
    "",
    "Generated from the gateway's configuration schema by `tollgate config reference`; do not edit by hand.",
    "The same schema is published as [config.schema.json](config.schema.json) for editors.",
    "",
    "- Durations are milliseconds, or text such as `250ms`, `30s`, `5m`, `24h`, `7d`; defaults are shown in milliseconds.",
    "- Sizes are bytes, or text such as `64KiB`, `10MiB`, `1GiB` (binary) or `10MB` (decimal); defaults are shown in bytes.",
    "- `${VAR}` and `${VAR:-default}` in any string read the environment; relative paths are relative to the file.",
    "- `<name>` stands for a key you choose (a provider's name, a model's name, a trust domain).",
    "",
    "| key | type | default | description |",
    "|---|---|---|---|",
    ...rows.map((r) => `| \`${r.key}\` | ${r.type} | ${r.default} | ${r.description} |`),
    "",
  ];
  return lines.join("\n");
}

function walk(node: Node, path: string, resolved: unknown, rows: Row[]): void {
  const properties = node.properties as Record<string, Node> | undefined;
  if (properties === undefined) return;
  for (const [name, child] of Object.entries(properties)) {
    const key = path === "" ? name : `${path}.${name}`;
    const value = resolved !== null && typeof resolved === "object" ? (resolved as Node)[name] : undefined;
    rows.push({ key, type: typeOf(child), default: defaultOf(child, value), description: escape(String(child.description ?? "")) });
    if (child.properties !== undefined) walk(child, key, value, rows);
    const entries = child.additionalProperties as Node | undefined;
    if (entries !== undefined && typeof entries === "object" && entries.properties !== undefined) walk(entries, `${key}.<name>`, undefined, rows);
    const items = child.items as Node | undefined;
    if (items?.properties !== undefined) walk(items, `${key}[]`, undefined, rows);
  }
}

function typeOf(node: Node): string {
  const custom = node["x-tollgate-type"];
  if (typeof custom === "string") return custom;
  if (Array.isArray(node.enum)) return node.enum.map((v) => `\`${String(v)}\``).join(" \\| ");
  const type = node.type;
  if (type === "array") {
    const items = node.items as Node | undefined;
    return `list of ${items === undefined ? "values" : items.properties !== undefined ? "objects" : typeOf(items)}`;
  }
  if (type === "object") {
    const entries = node.additionalProperties as Node | undefined;
    if (entries !== undefined && typeof entries === "object") return entries.properties !== undefined ? "map of objects" : `map of ${typeOf(entries)}`;
    return "object";
  }
  if (type === "string" && node.format === "uri") return "URL";
  if (type === "string" && typeof node.pattern === "string" && node.pattern.startsWith("^spiffe")) return "SPIFFE ID";
  return typeof type === "string" ? type : "value";
}

function defaultOf(node: Node, resolved: unknown): string {
  const value = resolved !== undefined ? resolved : node.default;
  if (value === undefined) return "";
  if (value !== null && typeof value === "object" && node.properties !== undefined) return "";
  const text = JSON.stringify(value);
  return text === "{}" || text === "[]" ? `\`${text}\`` : `\`${escape(text)}\``;
}

function escape(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}
