import type { z } from "zod";

/**
 * A configuration that cannot be used. Its message lists every problem as `key: problem; fix`, so one
 * start tells the operator everything that is wrong, not just the first thing.
 */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(`invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

export function describeIssues(issues: readonly z.core.$ZodIssue[], knownKeys: (path: PropertyKey[]) => string[]): string[] {
  return issues.map((issue) => {
    const at = formatPath(issue.path);
    switch (issue.code) {
      case "unrecognized_keys":
        return issue.keys
          .map((key) => {
            const where = formatPath([...issue.path, key]);
            const known = knownKeys(issue.path);
            const guess = closest(key, known);
            const hint = guess === undefined ? `known keys here: ${known.join(", ")}` : `did you mean "${guess}"?`;
            return `${where}: unknown key; ${hint}`;
          })
          .join("\n  - ");
      case "invalid_type":
        return `${at}: expected ${issue.expected}${
          issue.input === undefined ? ", but it is missing" : `, got ${describeValue(issue.input)}`
        }`;
      case "invalid_value":
        return `${at}: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
      default:
        return `${at}: ${issue.message}`;
    }
  });
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(top level)";
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** The known key nearest to a misspelt one (edit distance at most 3), if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of candidates) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
