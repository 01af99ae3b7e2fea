import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { LoadedPolicy } from "@open-policy-agent/opa-wasm";

/**
 * Built-in functions a compiled policy needs from its host.
 *
 * OPA's wasm modules carry most built-ins natively; the rest (time.*, crypto.*, http.send, ...)
 * they import from the host, and the JavaScript SDK implements only a handful of those. A policy
 * that calls a missing one compiles fine and then fails on every request that reaches the call.
 * The engine asks the module which built-ins it imports (the `builtins` export of OPA's wasm ABI)
 * when a bundle is loaded, and refuses the bundle then, naming them.
 */

/** Names of the built-ins the module imports from the host. */
export function hostBuiltinsOf(policy: LoadedPolicy): string[] {
  const instance = "instance" in policy.wasmInstance ? policy.wasmInstance.instance : policy.wasmInstance;
  const { builtins, opa_json_dump: dump } = instance.exports;
  if (typeof builtins !== "function" || typeof dump !== "function") {
    throw new Error("the wasm module does not export `builtins` (it was not compiled by `opa build -t wasm`)");
  }
  const address = (dump as (value: number) => number)((builtins as () => number)());
  const memory = new Uint8Array(policy.mem.buffer);
  const end = memory.indexOf(0, address);
  const table: unknown = JSON.parse(new TextDecoder().decode(memory.subarray(address, end === -1 ? undefined : end)));
  return typeof table === "object" && table !== null ? Object.keys(table) : [];
}

/** Why the engine cannot run each of `names` (an empty list when it can run them all). */
export function unrunnableBuiltins(names: readonly string[]): string[] {
  const provided = sdkBuiltins();
  const problems: string[] = [];
  for (const name of names) {
    if (name === "sprintf") {
      problems.push("sprintf (the wasm SDK formats with JavaScript's sprintf-js, not Go's fmt as opa test does: build the string with concat())");
    } else if (!provided.has(name)) {
      const hint = name.startsWith("time.") ? ": read the time from input.now" : "";
      problems.push(`${name} (not available to OPA's wasm target${hint})`);
    }
  }
  return problems;
}

let sdkTable: ReadonlySet<string> | undefined;

/**
 * The host built-ins the installed SDK implements, read from the SDK itself so that the answer
 * follows its version. If its layout ever changes, the set is empty: bundles that need host
 * built-ins are refused with their names rather than loaded to fail later.
 */
function sdkBuiltins(): ReadonlySet<string> {
  if (sdkTable !== undefined) return sdkTable;
  try {
    const require = createRequire(import.meta.url);
    const table: unknown = require(join(dirname(require.resolve("@open-policy-agent/opa-wasm")), "builtins", "index.js"));
    sdkTable = new Set(typeof table === "object" && table !== null ? Object.keys(table) : []);
  } catch {
    sdkTable = new Set();
  }
  return sdkTable;
}
