import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { gunzip, type ZlibOptions } from "node:zlib";
import { extract } from "tar-stream";
import { parse as parseYaml } from "yaml";
import { decisionEntrypoint } from "./entrypoints.ts";

/** What the engine needs from an OPA bundle. */
export interface PolicyBundle {
  /** The compiled policy module. */
  wasm: Uint8Array;
  /** The bundle's data documents, merged at their paths (`data.tollgate.grants` ...). */
  data: Record<string, unknown>;
  /** The manifest's revision, or `sha256:` and the first 12 hex digits of the archive's hash. */
  revision: string;
}

/** The file is not a usable OPA wasm bundle; the message says what is wrong with it. */
export class PolicyBundleError extends Error {
  override readonly name = "PolicyBundleError";
}

export interface ReadBundleOptions {
  /** Refuse archives that decompress to more than this (a gzip bomb, or not a policy bundle). */
  maxUncompressedBytes?: number;
}

const defaultMaxUncompressedBytes = 256 * 1024 * 1024;

const gunzipAsync = promisify<Uint8Array, ZlibOptions, Buffer>(gunzip);

export async function readBundleFile(file: string, options: ReadBundleOptions = {}): Promise<PolicyBundle> {
  let archive: Buffer;
  try {
    archive = await readFile(file);
  } catch (error) {
    throw new PolicyBundleError(`cannot read the policy bundle ${file}: ${messageOf(error)}`);
  }
  try {
    return await readBundle(archive, options);
  } catch (error) {
    if (error instanceof PolicyBundleError) throw new PolicyBundleError(`${file}: ${error.message}`);
    throw error;
  }
}

/** Reads an OPA bundle (.tar.gz) as `opa build -t wasm` writes it. */
export async function readBundle(archive: Uint8Array, options: ReadBundleOptions = {}): Promise<PolicyBundle> {
  const maxBytes = options.maxUncompressedBytes ?? defaultMaxUncompressedBytes;
  let tarball: Buffer;
  try {
    tarball = await gunzipAsync(archive, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new PolicyBundleError(`the bundle decompresses to more than ${maxBytes} bytes`);
    }
    throw new PolicyBundleError(`not a gzip-compressed OPA bundle (${messageOf(error)})`);
  }
  const files = await untar(tarball);

  const manifest = readManifest(files.get(".manifest"));
  const modulePath = normalizePath(manifest.wasmModule ?? "policy.wasm");
  const wasm = files.get(modulePath);
  if (wasm === undefined) {
    throw new PolicyBundleError(
      `the bundle has no ${modulePath}: build it with \`opa build -t wasm -e ${decisionEntrypoint}\``,
    );
  }
  return {
    wasm: new Uint8Array(wasm.buffer, wasm.byteOffset, wasm.byteLength),
    data: mergeDataFiles(files),
    revision: manifest.revision ?? `sha256:${createHash("sha256").update(archive).digest("hex").slice(0, 12)}`,
  };
}

async function untar(tarball: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extractor = extract();
  const reading = (async () => {
    for await (const entry of extractor) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      if (entry.header.type === "file" || entry.header.type === "contiguous-file") {
        files.set(normalizePath(entry.header.name), Buffer.concat(chunks));
      }
    }
  })();
  extractor.end(tarball);
  try {
    await reading;
  } catch (error) {
    throw new PolicyBundleError(`not a tar archive (${messageOf(error)})`);
  }
  return files;
}

/** Bundle paths appear as "/data.json", "./data.json" or "data.json": all are "data.json". */
function normalizePath(path: string): string {
  return path.replace(/^(\.?\/)+/, "");
}

interface Manifest {
  revision: string | undefined;
  wasmModule: string | undefined;
}

function readManifest(raw: Buffer | undefined): Manifest {
  if (raw === undefined) return { revision: undefined, wasmModule: undefined };
  let manifest: unknown;
  try {
    manifest = JSON.parse(raw.toString("utf8"));
  } catch (error) {
    throw new PolicyBundleError(`its .manifest is not JSON (${messageOf(error)})`);
  }
  if (!isRecord(manifest)) throw new PolicyBundleError("its .manifest is not a JSON object");
  const revision = typeof manifest.revision === "string" && manifest.revision !== "" ? manifest.revision : undefined;
  let wasmModule: string | undefined;
  if (Array.isArray(manifest.wasm)) {
    for (const entry of manifest.wasm) {
      if (isRecord(entry) && entry.entrypoint === decisionEntrypoint && typeof entry.module === "string") wasmModule = entry.module;
    }
    if (wasmModule === undefined && manifest.wasm.length > 0) {
      throw new PolicyBundleError(`its wasm modules do not include the entrypoint ${decisionEntrypoint}`);
    }
  }
  return { revision, wasmModule };
}

/** data.json and data.yaml files, each mounted at its directory's path, shallowest first. */
function mergeDataFiles(files: ReadonlyMap<string, Buffer>): Record<string, unknown> {
  const dataFiles = [...files.keys()]
    .filter((path) => /(^|\/)data\.(json|ya?ml)$/.test(path))
    .sort((a, b) => a.split("/").length - b.split("/").length || a.localeCompare(b));
  const root: Record<string, unknown> = {};
  for (const path of dataFiles) {
    const text = files.get(path)?.toString("utf8") ?? "";
    let value: unknown;
    try {
      value = path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
    } catch (error) {
      throw new PolicyBundleError(`${path} cannot be parsed (${messageOf(error)})`);
    }
    const mount = path.split("/").slice(0, -1);
    mergeAt(root, mount, value, path);
  }
  return root;
}

function mergeAt(root: Record<string, unknown>, mount: readonly string[], value: unknown, source: string): void {
  if (mount.length === 0) {
    if (!isRecord(value)) throw new PolicyBundleError(`${source} must hold a JSON object at the root of data`);
    mergeInto(root, value, source, []);
    return;
  }
  let node = root;
  for (const key of mount.slice(0, -1)) {
    const next = getOwn(node, key) ?? setOwn(node, key, {});
    if (!isRecord(next)) throw new PolicyBundleError(`${source} conflicts with data at ${key}`);
    node = next;
  }
  const last = mount[mount.length - 1] ?? "";
  const existing = getOwn(node, last);
  if (existing === undefined) setOwn(node, last, value);
  else if (isRecord(existing) && isRecord(value)) mergeInto(existing, value, source, mount);
  else throw new PolicyBundleError(`${source} conflicts with data already at ${mount.join(".")}`);
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>, file: string, at: readonly string[]): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = getOwn(target, key);
    if (existing === undefined) setOwn(target, key, value);
    else if (isRecord(existing) && isRecord(value)) mergeInto(existing, value, file, [...at, key]);
    else throw new PolicyBundleError(`${file} conflicts with data already at ${[...at, key].join(".")}`);
  }
}

function getOwn(target: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(target, key) ? target[key] : undefined;
}

/** Defines rather than assigns, so a key named "__proto__" in operators' data stays plain data. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): unknown {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
