import { createHash } from "node:crypto";
import { TollgateError } from "../errors/tollgate-error.ts";
import { CertificateFieldError, parseCertificateDer, readCertificateFields, type CertificateFields } from "./certificate-fields.ts";
import type { SpiffeId } from "./spiffe-id.ts";
import { svidRejected } from "./svid-rejection.ts";
import type { TrustBundleSet } from "./trust-bundles.ts";
import { LruCache } from "./lru-cache.ts";
import { validateCertificationPath, type PresentedCertificate } from "./x509-path-validation.ts";
import { checkLeafUsage, leafSpiffeId } from "./x509-svid-leaf-rules.ts";

/**
 * Verification of X.509-SVIDs presented by callers (X509-SVID.md §5): the leaf's SPIFFE ID picks the
 * trust domain, RFC 5280 path validation runs against that trust domain's authorities only, and the
 * SPIFFE leaf rules are enforced, including those some libraries skip (KeyUsage criticality, EKU, a
 * critical SAN with an empty Subject, the SPIFFE IDs of intermediates).
 */

export interface VerifiedX509Svid {
  readonly id: SpiffeId;
  /** The latest notBefore of the validated path. */
  readonly notBefore: Date;
  /** The earliest notAfter of the validated path: when this verification stops holding. */
  readonly notAfter: Date;
  /** SHA-256 of the leaf's DER as Node writes it (`AB:CD:...`), e.g. for the audit trail. */
  readonly fingerprint256: string;
  /** The leaf's serial number, hex. */
  readonly serialNumber: string;
  /** The revision of the trust bundles it was verified against. */
  readonly bundleRevision: string;
}

export interface X509SvidVerifierOptions {
  /** How many verified chains to remember (least recently used go first). Default 1024; 0 turns the cache off. */
  readonly cacheSize?: number;
  /** The most certificates a caller may present. Default 10: SPIFFE deployments use a handful. */
  readonly maxChainLength?: number;
}

function fingerprint(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex").toUpperCase().replace(/(..)(?!$)/g, "$1:");
}

function chainDigest(chain: readonly Uint8Array[]): string {
  const hash = createHash("sha256");
  const length = Buffer.alloc(4);
  for (const der of chain) {
    // Length-prefixed, so that two different chains can never hash the same bytes.
    length.writeUInt32BE(der.byteLength);
    hash.update(length).update(der);
  }
  return hash.digest("hex");
}

/**
 * Signature algorithms a presented certificate may be signed with: ECDSA and RSA (PKCS#1 v1.5 or
 * PSS) with SHA-256 or stronger, and Ed25519. SHA-1 and MD5 signatures can be forged (RFC 9155).
 */
const acceptedSignatureAlgorithms = new Set([
  "1.2.840.10045.4.3.2", // ecdsa-with-SHA256
  "1.2.840.10045.4.3.3", // ecdsa-with-SHA384
  "1.2.840.10045.4.3.4", // ecdsa-with-SHA512
  "1.2.840.113549.1.1.11", // sha256WithRSAEncryption
  "1.2.840.113549.1.1.12", // sha384WithRSAEncryption
  "1.2.840.113549.1.1.13", // sha512WithRSAEncryption
  "1.2.840.113549.1.1.10", // RSASSA-PSS
  "1.3.101.112", // Ed25519
]);

function parsePresented(der: Uint8Array, position: string): PresentedCertificate {
  let presented: PresentedCertificate;
  try {
    const certificate = parseCertificateDer(der);
    presented = { certificate, fields: readCertificateFields(certificate) };
  } catch (error) {
    if (!(error instanceof CertificateFieldError)) throw error;
    const rule = error.message.includes("more than once") ? "duplicate_extension" : "malformed_certificate";
    throw svidRejected(rule, `${position} cannot be read: ${error.message}`);
  }
  const algorithm = presented.certificate.signatureAlgorithm.algorithmId;
  if (!acceptedSignatureAlgorithms.has(algorithm)) {
    throw svidRejected(
      "weak_signature_algorithm",
      `${position} is signed with the algorithm ${algorithm}; accepted are ECDSA or RSA with SHA-256 or stronger, RSA-PSS and Ed25519`,
    );
  }
  return presented;
}

function checkLeafValidity(fields: CertificateFields, now: Date): void {
  if (fields.notBefore > now) {
    throw svidRejected(
      "not_yet_valid",
      `the leaf certificate is valid only from ${fields.notBefore.toISOString()} (now is ${now.toISOString()}); check the clocks of the issuer and the gateway`,
    );
  }
  if (fields.notAfter < now) {
    throw svidRejected(
      "expired",
      `the leaf certificate expired at ${fields.notAfter.toISOString()} (now is ${now.toISOString()}); the workload must renew its SVID`,
    );
  }
}

async function verifyUncached(chain: readonly Uint8Array[], bundles: TrustBundleSet, now: Date, maxChainLength: number): Promise<VerifiedX509Svid> {
  const leafDer = chain[0];
  if (leafDer === undefined) {
    throw svidRejected("no_certificate", "the connection presented no client certificate; connect with the agent's X.509-SVID and key");
  }
  if (chain.length > maxChainLength) {
    throw svidRejected("chain_too_long", `${chain.length} certificates were presented; at most ${maxChainLength} are accepted`);
  }
  const leaf = parsePresented(leafDer, "the leaf certificate");
  const intermediates = chain.slice(1).map((der, index) => parsePresented(der, `intermediate certificate ${index + 1}`));

  const id = leafSpiffeId(leaf.fields);
  const bundle = bundles.get(id.trustDomain);
  if (bundle === undefined) {
    // Which trust domains are federated is the operator's business, not an unauthenticated caller's.
    throw svidRejected("unknown_trust_domain", `the SVID's trust domain ${id.trustDomain} is not one this gateway trusts`);
  }
  if (bundle.x509Authorities.length === 0) {
    throw svidRejected(
      "no_x509_authorities",
      // The bundle's source (a file path on the gateway) is for operators, not for callers.
      `the bundle of trust domain ${id.trustDomain} holds no X.509 authorities, so none of its X.509-SVIDs can be trusted`,
    );
  }
  checkLeafUsage(leaf.fields);
  checkLeafValidity(leaf.fields, now);

  const path = await validateCertificationPath(leaf, intermediates, bundle.x509Authorities, id.trustDomain, now);
  let notBefore = leaf.fields.notBefore;
  let notAfter = leaf.fields.notAfter;
  for (const certificate of path) {
    if (certificate.notBefore.value > notBefore) notBefore = certificate.notBefore.value;
    if (certificate.notAfter.value < notAfter) notAfter = certificate.notAfter.value;
  }
  return Object.freeze({
    id,
    notBefore,
    notAfter,
    fingerprint256: fingerprint(leafDer),
    serialNumber: Buffer.from(leaf.certificate.serialNumber.valueBlock.valueHexView).toString("hex"),
    bundleRevision: bundles.revision,
  });
}

/**
 * Verifies X.509-SVIDs and remembers the chains it accepted, keyed by the SHA-256 of the chain and
 * the bundle revision, until the earliest expiry in the path: a client that reconnects does not cost a
 * second validation, and a change to the bundles is never answered from an old result. Only
 * acceptances are cached: a rejection may depend on the time, and costs the caller a handshake anyway.
 */
export class X509SvidVerifier {
  readonly #cache: LruCache<VerifiedX509Svid>;
  readonly #inFlight = new Map<string, Promise<VerifiedX509Svid>>();
  readonly #maxChainLength: number;
  #cacheHits = 0;
  #fullValidations = 0;

  constructor(options: X509SvidVerifierOptions = {}) {
    this.#cache = new LruCache(options.cacheSize ?? 1024);
    this.#maxChainLength = options.maxChainLength ?? 10;
  }

  /** Counters for tests and metrics: answers from the cache, and validations actually run. */
  get stats(): { readonly cacheHits: number; readonly fullValidations: number; readonly cached: number } {
    return { cacheHits: this.#cacheHits, fullValidations: this.#fullValidations, cached: this.#cache.size };
  }

  clearCache(): void {
    this.#cache.clear();
  }

  /**
   * Verifies `chain` (DER, leaf first, as presented) against `bundles` at `now` (default: the current
   * time). Resolves with the verified identity or rejects with a TollgateError (TG_ERR_SVID_REJECTED,
   * or TG_ERR_UNAUTHENTICATED for an empty chain) whose reason is `x509svid.<rule>`; never anything else.
   */
  async verify(chain: readonly Uint8Array[], bundles: TrustBundleSet, now?: Date): Promise<VerifiedX509Svid> {
    const at = now ?? new Date();
    const key = `${chainDigest(chain)}:${bundles.revision}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined && cached.notBefore <= at && at <= cached.notAfter) {
      this.#cacheHits++;
      return cached;
    }
    // An entry past its path's expiry is dead; one not yet valid (a verification "in the past") may
    // still be good later, so only the former is dropped.
    if (cached !== undefined && cached.notAfter < at) this.#cache.delete(key);
    // Concurrent handshakes with the same SVID (a client opening a pool of connections) share one
    // validation; only when the time is "now", since a result for another time is another answer.
    const shared = now === undefined ? this.#inFlight.get(key) : undefined;
    if (shared !== undefined) return shared;

    this.#fullValidations++;
    const running = this.#validate(chain, bundles, at, key);
    if (now === undefined) {
      this.#inFlight.set(key, running);
      void running.then(
        () => this.#inFlight.delete(key),
        () => this.#inFlight.delete(key),
      );
    }
    return running;
  }

  async #validate(chain: readonly Uint8Array[], bundles: TrustBundleSet, at: Date, key: string): Promise<VerifiedX509Svid> {
    let verified: VerifiedX509Svid;
    try {
      verified = await verifyUncached(chain, bundles, at, this.#maxChainLength);
    } catch (error) {
      if (error instanceof TollgateError) throw error;
      // Whatever a crafted certificate makes a parser throw is still a rejection, never a crash or a 500.
      throw svidRejected("malformed_certificate", "the presented certificates could not be processed", { cause: error });
    }
    this.#cache.set(key, verified);
    return verified;
  }
}

/** The process-wide verifier (and its cache) used by verifyX509Svid. */
export const defaultX509SvidVerifier = new X509SvidVerifier();

/** Verifies an X.509-SVID chain (DER, leaf first) with the process-wide verifier and its cache. */
export function verifyX509Svid(chain: readonly Uint8Array[], bundles: TrustBundleSet, now?: Date): Promise<VerifiedX509Svid> {
  return defaultX509SvidVerifier.verify(chain, bundles, now);
}
