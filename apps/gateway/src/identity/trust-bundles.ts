import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type * as pkijs from "pkijs";
import { describeName, parseCertificateDer, readCertificateFields } from "./certificate-fields.ts";
import { decodePemCertificates } from "./pem.ts";
import { parseSpiffeBundleDocument, type JwtAuthority } from "./spiffe-bundle-document.ts";
import { parseTrustDomain } from "./spiffe-id.ts";

export type { JwtAuthority } from "./spiffe-bundle-document.ts";

/**
 * Trust bundles: for each trust domain, the CA certificates (X.509 authorities) that sign its
 * X.509-SVIDs, and the keys that sign its JWT-SVIDs.
 *
 * Bundles of different trust domains are never merged: an SVID is validated only against the
 * authorities of the trust domain named in its own SPIFFE ID (SPIFFE-ID.md §3.1). A federated CA that
 * signs an SVID claiming another trust domain therefore fails, even though the gateway trusts that CA
 * for its own trust domain. (OpenSSL's single CA list would accept it, which is why the gateway does
 * not let OpenSSL verify client certificates.)
 */

export interface X509Authority {
  readonly der: Buffer;
  /** Parsed once at load, shared by every verification. */
  readonly certificate: pkijs.Certificate;
  readonly subject: string;
  readonly notAfter: Date;
  /** SHA-256 of the DER, hex. */
  readonly sha256: string;
}

export interface TrustBundle {
  readonly trustDomain: string;
  readonly x509Authorities: readonly X509Authority[];
  /** Kept for JWT-SVID verification. */
  readonly jwtAuthorities: readonly JwtAuthority[];
  /** Where the bundle came from (a file path), for messages. */
  readonly source: string;
  readonly sequenceNumber: number | undefined;
  readonly refreshHintSeconds: number | undefined;
}

/** A bundle could not be loaded; the message names the source and the problem. */
export class TrustBundleError extends Error {
  readonly source: string;

  constructor(source: string, problem: string, options?: ErrorOptions) {
    super(`Trust bundle ${source}: ${problem}`, options);
    this.name = "TrustBundleError";
    this.source = source;
  }
}

function authorityFromDer(der: Buffer, position: string, source: string): X509Authority {
  let certificate: pkijs.Certificate;
  let fields: ReturnType<typeof readCertificateFields>;
  try {
    certificate = parseCertificateDer(der);
    fields = readCertificateFields(certificate);
  } catch (error) {
    throw new TrustBundleError(source, `${position} does not decode: ${(error as Error).message}`);
  }
  if (fields.basicConstraints?.cA !== true) {
    throw new TrustBundleError(
      source,
      `${position} (${describeName(certificate.subject)}) is not a CA certificate (BasicConstraints cA is not true); ` +
        "a trust bundle holds the CA certificates that sign SVIDs, not SVIDs themselves",
    );
  }
  return Object.freeze({
    der,
    certificate,
    subject: fields.subjectText,
    notAfter: fields.notAfter,
    sha256: createHash("sha256").update(der).digest("hex"),
  });
}

/** Builds a bundle from DER certificates (e.g. the concatenated DER bundles of the Workload API, once split). */
export function trustBundleFromDer(trustDomain: string, authorities: readonly Buffer[], source: string): TrustBundle {
  checkTrustDomain(trustDomain, source);
  return Object.freeze({
    trustDomain,
    x509Authorities: Object.freeze(authorities.map((der, index) => authorityFromDer(der, `certificate ${index + 1}`, source))),
    jwtAuthorities: Object.freeze([]),
    source,
    sequenceNumber: undefined,
    refreshHintSeconds: undefined,
  });
}

function checkTrustDomain(trustDomain: string, source: string): void {
  try {
    parseTrustDomain(trustDomain);
  } catch (error) {
    throw new TrustBundleError(source, `"${trustDomain}" is not a trust domain name: ${(error as Error).message}`);
  }
}

/** Parses a PEM file of CA certificates. A file without any certificate is an error (probably the wrong file). */
export function parsePemTrustBundle(trustDomain: string, text: string, source: string): TrustBundle {
  let ders: Buffer[];
  try {
    ders = decodePemCertificates(text);
  } catch (error) {
    throw new TrustBundleError(source, `it is not a PEM file of certificates: ${(error as Error).message}`);
  }
  if (ders.length === 0) {
    throw new TrustBundleError(source, "it holds no PEM certificate (-----BEGIN CERTIFICATE-----) and is not a SPIFFE bundle (JSON)");
  }
  return trustBundleFromDer(trustDomain, ders, source);
}

/**
 * Parses a SPIFFE bundle (JWK Set JSON). An empty `keys` array is valid: the trust domain has revoked
 * its keys, and its SVIDs are rejected (SPIFFE_Trust_Domain_and_Bundle.md §4.1.3).
 */
export function parseSpiffeTrustBundle(trustDomain: string, text: string, source: string): TrustBundle {
  checkTrustDomain(trustDomain, source);
  let document: ReturnType<typeof parseSpiffeBundleDocument>;
  try {
    document = parseSpiffeBundleDocument(text);
  } catch (error) {
    throw new TrustBundleError(source, `it is not a valid SPIFFE bundle: ${(error as Error).message}`);
  }
  return Object.freeze({
    trustDomain,
    x509Authorities: Object.freeze(
      document.x509Authorities.map((der, index) => authorityFromDer(der, `the x509-svid entry ${index + 1}`, source)),
    ),
    jwtAuthorities: Object.freeze([...document.jwtAuthorities]),
    source,
    sequenceNumber: document.sequenceNumber,
    refreshHintSeconds: document.refreshHintSeconds,
  });
}

/** Parses either format: a SPIFFE bundle when the text starts with `{`, PEM certificates otherwise. */
export function parseTrustBundle(trustDomain: string, text: string, source: string): TrustBundle {
  return text.trimStart().startsWith("{")
    ? parseSpiffeTrustBundle(trustDomain, text, source)
    : parsePemTrustBundle(trustDomain, text, source);
}

export async function loadTrustBundleFile(trustDomain: string, path: string): Promise<TrustBundle> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem = code === "ENOENT" ? "the file does not exist" : `the file cannot be read (${code ?? (error as Error).message})`;
    throw new TrustBundleError(path, problem);
  }
  return parseTrustBundle(trustDomain, text, path);
}

/**
 * The trust bundles of every trust domain the gateway accepts, keyed by trust domain. Immutable: a
 * reload makes a new set. `revision` is a digest of the content, so two sets with the same
 * authorities have the same revision and caches keyed on it survive a reload that changed nothing.
 */
export class TrustBundleSet {
  static readonly empty = new TrustBundleSet([]);

  readonly revision: string;
  readonly #bundles: ReadonlyMap<string, TrustBundle>;

  constructor(bundles: Iterable<TrustBundle>) {
    const map = new Map<string, TrustBundle>();
    for (const bundle of bundles) {
      const existing = map.get(bundle.trustDomain);
      if (existing !== undefined) {
        throw new TrustBundleError(
          bundle.source,
          `trust domain ${bundle.trustDomain} already has a bundle (${existing.source}); give each trust domain one bundle`,
        );
      }
      map.set(bundle.trustDomain, bundle);
    }
    this.#bundles = map;
    this.revision = contentRevision(map);
  }

  get trustDomains(): string[] {
    return [...this.#bundles.keys()].sort();
  }

  get(trustDomain: string): TrustBundle | undefined {
    return this.#bundles.get(trustDomain);
  }

  /** The X.509 authorities of exactly this trust domain; empty when it has none or is not configured. */
  x509Authorities(trustDomain: string): readonly X509Authority[] {
    return this.#bundles.get(trustDomain)?.x509Authorities ?? [];
  }

  /** A new set in which `bundle` replaces the bundle of its trust domain (or is added). */
  with(bundle: TrustBundle): TrustBundleSet {
    return new TrustBundleSet([...[...this.#bundles.values()].filter((b) => b.trustDomain !== bundle.trustDomain), bundle]);
  }
}

function contentRevision(bundles: ReadonlyMap<string, TrustBundle>): string {
  const hash = createHash("sha256");
  for (const trustDomain of [...bundles.keys()].sort()) {
    const bundle = bundles.get(trustDomain);
    if (bundle === undefined) continue;
    hash.update(`td ${trustDomain}\n`);
    for (const sha256 of bundle.x509Authorities.map((authority) => authority.sha256).sort()) hash.update(`x509 ${sha256}\n`);
    const jwtKeys = bundle.jwtAuthorities.map((authority) => `jwt ${authority.keyId} ${canonicalJson(authority.jwk)}\n`).sort();
    for (const key of jwtKeys) hash.update(key);
  }
  return hash.digest("hex").slice(0, 32);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Loads one bundle file per trust domain (`{ "example.org": "/path/bundle.pem" }`) into a set. */
export async function loadTrustBundleSet(files: Readonly<Record<string, string>>): Promise<TrustBundleSet> {
  const bundles = await Promise.all(Object.entries(files).map(([trustDomain, path]) => loadTrustBundleFile(trustDomain, path)));
  return new TrustBundleSet(bundles);
}
