import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { decisionEntrypoint, grantChecksEntrypoint, grantChecksPackage } from "./entrypoints.ts";
import { runOpa, type OpaRunOptions } from "./opa-command.ts";

/** opa refused the policy sources; `message` is opa's own report (file:line: error). */
export class PolicyBuildError extends Error {
  override readonly name = "PolicyBuildError";
  /** opa's complete output. */
  readonly opaOutput: string;

  constructor(policyDir: string, opaOutput: string) {
    super(`opa could not build the policy in ${policyDir}:\n${opaOutput.trim()}`);
    this.opaOutput = opaOutput;
  }
}

/**
 * Compiles a directory of Rego and data files into an OPA bundle with a wasm module, as the engine
 * loads it. The directory is read as a bundle (`--bundle`): data.json / data.yaml files are data at
 * their directory's path, a `.manifest` is honoured, and `*_test.rego` files are left out.
 * The grant checks are compiled as a second entrypoint when the sources define them.
 */
export async function buildWasmBundle(policyDir: string, outFile: string, options: OpaRunOptions = {}): Promise<void> {
  const entrypoints = [decisionEntrypoint];
  if (await definesPackage(policyDir, grantChecksPackage)) entrypoints.push(grantChecksEntrypoint);
  const args = ["build", "--bundle", "--target", "wasm"];
  for (const entrypoint of entrypoints) args.push("--entrypoint", entrypoint);
  args.push("--ignore", "*_test.rego", "--output", outFile, policyDir);
  const result = await runOpa(args, options);
  if (result.exitCode !== 0) throw new PolicyBuildError(policyDir, result.stderr || result.stdout || `opa exited with ${result.exitCode}`);
}

/** Whether some non-test .rego file under dir declares `package name`. */
async function definesPackage(dir: string, name: string): Promise<boolean> {
  const declaration = new RegExp(`^package\\s+${name.replaceAll(".", "\\.")}\\s*$`, "m");
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (error) {
    throw new PolicyBuildError(dir, error instanceof Error ? error.message : String(error));
  }
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith(".rego") || entry.name.endsWith("_test.rego")) continue;
    let source: string;
    try {
      source = await readFile(join(entry.parentPath, entry.name), "utf8");
    } catch (error) {
      // Removed since the listing (an operator deleting it while a build starts): not part of this build.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new PolicyBuildError(dir, error instanceof Error ? error.message : String(error));
    }
    if (declaration.test(source)) return true;
  }
  return false;
}
