import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { ipAddressFromBytes } from "./ip-address.ts";

/**
 * The fields of an X.509 certificate that SPIFFE rules are about, read with pkijs/asn1js (Node's
 * X509Certificate.keyUsage returns the extended key usages, not the KeyUsage bits, so it cannot be used).
 *
 * Reading is strict: a known extension that does not decode, or an extension that appears twice
 * (RFC 5280 §4.2 forbids it), is an error rather than a default value. pkijs alone would read a
 * malformed BasicConstraints as `cA: false`, and two SAN extensions of one URI each would otherwise
 * slip past "exactly one URI SAN".
 */

export const extensionOid = {
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  nameConstraints: "2.5.29.30",
  certificatePolicies: "2.5.29.32",
  policyMappings: "2.5.29.33",
  authorityKeyIdentifier: "2.5.29.35",
  policyConstraints: "2.5.29.36",
  extKeyUsage: "2.5.29.37",
  inhibitAnyPolicy: "2.5.29.54",
} as const;

export const extendedKeyUsageOid = {
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

/** KeyUsage bits in the order of RFC 5280 §4.2.1.3: the index is the bit number. */
export const keyUsageNames = [
  "digitalSignature",
  "nonRepudiation",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly",
] as const;
export type KeyUsageName = (typeof keyUsageNames)[number];

export interface SubjectAltNames {
  readonly critical: boolean;
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

export interface CertificateFields {
  /** True when the Subject has no attributes (X509-SVID §3.1 then requires a critical URI SAN). */
  readonly subjectEmpty: boolean;
  /** The Subject for messages, e.g. `CN=tollgate, O=Tollgate`, or `(empty subject)`. */
  readonly subjectText: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subjectAltNames: SubjectAltNames | undefined;
  readonly keyUsage: { readonly critical: boolean; readonly usages: ReadonlySet<KeyUsageName> } | undefined;
  readonly basicConstraints: { readonly critical: boolean; readonly cA: boolean; readonly pathLength: number | undefined } | undefined;
  readonly extKeyUsage: { readonly critical: boolean; readonly purposes: readonly string[] } | undefined;
  /** Every extension with its criticality, in certificate order. */
  readonly extensions: readonly { readonly oid: string; readonly critical: boolean }[];
}

/** A certificate or one of its extensions does not decode. */
export class CertificateFieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CertificateFieldError";
  }
}

/** Decodes one DER certificate, refusing trailing bytes (a certificate is exactly one ASN.1 value). */
export function parseCertificateDer(der: Uint8Array): pkijs.Certificate {
  const asn1 = asn1js.fromBER(der);
  if (asn1.offset === -1 || asn1.offset !== der.byteLength) {
    throw new CertificateFieldError("the certificate is not valid DER");
  }
  try {
    return new pkijs.Certificate({ schema: asn1.result });
  } catch {
    throw new CertificateFieldError("the DER does not hold an X.509 certificate");
  }
}

const attributeShortNames: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.5": "serialNumber",
};

export function describeName(name: pkijs.RelativeDistinguishedNames): string {
  if (name.typesAndValues.length === 0) return "(empty subject)";
  return name.typesAndValues
    .map((attribute) => {
      const value: unknown = (attribute.value as { valueBlock?: { value?: unknown } }).valueBlock?.value;
      const label = attributeShortNames[attribute.type] ?? attribute.type;
      return `${label}=${typeof value === "string" ? value.slice(0, 64) : "…"}`;
    })
    .join(", ");
}

export function readCertificateFields(certificate: pkijs.Certificate): CertificateFields {
  const extensions = certificate.extensions ?? [];
  const seen = new Set<string>();
  for (const extension of extensions) {
    if (seen.has(extension.extnID)) {
      throw new CertificateFieldError(`the extension ${extension.extnID} appears more than once (RFC 5280 §4.2)`);
    }
    seen.add(extension.extnID);
  }
  const find = (oid: string) => extensions.find((extension) => extension.extnID === oid);
  return {
    subjectEmpty: certificate.subject.typesAndValues.length === 0,
    subjectText: describeName(certificate.subject),
    notBefore: certificate.notBefore.value,
    notAfter: certificate.notAfter.value,
    subjectAltNames: readSubjectAltNames(find(extensionOid.subjectAltName)),
    keyUsage: readKeyUsage(find(extensionOid.keyUsage)),
    basicConstraints: readBasicConstraints(find(extensionOid.basicConstraints)),
    extKeyUsage: readExtKeyUsage(find(extensionOid.extKeyUsage)),
    extensions: extensions.map((extension) => ({ oid: extension.extnID, critical: extension.critical })),
  };
}

/** pkijs marks a known extension that failed to decode with `parsingError` and default values. */
function decoded<T>(extension: pkijs.Extension, type: new (...args: never[]) => T, name: string): T {
  const value: unknown = extension.parsedValue;
  if (!(value instanceof type) || (value as { parsingError?: unknown }).parsingError !== undefined) {
    throw new CertificateFieldError(`the ${name} extension does not decode`);
  }
  return value;
}

function readSubjectAltNames(extension: pkijs.Extension | undefined): SubjectAltNames | undefined {
  if (extension === undefined) return undefined;
  const altName = decoded(extension, pkijs.AltName, "SubjectAltName");
  const uris: string[] = [];
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const name of altName.altNames) {
    if (name.type === 6 && typeof name.value === "string") uris.push(name.value);
    else if (name.type === 2 && typeof name.value === "string") dnsNames.push(name.value);
    else if (name.type === 7 && name.value instanceof asn1js.OctetString) {
      const text = ipAddressFromBytes(name.value.valueBlock.valueHexView);
      if (text === undefined) throw new CertificateFieldError("an IP address SAN is neither 4 nor 16 bytes long");
      ipAddresses.push(text);
    } else if (name.type === 6 || name.type === 2) {
      throw new CertificateFieldError("a SubjectAltName entry does not decode");
    }
  }
  return { critical: extension.critical, uris, dnsNames, ipAddresses };
}

function readKeyUsage(extension: pkijs.Extension | undefined): CertificateFields["keyUsage"] {
  if (extension === undefined) return undefined;
  const bytes = extension.extnValue.valueBlock.valueHexView;
  const asn1 = asn1js.fromBER(bytes);
  if (asn1.offset !== bytes.byteLength || !(asn1.result instanceof asn1js.BitString)) {
    throw new CertificateFieldError("the KeyUsage extension does not decode");
  }
  const bits = asn1.result.valueBlock.valueHexView;
  const usages = new Set<KeyUsageName>();
  keyUsageNames.forEach((name, bit) => {
    if (((bits[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0) usages.add(name);
  });
  return { critical: extension.critical, usages };
}

function readBasicConstraints(extension: pkijs.Extension | undefined): CertificateFields["basicConstraints"] {
  if (extension === undefined) return undefined;
  const value = decoded(extension, pkijs.BasicConstraints, "BasicConstraints");
  const raw: unknown = value.pathLenConstraint;
  let pathLength: number | undefined;
  if (typeof raw === "number") {
    if (raw < 0) throw new CertificateFieldError("the BasicConstraints pathLenConstraint is negative");
    pathLength = raw;
  } else if (raw !== undefined) {
    // An integer too large for a JavaScript number constrains nothing that can exist.
    pathLength = Number.MAX_SAFE_INTEGER;
  }
  return { critical: extension.critical, cA: value.cA === true, pathLength };
}

function readExtKeyUsage(extension: pkijs.Extension | undefined): CertificateFields["extKeyUsage"] {
  if (extension === undefined) return undefined;
  const value = decoded(extension, pkijs.ExtKeyUsage, "ExtendedKeyUsage");
  return { critical: extension.critical, purposes: [...value.keyPurposes] };
}
