import { EventEmitter } from "node:events";
import { type FSWatcher, readFileSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { ConfigError } from "./config-error.ts";
import { parseConfigText } from "./load.ts";
import type { Config } from "./schema.ts";

interface ConfigWatcherEvents {
  change: [config: Config];
  error: [error: Error];
}

/** How long the file must be quiet before it is read (editors write in several steps). */
const settleMs = 100;

/**
 * Watches the configuration file and announces each new valid configuration ("change"); a change
 * that does not validate is announced as "error" (with every problem listed) and the last good
 * configuration stays in force. The directory is watched, not the file, because tools that manage
 * configuration (Kubernetes ConfigMaps, editors) replace files by renaming.
 */
export class ConfigWatcher extends EventEmitter<ConfigWatcherEvents> {
  private readonly path: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly watcher: FSWatcher;
  private timer: NodeJS.Timeout | undefined;
  private lastText: string;

  constructor(path: string, env: NodeJS.ProcessEnv = process.env) {
    super();
    this.path = path;
    this.env = env;
    this.lastText = readFileSync(path, "utf8");
    const name = basename(path);
    this.watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      if (file !== null && file !== name && !file.startsWith("..")) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.reread(), settleMs);
      this.timer.unref();
    });
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher.close();
  }

  private reread(): void {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      this.report(new Error(`${this.path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? "error"})`));
      return;
    }
    if (text === this.lastText) return;
    try {
      const config = parseConfigText(text, this.path, this.env);
      this.lastText = text;
      this.emit("change", config);
    } catch (error) {
      this.report(error instanceof ConfigError ? error : new Error(String(error)));
    }
  }

  private report(error: Error): void {
    if (this.listenerCount("error") > 0) this.emit("error", error);
  }
}
