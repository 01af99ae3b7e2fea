import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Writing certificate and key files the way a watcher can trust: each file is written under a
 * temporary name and renamed into place, so a reader sees the old file or the new one, never half of
 * one. Keys are created with mode 0600 from the start, not chmod-ed after being readable.
 */

export async function writeFileAtomically(path: string, content: string, mode: number): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(temporary, content, { mode, flag: "wx" });
    // writeFile's mode is filtered by the umask; the key must be 0600 whatever the umask is.
    await chmod(temporary, mode);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export interface CertificateKeyFiles {
  readonly certificateFile: string;
  readonly keyFile: string;
}

/** The file names the development CA uses: `NAME.pem` for certificates, `NAME-key.pem` for the key. */
export function certificateKeyFiles(dir: string, name: string): CertificateKeyFiles {
  return { certificateFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}-key.pem`) };
}

/** Writes `NAME-key.pem` (0600) and `NAME.pem` (0644) into `dir`, creating it (0700) if needed. */
export async function writeCertificateAndKey(
  dir: string,
  name: string,
  material: { readonly certificatePem: string; readonly keyPem: string },
): Promise<CertificateKeyFiles> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files = certificateKeyFiles(dir, name);
  await writeFileAtomically(files.keyFile, material.keyPem, 0o600);
  await writeFileAtomically(files.certificateFile, material.certificatePem, 0o644);
  return files;
}

/** A text file's content, or undefined when there is no such file (other errors are thrown). */
export async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
