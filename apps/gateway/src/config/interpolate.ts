/**
 * `${NAME}` and `${NAME:-default}` in configuration strings are replaced by environment variables, so
 * secrets (provider API keys) stay out of the file. Interpolation runs on the parsed YAML's string
 * values, never on the raw text, so a variable's value cannot inject YAML structure.
 * `$${` writes a literal `${`.
 */
export class MissingVariableError extends Error {
  readonly path: string;
  readonly variable: string;
  constructor(path: string, variable: string) {
    super(
      `${path} refers to the environment variable ${variable}, which is not set; ` +
        `set it, or write \${${variable}:-default} to give a default`,
    );
    this.path = path;
    this.variable = variable;
  }
}

const reference = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, path = ""): unknown {
  if (typeof value === "string") return interpolateString(value, env, path);
  if (Array.isArray(value)) return value.map((item, i) => interpolateEnv(item, env, `${path}[${i}]`));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = interpolateEnv(item, env, path === "" ? key : `${path}.${key}`);
    }
    return out;
  }
  return value;
}

function interpolateString(text: string, env: NodeJS.ProcessEnv, path: string): string {
  return text.replace(reference, (whole, name: string | undefined, fallback: string | undefined) => {
    if (whole === "$${") return "${";
    const variable = name as string;
    const found = env[variable];
    if (found !== undefined && found !== "") return found;
    if (fallback !== undefined) return fallback;
    throw new MissingVariableError(path, variable);
  });
}
