import { createPrivateKey, X509Certificate as NodeX509Certificate, type webcrypto } from "node:crypto";
import * as asn1js from "asn1js";
import type * as pkijs from "pkijs";
import { buildCertificate, generateKeyPair, signingAlgorithm, type CertificateSpec } from "./certificate-builder.ts";
import { extensionOid, extendedKeyUsageOid, parseCertificateDer, readCertificateFields, type KeyUsageName } from "./certificate-fields.ts";
import { decodePemBlocks, encodePem } from "./pem.ts";
import { parseSpiffeId } from "./spiffe-id.ts";

/**
 * A development certificate authority: ECDSA P-256 keys on WebCrypto, certificates built with pkijs.
 * It issues proper X.509-SVIDs by default, and every option can also produce an improper one, so each
 * test can break exactly one rule of X509-SVID.md. It is for development and tests only: production
 * SVIDs come from SPIRE (or any SPIFFE-conformant issuer) through the Workload API or files.
 */

const day = 86_400_000;
/** Certificates start a minute in the past, so a verifier whose clock is slightly behind accepts them. */
const clockSkewAllowance = 60_000;
const developmentOrganisation = "Tollgate development";

export interface DevCa {
  /** The trust domain whose SVIDs this CA signs. */
  readonly trustDomain: string;
  /** DER of the CA's own certificate. */
  readonly certificate: Buffer;
  readonly keys: webcrypto.CryptoKeyPair;
  readonly subjectKeyId: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** True for a self-signed root; false for an intermediate. */
  readonly isRoot: boolean;
  /**
   * What a leaf issued by this CA presents after itself: nothing for a root, this intermediate and the
   * intermediates above it otherwise (never the root, which the verifier already has).
   */
  readonly presentedChain: readonly Buffer[];
  /** PEM of the CA certificate followed by the intermediates above it: for a root, the trust bundle. */
  readonly certificatePem: string;
  /** PKCS#8 PEM of the private key. */
  readonly keyPem: string;
  /** The parsed certificate, whose Subject is the Issuer of what this CA signs. */
  readonly parsed: pkijs.Certificate;
}

interface Validity {
  /** Lifetime in milliseconds, from now (less a minute for clock skew). */
  readonly ttl?: number;
  /** Explicit start; wins over ttl. */
  readonly notBefore?: Date;
  /** Explicit end; wins over ttl, and is not clamped to the issuer's end. */
  readonly notAfter?: Date;
}

export interface CreateCaOptions extends Validity {
  readonly trustDomain: string;
  /** Default `O=Tollgate development, CN=<trust domain> root CA`. */
  readonly subject?: string;
  /** The CA's SPIFFE ID (X509-SVID §3.2: no path); default `spiffe://<trust domain>`; null for none. */
  readonly spiffeId?: string | null;
  readonly pathLength?: number;
  /** Default keyCertSign + cRLSign. */
  readonly keyUsage?: readonly KeyUsageName[];
}

export interface CreateIntermediateOptions extends Validity {
  readonly subject?: string;
  /** Default `spiffe://<trust domain of the parent>`; null for none. */
  readonly spiffeId?: string | null;
  readonly pathLength?: number;
  /** Default keyCertSign + cRLSign. */
  readonly keyUsage?: readonly KeyUsageName[];
  /** Default true; false makes a "CA" whose BasicConstraints says it is none. */
  readonly isCa?: boolean;
  /** URI name constraints, e.g. `["example.org"]`: the intermediate may only sign IDs of that trust domain. */
  readonly permittedUriDomains?: readonly string[];
}

export type ExtendedKeyUsageName = keyof typeof extendedKeyUsageOid;

export interface IssueSvidOptions extends Validity {
  /** The SVID's SPIFFE ID: one URI SAN. */
  readonly spiffeId?: string;
  /** Instead of spiffeId: any URI SANs, none, several or invalid ones. */
  readonly uris?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** BasicConstraints cA (written critical). Default false. */
  readonly isCa?: boolean;
  /** Default `["digitalSignature"]`; null leaves the KeyUsage extension out. */
  readonly keyUsage?: readonly KeyUsageName[] | null;
  /** Default true. */
  readonly keyUsageCritical?: boolean;
  /** Names or OIDs; default serverAuth + clientAuth; null leaves the extension out. */
  readonly extKeyUsage?: readonly (ExtendedKeyUsageName | string)[] | null;
  /** `CN=x, O=y`, or "" for an empty Subject. Default `O=Tollgate development, CN=<last path segment>`. */
  readonly subject?: string;
  /** Default: critical exactly when the Subject is empty, as X509-SVID §3.1 requires. */
  readonly subjectAltNameCritical?: boolean;
  /** Reuse a key pair instead of generating one. */
  readonly keys?: webcrypto.CryptoKeyPair;
}

export interface IssuedSvid {
  readonly spiffeId: string | undefined;
  /** DER of the leaf. */
  readonly certificate: Buffer;
  /** DER of the leaf followed by the intermediates, as a TLS client presents it. */
  readonly chain: readonly Buffer[];
  readonly keys: webcrypto.CryptoKeyPair;
  /** PEM of the chain (leaf first): the content of `NAME.pem`. */
  readonly certificatePem: string;
  /** PKCS#8 PEM of the private key: the content of `NAME-key.pem`. */
  readonly keyPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

function validity(options: Validity, defaultTtl: number, clampTo?: Date): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  const notBefore = options.notBefore ?? new Date(now - clockSkewAllowance);
  if (options.notAfter !== undefined) return { notBefore, notAfter: options.notAfter };
  const ttl = options.ttl ?? defaultTtl;
  if (!(ttl > 0)) throw new Error(`a certificate lifetime must be positive (got ${ttl} ms)`);
  const wanted = new Date(now + ttl);
  // A certificate outliving its issuer would be rejected for the issuer's expiry: end with the issuer.
  const notAfter = clampTo !== undefined && clampTo < wanted ? clampTo : wanted;
  return { notBefore, notAfter };
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return encodePem("PRIVATE KEY", new Uint8Array(await crypto.subtle.exportKey("pkcs8", key)));
}

function trustDomainOf(spiffeId: string | null | undefined, fallback: string): string {
  return spiffeId === null || spiffeId === undefined ? fallback : parseSpiffeId(spiffeId).trustDomain;
}

async function finishCa(
  spec: CertificateSpec,
  keys: webcrypto.CryptoKeyPair,
  trustDomain: string,
  isRoot: boolean,
  chainAbove: readonly Buffer[],
): Promise<DevCa> {
  const built = await buildCertificate(spec);
  const presentedChain = isRoot ? [] : [built.der, ...chainAbove];
  const pemChain = isRoot ? [built.der] : presentedChain;
  return Object.freeze({
    trustDomain,
    certificate: built.der,
    keys,
    subjectKeyId: built.subjectKeyId,
    notBefore: built.certificate.notBefore.value,
    notAfter: built.certificate.notAfter.value,
    isRoot,
    presentedChain,
    certificatePem: pemChain.map((der) => encodePem("CERTIFICATE", der)).join(""),
    keyPem: await exportKeyPem(keys.privateKey),
    parsed: built.certificate,
  });
}

/** Creates a self-signed root CA for `trustDomain`: URI SAN `spiffe://<td>`, cA true, KeyUsage keyCertSign + cRLSign (critical). */
export async function createCa(options: CreateCaOptions): Promise<DevCa> {
  const trustDomain = parseSpiffeId(`spiffe://${options.trustDomain}`).trustDomain;
  const keys = await generateKeyPair();
  const spiffeId = options.spiffeId === undefined ? `spiffe://${trustDomain}` : options.spiffeId;
  const spec: CertificateSpec = {
    subject: options.subject ?? `O=${developmentOrganisation}, CN=${trustDomain} root CA`,
    issuer: "self",
    ...validity(options, 365 * day),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    authorityKeyId: undefined,
    basicConstraints: { value: { cA: true, ...(options.pathLength === undefined ? {} : { pathLength: options.pathLength }) }, critical: true },
    keyUsage: { value: options.keyUsage ?? ["keyCertSign", "cRLSign"], critical: true },
    extKeyUsage: undefined,
    subjectAltNames: spiffeId === null ? undefined : { value: { uris: [spiffeId], dnsNames: [], ipAddresses: [] }, critical: false },
    permittedUriDomains: undefined,
  };
  return finishCa(spec, keys, trustDomain, true, []);
}

/** Creates an intermediate CA signed by `parent`; leaves it issues present it (and those above it) in their chain. */
export async function createIntermediateCa(parent: DevCa, options: CreateIntermediateOptions = {}): Promise<DevCa> {
  const keys = await generateKeyPair();
  const spiffeId = options.spiffeId === undefined ? `spiffe://${parent.trustDomain}` : options.spiffeId;
  const spec: CertificateSpec = {
    subject: options.subject ?? `O=${developmentOrganisation}, CN=${parent.trustDomain} intermediate CA ${parent.presentedChain.length + 1}`,
    issuer: parent.parsed.subject,
    ...validity(options, 30 * day, parent.notAfter),
    publicKey: keys.publicKey,
    signingKey: parent.keys.privateKey,
    authorityKeyId: parent.subjectKeyId,
    basicConstraints: {
      value: { cA: options.isCa ?? true, ...(options.pathLength === undefined ? {} : { pathLength: options.pathLength }) },
      critical: true,
    },
    keyUsage: { value: options.keyUsage ?? ["keyCertSign", "cRLSign"], critical: true },
    extKeyUsage: undefined,
    subjectAltNames: spiffeId === null ? undefined : { value: { uris: [spiffeId], dnsNames: [], ipAddresses: [] }, critical: false },
    permittedUriDomains: options.permittedUriDomains,
  };
  return finishCa(spec, keys, trustDomainOf(spiffeId, parent.trustDomain), false, parent.presentedChain);
}

/** Issues a leaf certificate: by default a proper X.509-SVID for `options.spiffeId`, valid for 24 hours. */
export async function issueSvid(ca: DevCa, options: IssueSvidOptions): Promise<IssuedSvid> {
  const uris = options.uris ?? (options.spiffeId === undefined ? [] : [options.spiffeId]);
  const keys = options.keys ?? (await generateKeyPair());
  const lastSegment = options.spiffeId === undefined ? undefined : parseSpiffeId(options.spiffeId).segments.at(-1);
  const subject =
    options.subject ?? (lastSegment === undefined ? `O=${developmentOrganisation}` : `O=${developmentOrganisation}, CN=${lastSegment}`);
  const extKeyUsage = options.extKeyUsage === undefined ? (["serverAuth", "clientAuth"] as const) : options.extKeyUsage;
  const keyUsage = options.keyUsage === undefined ? (["digitalSignature"] as const) : options.keyUsage;
  const built = await buildCertificate({
    subject,
    issuer: ca.parsed.subject,
    ...validity(options, day, ca.notAfter),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    authorityKeyId: ca.subjectKeyId,
    basicConstraints: { value: { cA: options.isCa ?? false }, critical: true },
    keyUsage: keyUsage === null ? undefined : { value: keyUsage, critical: options.keyUsageCritical ?? true },
    extKeyUsage:
      extKeyUsage === null
        ? undefined
        : { value: extKeyUsage.map((usage) => extendedKeyUsageOid[usage as ExtendedKeyUsageName] ?? usage), critical: false },
    subjectAltNames: {
      value: { uris, dnsNames: options.dnsNames ?? [], ipAddresses: options.ipAddresses ?? [] },
      critical: options.subjectAltNameCritical ?? subject.trim() === "",
    },
    permittedUriDomains: undefined,
  });
  const chain = [built.der, ...ca.presentedChain];
  return Object.freeze({
    spiffeId: options.spiffeId,
    certificate: built.der,
    chain,
    keys,
    certificatePem: chain.map((der) => encodePem("CERTIFICATE", der)).join(""),
    keyPem: await exportKeyPem(keys.privateKey),
    notBefore: built.certificate.notBefore.value,
    notAfter: built.certificate.notAfter.value,
  });
}

/**
 * Loads a CA written by this module (`ca.pem` and `ca-key.pem`): the CA certificate first, then the
 * intermediates above it for an intermediate CA. Throws when the key does not belong to the certificate.
 */
export async function loadCa(certificatePem: string, keyPem: string): Promise<DevCa> {
  const certificates = decodePemBlocks(certificatePem).filter((block) => block.label === "CERTIFICATE");
  const first = certificates[0];
  if (first === undefined) throw new Error("the CA file holds no certificate");
  const keyBlock = decodePemBlocks(keyPem).find((block) => block.label === "PRIVATE KEY");
  if (keyBlock === undefined) throw new Error("the CA key file holds no PKCS#8 PRIVATE KEY");

  const node = new NodeX509Certificate(first.der);
  if (!node.checkPrivateKey(createPrivateKey({ key: keyBlock.der, format: "der", type: "pkcs8" }))) {
    throw new Error("the CA key does not belong to the CA certificate");
  }
  const parsed = parseCertificateDer(first.der);
  const fields = readCertificateFields(parsed);
  if (fields.basicConstraints?.cA !== true) throw new Error("the CA certificate is not a CA (BasicConstraints cA is not true)");
  const uri = fields.subjectAltNames?.uris[0];
  if (uri === undefined) throw new Error("the CA certificate has no spiffe:// URI SAN naming its trust domain");
  const subjectKeyId: unknown = parsed.extensions?.find((extension) => extension.extnID === extensionOid.subjectKeyIdentifier)?.parsedValue;
  if (!(subjectKeyId instanceof asn1js.OctetString)) throw new Error("the CA certificate has no SubjectKeyIdentifier");

  const spki = node.publicKey.export({ type: "spki", format: "der" });
  const keys: webcrypto.CryptoKeyPair = {
    privateKey: await crypto.subtle.importKey("pkcs8", keyBlock.der, signingAlgorithm, true, ["sign"]),
    publicKey: await crypto.subtle.importKey("spki", spki, signingAlgorithm, true, ["verify"]),
  };
  const isRoot = certificates.length === 1 && node.checkIssued(node) && node.verify(node.publicKey);
  const presentedChain = isRoot ? [] : certificates.map((block) => block.der);
  return Object.freeze({
    trustDomain: parseSpiffeId(uri).trustDomain,
    certificate: first.der,
    keys,
    subjectKeyId: new Uint8Array(subjectKeyId.valueBlock.valueHexView),
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
    isRoot,
    presentedChain,
    certificatePem: certificates.map((block) => encodePem("CERTIFICATE", block.der)).join(""),
    keyPem: encodePem("PRIVATE KEY", keyBlock.der),
    parsed,
  });
}
