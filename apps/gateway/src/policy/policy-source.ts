import { basename } from "node:path";

/**
 * Where the policy comes from: Rego sources built with opa on every change, or a bundle built
 * elsewhere. Replace a bundle file atomically (write it aside, then rename it into place): a bundle
 * rewritten in place can be read half-written, which is reported as an error until the last write
 * of it triggers a reload that succeeds.
 */
export type PolicySource = { kind: "directory"; dir: string } | { kind: "bundle"; file: string };

/**
 * Whether a change to `filename` (relative to the watched directory; null when the platform does
 * not say) can change the bundle: Rego other than tests (`opa build --ignore '*_test.rego'`), data
 * files, a manifest; or, for a bundle source, the bundle file itself.
 */
export function isSourceChange(source: PolicySource, filename: string | null): boolean {
  if (filename === null) return true;
  const name = basename(filename);
  if (source.kind === "bundle") return name === basename(source.file);
  if (name.endsWith(".rego")) return !name.endsWith("_test.rego");
  return name === "data.json" || name === "data.yaml" || name === "data.yml" || name === ".manifest";
}
