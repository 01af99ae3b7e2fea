/**
 * Model and provider name patterns in budgets: an exact name, or a glob where `*` matches any run of
 * characters and `?` one character (`gpt-4o*`, `claude-*-4-5`).
 */
export function compileNamePattern(pattern: string): (name: string) => boolean {
  if (!pattern.includes("*") && !pattern.includes("?")) return (name) => name === pattern;
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".");
  const regex = new RegExp(`^${source}$`);
  return (name) => regex.test(name);
}
