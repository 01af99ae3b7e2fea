import { EventEmitter } from "node:events";
import { watch, type FSWatcher } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { buildWasmBundle } from "./bundle-builder.ts";
import { readBundleFile } from "./bundle-reader.ts";
import { PolicyLoadError, type PolicyEngine } from "./engine.ts";
import { isSourceChange, type PolicySource } from "./policy-source.ts";

export type { PolicySource } from "./policy-source.ts";

export interface PolicyReloaderOptions {
  engine: PolicyEngine;
  source: PolicySource;
  /**
   * Where bundles built from a directory go (the last good one stays there as bundle.tar.gz).
   * Default: a new directory under the system's temporary directory, removed by close().
   */
  workDir?: string;
  /** Whether to watch the source for changes (default true); without, only reload() reloads. */
  watch?: boolean;
  /** Where notices go (the first opa run's compile notice, errors nobody listens for). */
  log?: (message: string) => void;
}

export interface ReloadedEvent {
  revision: string;
  loadedAt: Date;
}

interface ReloaderEvents {
  reloaded: [ReloadedEvent];
  error: [Error];
}

/**
 * Keeps the engine's bundle in step with its source.
 *
 * Builds are serialised: a change that arrives while a build runs marks the source dirty, and one
 * more build follows the current one, so the last change always wins and opa never runs twice at
 * once. A good build is swapped in and announced with "reloaded"; a broken one leaves the last
 * good bundle in use, is recorded in the engine's status and announced with "error" (only emitted
 * when someone listens, so an unhandled "error" can never take the process down). A build that
 * fails while newer changes wait is not reported: it may have caught them half-made, and the build
 * that follows answers for them.
 */
export class PolicyReloader extends EventEmitter<ReloaderEvents> {
  readonly #engine: PolicyEngine;
  readonly #source: PolicySource;
  readonly #watchSource: boolean;
  readonly #log: (message: string) => void;
  #workDir: string | undefined;
  readonly #ownsWorkDir: boolean;
  #watcher: FSWatcher | undefined;
  #running: Promise<void> | undefined;
  #dirty = false;
  #closed = false;
  #lastOutcome: Error | ReloadedEvent | undefined;
  #builds = 0;

  constructor(options: PolicyReloaderOptions) {
    super();
    this.#engine = options.engine;
    this.#source =
      options.source.kind === "directory"
        ? { kind: "directory", dir: resolve(options.source.dir) }
        : { kind: "bundle", file: resolve(options.source.file) };
    this.#watchSource = options.watch ?? true;
    this.#log = options.log ?? ((message) => process.stderr.write(`${message}\n`));
    this.#workDir = options.workDir === undefined ? undefined : resolve(options.workDir);
    this.#ownsWorkDir = options.workDir === undefined;
  }

  /**
   * Loads the policy for the first time and starts watching. Rejects, and stops, when the first
   * load fails: a gateway should not start on a policy that does not build. With `allowUnloaded`,
   * it keeps watching instead and resolves with the error: the engine denies everything until a
   * good policy appears (for bundles delivered after the gateway starts).
   */
  start(): Promise<ReloadedEvent>;
  start(options: { allowUnloaded: boolean }): Promise<ReloadedEvent | Error>;
  async start(options: { allowUnloaded?: boolean } = {}): Promise<ReloadedEvent | Error> {
    if (this.#watchSource) this.#startWatching();
    await this.reload();
    const outcome = this.#lastOutcome;
    if (options.allowUnloaded === true && outcome instanceof Error) return outcome;
    if (outcome === undefined || outcome instanceof Error) {
      await this.close();
      throw outcome ?? new Error("the policy reloader was closed before the policy loaded");
    }
    return outcome;
  }

  /** Rebuilds and reloads now; resolves when that build (and any it caused to follow) is done. */
  reload(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#running !== undefined) {
      this.#dirty = true;
      return this.#running;
    }
    const running = this.#runUntilClean().finally(() => {
      this.#running = undefined;
    });
    this.#running = running;
    return running;
  }

  /** Stops watching, waits for a build in progress, and removes the temporary build directory. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#running;
    if (this.#ownsWorkDir && this.#workDir !== undefined) {
      await rm(this.#workDir, { recursive: true, force: true });
      this.#workDir = undefined;
    }
  }

  async #runUntilClean(): Promise<void> {
    do {
      this.#dirty = false;
      await this.#reloadOnce();
    } while (this.#dirty && !this.#closed);
  }

  async #reloadOnce(): Promise<void> {
    let outcome: Error | ReloadedEvent;
    try {
      const revision = await this.#loadSource();
      const status = this.#engine.status();
      outcome = { revision, loadedAt: status.loadedAt ?? new Date() };
    } catch (error) {
      // The source changed while this build ran, so another build follows: the failure may be that
      // change caught half-way (a file listed, then removed; one of several files updated), and
      // only the next build's answer is worth reporting.
      if (this.#dirty && !this.#closed) return;
      outcome = error instanceof Error ? error : new Error(String(error));
      // The engine records its own refusals; build and read failures happen before it sees anything.
      if (!(error instanceof PolicyLoadError)) this.#engine.recordLoadError(outcome);
    }
    this.#lastOutcome = outcome;
    this.#announce(outcome);
  }

  /** Loads the source into the engine and returns the revision now in use. */
  async #loadSource(): Promise<string> {
    if (this.#source.kind === "bundle") {
      const bundle = await readBundleFile(this.#source.file);
      await this.#engine.load(bundle);
      return bundle.revision;
    }
    const workDir = await this.#ensureWorkDir();
    const building = join(workDir, `building-${process.pid}-${++this.#builds}.tar.gz`);
    try {
      await buildWasmBundle(this.#source.dir, building, { notice: this.#log });
      const bundle = await readBundleFile(building);
      await this.#engine.load(bundle);
      // Kept for inspection: `tollgate policy eval --bundle <workDir>/bundle.tar.gz`.
      await rename(building, join(workDir, "bundle.tar.gz"));
      return bundle.revision;
    } finally {
      await rm(building, { force: true });
    }
  }

  async #ensureWorkDir(): Promise<string> {
    if (this.#workDir === undefined) this.#workDir = await mkdtemp(join(tmpdir(), "tollgate-policy-"));
    else await mkdir(this.#workDir, { recursive: true });
    return this.#workDir;
  }

  #announce(outcome: Error | ReloadedEvent): void {
    if (outcome instanceof Error) {
      if (this.listenerCount("error") > 0) this.emit("error", outcome);
      else this.#log(`tollgate: the policy could not be reloaded; the last good bundle stays in use: ${outcome.message}`);
    } else {
      this.emit("reloaded", outcome);
    }
  }

  #startWatching(): void {
    const source = this.#source;
    const onChange = (filename: string | null): void => {
      if (this.#closed || !isSourceChange(source, filename)) return;
      this.reload().catch((error: unknown) => {
        // reload() settles its own errors; this only guards against a throwing event listener.
        this.#log(`tollgate: policy reload failed: ${error instanceof Error ? error.message : String(error)}`);
      });
    };
    try {
      // A bundle file is usually replaced by a rename, which a watch on the file itself would lose:
      // watch its directory for its name instead.
      this.#watcher =
        source.kind === "directory"
          ? watch(source.dir, { recursive: true }, (_event, filename) => onChange(filename))
          : watch(dirname(source.file), (_event, filename) => onChange(filename));
    } catch (error) {
      // Without a watch the policy still loads; it just will not follow changes.
      this.#engine.recordLoadError(error);
      this.#announce(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.#watcher.on("error", (error) => {
      this.#engine.recordLoadError(error);
      this.#announce(error);
    });
  }
}
