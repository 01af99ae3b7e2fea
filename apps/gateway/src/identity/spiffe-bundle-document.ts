import { X509Certificate, type webcrypto } from "node:crypto";
import { parse as parseYaml } from "yaml";

/**
 * The SPIFFE bundle format (SPIFFE_Trust_Domain_and_Bundle.md §4): a JWK Set whose entries are the
 * X.509 authorities (`use: "x509-svid"`, X509-SVID.md §6) and JWT signing keys (`use: "jwt-svid"`) of
 * one trust domain. This file only reads the document; trust-bundles.ts turns it into a bundle.
 */

export interface JwtAuthority {
  readonly keyId: string;
  readonly jwk: Readonly<webcrypto.JsonWebKey>;
}

export interface SpiffeBundleDocument {
  /** DER of each X.509 authority: the first `x5c` value of every usable `x509-svid` entry. */
  readonly x509Authorities: readonly Buffer[];
  readonly jwtAuthorities: readonly JwtAuthority[];
  readonly sequenceNumber: number | undefined;
  readonly refreshHintSeconds: number | undefined;
}

/** Key types of RFC 7518 §6.1 and RFC 8037; §4.2.1 says entries of any other type are ignored. */
const knownKeyTypes = new Set(["EC", "RSA", "OKP"]);
const strictBase64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalInteger(document: Record<string, unknown>, name: string): number | undefined {
  const value = document[name];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new Error(`"${name}" must be a non-negative integer`);
  }
  return value;
}

/**
 * Parses a SPIFFE bundle. Throws an Error saying what is wrong for a document that is not a JWK Set;
 * entries that the standard says to ignore (unknown `use` or `kty`, an `x509-svid` entry without
 * `x5c`, a `jwt-svid` entry without `kid`) are skipped, and only the first `x5c` value is used.
 */
export function parseSpiffeBundleDocument(text: string): SpiffeBundleDocument {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new Error(`it is not valid JSON (${(error as Error).message})`);
  }
  // JSON.parse keeps the last of two equal keys without a word; §6.3 asks for duplicates to be
  // detected, since a duplicated "keys" could hide authorities. YAML 1.2 reads JSON and reports them.
  try {
    parseYaml(text, { uniqueKeys: true, prettyErrors: false });
  } catch (error) {
    const message = (error as Error).message.split("\n")[0] ?? "";
    throw new Error(`it has a duplicated key (${message}); a SPIFFE bundle must not repeat a name within an object`);
  }
  if (!isObject(document)) throw new Error("it is not a JSON object (a JWK Set)");
  const keys = document.keys;
  if (!Array.isArray(keys)) throw new Error(`it has no "keys" array, so it is not a JWK Set`);

  const x509Authorities: Buffer[] = [];
  const jwtAuthorities: JwtAuthority[] = [];
  keys.forEach((entry: unknown, index) => {
    if (!isObject(entry)) throw new Error(`keys[${index}] is not an object`);
    if (typeof entry.kty !== "string" || !knownKeyTypes.has(entry.kty)) return;
    if (entry.use === "x509-svid") {
      const x5c = entry.x5c;
      if (!Array.isArray(x5c) || x5c.length === 0) return;
      const first: unknown = x5c[0];
      if (typeof first !== "string" || first.length === 0 || !strictBase64.test(first)) {
        throw new Error(`keys[${index}].x5c[0] is not a base64-encoded DER certificate`);
      }
      x509Authorities.push(Buffer.from(first, "base64"));
    } else if (entry.use === "jwt-svid") {
      if (typeof entry.kid !== "string" || entry.kid === "") return;
      jwtAuthorities.push({ keyId: entry.kid, jwk: Object.freeze({ ...entry }) as webcrypto.JsonWebKey });
    }
  });
  return {
    x509Authorities,
    jwtAuthorities,
    sequenceNumber: optionalInteger(document, "spiffe_sequence"),
    refreshHintSeconds: optionalInteger(document, "spiffe_refresh_hint"),
  };
}

/** Writes a SPIFFE bundle holding `x509Authorities` (DER), e.g. for tests and for publishing a dev CA. */
export function formatSpiffeBundleDocument(
  x509Authorities: readonly Uint8Array[],
  options: { sequenceNumber?: number; refreshHintSeconds?: number; jwtAuthorities?: readonly JwtAuthority[] } = {},
): string {
  // Each entry carries the certificate's public key as JWK members, as SPIRE publishes it.
  const keys: unknown[] = x509Authorities.map((der) => ({
    ...new X509Certificate(der).publicKey.export({ format: "jwk" }),
    use: "x509-svid",
    x5c: [Buffer.from(der).toString("base64")],
  }));
  for (const authority of options.jwtAuthorities ?? []) keys.push({ ...authority.jwk, use: "jwt-svid", kid: authority.keyId });
  return `${JSON.stringify(
    {
      ...(options.sequenceNumber === undefined ? {} : { spiffe_sequence: options.sequenceNumber }),
      ...(options.refreshHintSeconds === undefined ? {} : { spiffe_refresh_hint: options.refreshHintSeconds }),
      keys,
    },
    null,
    2,
  )}\n`;
}
