import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseDocument } from "yaml";
import { z } from "zod";
import { ConfigError, describeIssues } from "./config-error.ts";
import { embeddedConfig } from "./embedded.ts";
import { interpolateEnv, MissingVariableError } from "./interpolate.ts";
import { type Config, configSchema } from "./schema.ts";
import { resolveMcpPaths } from "./mcp-schema.ts";

export interface LoadedConfig {
  config: Config;
  /** The file the configuration came from, or "embedded defaults". */
  source: string;
}

export interface LoadOptions {
  /** A YAML file; without one, `./tollgate.yaml` is used if present, else the embedded defaults. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Reads, interpolates and validates the configuration; throws ConfigError listing every problem. */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = options.file ?? env.TOLLGATE_CONFIG ?? (existsSync(resolve(cwd, "tollgate.yaml")) ? "tollgate.yaml" : undefined);
  if (file === undefined) {
    return { config: validate(embeddedConfig(env, cwd), "embedded defaults", cwd), source: "embedded defaults" };
  }
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(path, [`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
  return { config: parseConfigText(text, path, env), source: path };
}

/** Parses a configuration given as YAML text; relative paths are taken from the file's directory. */
export function parseConfigText(text: string, path: string, env: NodeJS.ProcessEnv): Config {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      path,
      document.errors.map((e) => `YAML syntax: ${e.message.split("\n")[0]}`),
    );
  }
  let raw: unknown;
  try {
    raw = interpolateEnv(document.toJS() ?? {}, env);
  } catch (error) {
    if (error instanceof MissingVariableError) throw new ConfigError(path, [error.message]);
    throw error;
  }
  return validate(raw, path, dirname(path));
}

function validate(raw: unknown, source: string, baseDir: string): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, describeIssues(result.error.issues, knownKeysAt));
  return resolvePaths(result.data, baseDir);
}

/** Relative paths in a configuration are relative to the file that holds them. */
function resolvePaths(config: Config, baseDir: string): Config {
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const identity = config.identity;
  return {
    ...config,
    data_dir: at(config.data_dir),
    identity: {
      ...identity,
      svid: { cert: at(identity.svid.cert), key: at(identity.svid.key) },
      bundles: Object.fromEntries(Object.entries(identity.bundles).map(([td, file]) => [td, at(file)])),
      dev_ca: { ...identity.dev_ca, dir: at(identity.dev_ca.dir) },
    },
    policy: {
      start_without_policy: config.policy.start_without_policy,
      ...(config.policy.dir === undefined ? {} : { dir: at(config.policy.dir) }),
      ...(config.policy.bundle === undefined ? {} : { bundle: at(config.policy.bundle) }),
    },
    mcp: resolveMcpPaths(config.mcp, at),
  };
}

let inputSchema: Record<string, unknown> | undefined;

/** The keys allowed at a path of the configuration, read off the schema (for "did you mean" hints). */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  inputSchema ??= z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  let node: Record<string, unknown> | undefined = inputSchema;
  for (const part of path) {
    if (node === undefined) return [];
    const properties = node.properties as Record<string, Record<string, unknown>> | undefined;
    if (typeof part === "number") node = node.items as Record<string, unknown> | undefined;
    else if (properties?.[String(part)] !== undefined) node = properties[String(part)];
    else node = node.additionalProperties as Record<string, unknown> | undefined;
  }
  return Object.keys((node?.properties as Record<string, unknown> | undefined) ?? {});
}
