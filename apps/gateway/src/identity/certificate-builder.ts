import type { webcrypto } from "node:crypto";
import { createHash, randomBytes } from "node:crypto";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { extensionOid, keyUsageNames, type KeyUsageName } from "./certificate-fields.ts";
import { ipAddressToBytes } from "./ip-address.ts";

/**
 * Builds and signs X.509 certificates with pkijs on WebCrypto, with every SPIFFE-relevant extension
 * under the caller's control, including the wrong settings that tests need to produce on purpose.
 * The development CA (dev-ca.ts) decides what a certificate should say; this file only encodes it.
 */

export const signingAlgorithm = { name: "ECDSA", namedCurve: "P-256" } as const;

export async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return crypto.subtle.generateKey(signingAlgorithm, true, ["sign", "verify"]);
}

export interface ExtensionSetting<T> {
  readonly value: T;
  readonly critical: boolean;
}

export interface CertificateSpec {
  /** `CN=x, O=y` (attributes CN, O, OU, C, L, ST), or "" for an empty Subject. */
  readonly subject: string;
  readonly issuer: pkijs.RelativeDistinguishedNames | "self";
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly publicKey: webcrypto.CryptoKey;
  readonly signingKey: webcrypto.CryptoKey;
  /** The issuer's subject key identifier, written as the AuthorityKeyIdentifier. */
  readonly authorityKeyId: Uint8Array | undefined;
  readonly basicConstraints: ExtensionSetting<{ cA: boolean; pathLength?: number }> | undefined;
  readonly keyUsage: ExtensionSetting<readonly KeyUsageName[]> | undefined;
  readonly extKeyUsage: ExtensionSetting<readonly string[]> | undefined;
  readonly subjectAltNames:
    | ExtensionSetting<{ uris: readonly string[]; dnsNames: readonly string[]; ipAddresses: readonly string[] }>
    | undefined;
  /** URI name constraints (permitted hosts, e.g. a trust domain name), written critical. */
  readonly permittedUriDomains: readonly string[] | undefined;
}

export interface BuiltCertificate {
  readonly der: Buffer;
  readonly certificate: pkijs.Certificate;
  readonly subjectKeyId: Uint8Array;
}

const attributeOids: Record<string, string> = {
  CN: "2.5.4.3",
  C: "2.5.4.6",
  L: "2.5.4.7",
  ST: "2.5.4.8",
  O: "2.5.4.10",
  OU: "2.5.4.11",
};

/**
 * Parses `CN=x, O=y` into a Name with one attribute per RDN, as OpenSSL and Go write them (pkijs alone
 * would put every attribute into a single multi-valued RDN). "" gives the empty Name. Commas inside
 * values are not supported.
 */
export function parseName(text: string): pkijs.RelativeDistinguishedNames {
  const rdns: asn1js.Set[] = [];
  for (const part of text.trim() === "" ? [] : text.split(",")) {
    const equals = part.indexOf("=");
    const key = part.slice(0, equals).trim().toUpperCase();
    const value = part.slice(equals + 1).trim();
    const type = attributeOids[key];
    if (equals === -1 || type === undefined || value === "") {
      throw new Error(`"${part.trim()}" is not an attribute of a name; write it like CN=name, O=organisation`);
    }
    const asn1Value = key === "C" ? new asn1js.PrintableString({ value }) : new asn1js.Utf8String({ value });
    rdns.push(new asn1js.Set({ value: [new pkijs.AttributeTypeAndValue({ type, value: asn1Value }).toSchema()] }));
  }
  // Built from DER so that pkijs keeps these exact bytes when it encodes the certificate.
  const der = new asn1js.Sequence({ value: rdns }).toBER(false);
  return new pkijs.RelativeDistinguishedNames({ schema: asn1js.fromBER(der).result });
}

/** X.509 times have whole seconds; UTCTime cannot express years from 2050 on (RFC 5280 §4.1.2.5). */
function certificateTime(date: Date): pkijs.Time {
  const value = new Date(Math.floor(date.getTime() / 1000) * 1000);
  return new pkijs.Time({ type: value.getUTCFullYear() >= 2050 ? 1 : 0, value });
}

/** KeyUsage as a DER BIT STRING: bit 0 is the most significant bit, trailing zero bits are dropped. */
function keyUsageBitString(usages: readonly KeyUsageName[]): asn1js.BitString {
  let bits = 0;
  for (const usage of usages) bits |= 1 << keyUsageNames.indexOf(usage);
  const bytes = [0, 0];
  for (let bit = 0; bit < keyUsageNames.length; bit++) {
    if ((bits & (1 << bit)) !== 0) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  }
  const length = bytes[1] !== 0 ? 2 : bytes[0] !== 0 ? 1 : 0;
  const used = Uint8Array.from(bytes.slice(0, length));
  const last = used[length - 1] ?? 0;
  let unusedBits = 0;
  while (length > 0 && unusedBits < 7 && (last & (1 << unusedBits)) === 0) unusedBits++;
  return new asn1js.BitString({ valueHex: used, unusedBits });
}

function extension(oid: string, critical: boolean, value: asn1js.BaseBlock): pkijs.Extension {
  return new pkijs.Extension({ extnID: oid, critical, extnValue: value.toBER(false) });
}

function randomSerialNumber(): asn1js.Integer {
  const bytes = randomBytes(16);
  // Positive and without a leading zero byte, so the DER INTEGER is exactly 16 bytes (RFC 5280 §4.1.2.2).
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return new asn1js.Integer({ valueHex: bytes });
}

export async function buildCertificate(spec: CertificateSpec): Promise<BuiltCertificate> {
  const certificate = new pkijs.Certificate();
  certificate.version = 2;
  certificate.serialNumber = randomSerialNumber();
  certificate.subject = parseName(spec.subject);
  certificate.issuer = spec.issuer === "self" ? parseName(spec.subject) : spec.issuer;
  certificate.notBefore = certificateTime(spec.notBefore);
  certificate.notAfter = certificateTime(spec.notAfter);
  await certificate.subjectPublicKeyInfo.importKey(spec.publicKey);

  // RFC 5280 §4.2.1.2 method (1): the SHA-1 of the subjectPublicKey bits.
  const subjectKeyId = createHash("sha1")
    .update(certificate.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView)
    .digest();
  const extensions: pkijs.Extension[] = [];
  if (spec.basicConstraints !== undefined) {
    const { cA, pathLength } = spec.basicConstraints.value;
    const value = new pkijs.BasicConstraints(pathLength === undefined ? { cA } : { cA, pathLenConstraint: pathLength });
    extensions.push(extension(extensionOid.basicConstraints, spec.basicConstraints.critical, value.toSchema()));
  }
  if (spec.keyUsage !== undefined) {
    extensions.push(extension(extensionOid.keyUsage, spec.keyUsage.critical, keyUsageBitString(spec.keyUsage.value)));
  }
  if (spec.extKeyUsage !== undefined) {
    const value = new pkijs.ExtKeyUsage({ keyPurposes: [...spec.extKeyUsage.value] });
    extensions.push(extension(extensionOid.extKeyUsage, spec.extKeyUsage.critical, value.toSchema()));
  }
  if (spec.subjectAltNames !== undefined) {
    const { uris, dnsNames, ipAddresses } = spec.subjectAltNames.value;
    const altNames = [
      ...uris.map((value) => new pkijs.GeneralName({ type: 6, value })),
      ...dnsNames.map((value) => new pkijs.GeneralName({ type: 2, value })),
      ...ipAddresses.map((ip) => new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: ipAddressToBytes(ip) }) })),
    ];
    const value = new pkijs.AltName({ altNames });
    extensions.push(extension(extensionOid.subjectAltName, spec.subjectAltNames.critical, value.toSchema()));
  }
  if (spec.permittedUriDomains !== undefined) {
    const permittedSubtrees = spec.permittedUriDomains.map(
      (domain) => new pkijs.GeneralSubtree({ base: new pkijs.GeneralName({ type: 6, value: domain }) }),
    );
    extensions.push(extension(extensionOid.nameConstraints, true, new pkijs.NameConstraints({ permittedSubtrees }).toSchema()));
  }
  extensions.push(extension(extensionOid.subjectKeyIdentifier, false, new asn1js.OctetString({ valueHex: subjectKeyId })));
  if (spec.authorityKeyId !== undefined) {
    const value = new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: spec.authorityKeyId }) });
    extensions.push(extension(extensionOid.authorityKeyIdentifier, false, value.toSchema()));
  }
  certificate.extensions = extensions;

  await certificate.sign(spec.signingKey, "SHA-256");
  const der = Buffer.from(certificate.toSchema(false).toBER(false));
  return { der, certificate, subjectKeyId };
}
