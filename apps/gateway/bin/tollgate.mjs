#!/usr/bin/env node
// Entry point of the `tollgate` command.
//
// Tollgate's sources are TypeScript that Node.js 24 runs directly (type stripping), so no build step
// sits between a change and a run. The project installs Node.js 24 from the npm registry (the `node`
// package); when this file is started by an older `node` (for example the machine's own, outside an
// npm script), it re-executes itself with that Node.js 24 instead of failing on the first type.
import { spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(realpathSync(fileURLToPath(import.meta.url)));
const [major, minor] = process.versions.node.split(".").map(Number);

if (major < 24 || (major === 24 && minor < 11)) {
  let dir = here;
  let node24;
  for (;;) {
    const candidate = join(dir, "node_modules", "node", "bin", "node");
    if (existsSync(candidate)) { node24 = candidate; break; }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  if (!node24) {
    process.stderr.write(
      `tollgate needs Node.js >= 24.11 (this is ${process.version}). Run \`npm ci\` in the repository, ` +
        "which installs Node.js 24 from the npm registry, or install Node.js 24 yourself.\n",
    );
    process.exit(1);
  }
  const child = spawnSync(node24, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(child.status ?? 1);
}

await import(pathToFileURL(join(here, "..", "src", "cli", "main.ts")).href);
