import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import { EventEmitter } from "node:events";
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parseCertificateDer, readCertificateFields } from "./certificate-fields.ts";
import { decodePemBlocks, decodePemCertificates } from "./pem.ts";
import { tryParseSpiffeId, type SpiffeId } from "./spiffe-id.ts";
import type { TlsIdentityMaterial } from "./tls-identity.ts";
import { parseTrustBundle, TrustBundleSet } from "./trust-bundles.ts";

/**
 * The gateway's own SVID and the trust bundles, read from files and reloaded when they change, as
 * written by spiffe-helper, cert-manager's csi-driver-spiffe, a Kubernetes Secret or the dev CA.
 *
 * Those tools replace files by renaming a new one over the old (Kubernetes even swaps a symlinked
 * directory), which a watch on the file itself would miss; so the parent directories are watched,
 * any event there leads to a reload once the directory has been quiet for a moment, and an update is
 * announced only when the content really changed. A broken file is reported with "error" and the
 * last good material stays in use.
 */

export interface SvidFilesOptions {
  /** PEM: the gateway's SVID, leaf first, then intermediates. */
  readonly certificateFile: string;
  /** PEM: its private key. */
  readonly keyFile: string;
  /** Trust domain -> bundle file (PEM certificates or SPIFFE bundle JSON). */
  readonly bundleFiles: Readonly<Record<string, string>>;
  /** How long the watched directories must be quiet before a reload. Default 50 ms. */
  readonly settleMs?: number;
}

export interface SvidFileMaterial extends TlsIdentityMaterial {
  /** DER of the SVID chain, leaf first. */
  readonly chain: readonly Buffer[];
  /** The SVID's SPIFFE ID, when its leaf carries exactly one valid one. */
  readonly spiffeId: SpiffeId | undefined;
  readonly notAfter: Date;
  readonly bundles: TrustBundleSet;
}

/** An SVID or bundle file could not be loaded; the message names the file and the problem. */
export class SvidFilesError extends Error {
  readonly file: string;

  constructor(file: string, problem: string, options?: ErrorOptions) {
    super(`${file}: ${problem}`, options);
    this.name = "SvidFilesError";
    this.file = file;
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SvidFilesError(path, code === "ENOENT" ? "the file does not exist" : `the file cannot be read (${code ?? "error"})`);
  }
}

interface LoadedFiles {
  readonly material: SvidFileMaterial;
  /** A digest of every file's content, to tell a real change from a touch. */
  readonly contentDigest: string;
}

async function loadFiles(options: SvidFilesOptions): Promise<LoadedFiles> {
  const bundleEntries = Object.entries(options.bundleFiles);
  const [certificateChainPem, keyPem, ...bundleTexts] = await Promise.all([
    readText(options.certificateFile),
    readText(options.keyFile),
    ...bundleEntries.map(([, path]) => readText(path)),
  ]);
  if (certificateChainPem === undefined || keyPem === undefined) throw new Error("unreachable: files were not read");

  let chain: Buffer[];
  try {
    chain = decodePemCertificates(certificateChainPem);
  } catch (error) {
    throw new SvidFilesError(options.certificateFile, `it is not a PEM certificate chain: ${(error as Error).message}`);
  }
  const leafDer = chain[0];
  if (leafDer === undefined) throw new SvidFilesError(options.certificateFile, "it holds no PEM certificate");
  let leaf: X509Certificate;
  let fields: ReturnType<typeof readCertificateFields>;
  try {
    leaf = new X509Certificate(leafDer);
    fields = readCertificateFields(parseCertificateDer(leafDer));
  } catch (error) {
    throw new SvidFilesError(options.certificateFile, `its first certificate does not decode: ${(error as Error).message}`);
  }
  try {
    if (decodePemBlocks(keyPem).length === 0) throw new Error("it holds no PEM block");
    if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) {
      throw new SvidFilesError(options.keyFile, `the key does not belong to the certificate in ${options.certificateFile}`);
    }
  } catch (error) {
    if (error instanceof SvidFilesError) throw error;
    throw new SvidFilesError(options.keyFile, `it is not a PEM private key: ${(error as Error).message}`);
  }
  const uris = fields.subjectAltNames?.uris ?? [];
  const bundles = new TrustBundleSet(
    bundleEntries.map(([trustDomain, path], index) => parseTrustBundle(trustDomain, bundleTexts[index] ?? "", path)),
  );
  const digest = createHash("sha256");
  for (const text of [certificateChainPem, keyPem, ...bundleTexts]) digest.update(createHash("sha256").update(text).digest());
  return {
    material: Object.freeze({
      certificateChainPem,
      keyPem,
      chain,
      spiffeId: uris.length === 1 ? tryParseSpiffeId(uris[0] ?? "") : undefined,
      notAfter: fields.notAfter,
      bundles,
    }),
    contentDigest: digest.digest("hex"),
  };
}

/** Loads the SVID, its key and the bundles once, without watching. Throws SvidFilesError or TrustBundleError. */
export async function loadSvidFiles(options: SvidFilesOptions): Promise<SvidFileMaterial> {
  return (await loadFiles(options)).material;
}

/** Why the files on disk are not the material in use, and since when. */
export interface SvidFilesProblem {
  readonly message: string;
  readonly at: Date;
}

interface SvidFileEvents {
  update: [material: SvidFileMaterial];
  error: [error: Error];
}

/**
 * Watches the SVID, key and bundle files. Emits `update` with the new material when their content
 * changes, and `error` (only if someone listens) when a changed file is broken; `current` always
 * holds the last good material.
 */
export class SvidFileSource extends EventEmitter<SvidFileEvents> {
  readonly #options: SvidFilesOptions;
  readonly #watchers: FSWatcher[] = [];
  #loaded: LoadedFiles;
  #timer: NodeJS.Timeout | undefined;
  #reloading: Promise<void> | undefined;
  #reloadAgain = false;
  #closed = false;
  #lastError: SvidFilesProblem | undefined;

  private constructor(options: SvidFilesOptions, loaded: LoadedFiles) {
    super();
    this.#options = options;
    this.#loaded = loaded;
  }

  /** Loads the files (failing if they are broken: the gateway cannot start without them) and starts watching. */
  static async open(options: SvidFilesOptions): Promise<SvidFileSource> {
    const source = new SvidFileSource(options, await loadFiles(options));
    source.#watch();
    return source;
  }

  get current(): SvidFileMaterial {
    return this.#loaded.material;
  }

  /**
   * The last reload's problem, for readiness probes: set when a file is broken (the last good
   * material stays in use), cleared by the next reload that reads good files, changed or not.
   */
  get lastError(): SvidFilesProblem | undefined {
    return this.#lastError;
  }

  #watch(): void {
    const files = [this.#options.certificateFile, this.#options.keyFile, ...Object.values(this.#options.bundleFiles)];
    const directories = new Set(files.map((file) => dirname(resolve(file))));
    for (const directory of directories) {
      const watcher = watch(directory, { persistent: false }, () => this.#schedule());
      watcher.on("error", (error) => this.#report(new SvidFilesError(directory, `watching the directory failed: ${error.message}`)));
      this.#watchers.push(watcher);
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.reload(), this.#options.settleMs ?? 50);
    this.#timer.unref();
  }

  #report(error: Error): void {
    this.#lastError = { message: error.message, at: new Date() };
    if (this.listenerCount("error") > 0) this.emit("error", error);
  }

  /**
   * Reads the files now. Resolves once done (reloads never overlap: one requested while another runs
   * happens right after it). Never rejects: a broken file is reported through "error".
   */
  reload(): Promise<void> {
    if (this.#reloading !== undefined) {
      this.#reloadAgain = true;
      return this.#reloading;
    }
    this.#reloading = (async () => {
      do {
        this.#reloadAgain = false;
        if (this.#closed) break;
        try {
          const loaded = await loadFiles(this.#options);
          if (this.#closed) continue;
          this.#lastError = undefined;
          if (loaded.contentDigest === this.#loaded.contentDigest) continue;
          this.#loaded = loaded;
          this.emit("update", loaded.material);
        } catch (error) {
          this.#report(error as Error);
        }
      } while (this.#reloadAgain);
    })().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  /** Stops watching; waits for a reload that is running. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const watcher of this.#watchers) watcher.close();
    this.#watchers.length = 0;
    await this.#reloading;
  }
}
