import * as pkijs from "pkijs";
import { extensionOid, readCertificateFields, type CertificateFields } from "./certificate-fields.ts";
import { svidRejected } from "./svid-rejection.ts";
import type { X509Authority } from "./trust-bundles.ts";
import { checkSigningCertificate } from "./x509-svid-leaf-rules.ts";

/**
 * RFC 5280 path validation of a presented chain, anchored only in the authorities of one trust
 * domain. pkijs's CertificateChainValidationEngine checks signatures, the validity period of every
 * certificate, that every issuer is a CA (with keyCertSign when it has a KeyUsage), policies and name
 * constraints. This file adds what it leaves out: pathLenConstraint, unrecognised critical extensions,
 * a bound on path building (pkijs follows issuer loops forever), and the SPIFFE rules for the
 * signing certificates that end up in the path.
 */

export interface PresentedCertificate {
  readonly certificate: pkijs.Certificate;
  readonly fields: CertificateFields;
}

/** Extensions this validator (with pkijs) processes; any other marked critical fails (RFC 5280 §4.2). */
const understoodExtensions = new Set<string>(Object.values(extensionOid));

/**
 * pkijs builds paths depth first over every candidate issuer, including loops (A signed by B signed
 * by A) that a caller can craft with two keys of its own. Counting issuer look-ups bounds the work
 * that one handshake can cause.
 */
const maxIssuerLookups = 64;

class PathBuildingLimit extends Error {}

const authorityFields = new WeakMap<pkijs.Certificate, CertificateFields>();

function fieldsOfAuthority(certificate: pkijs.Certificate): CertificateFields {
  let fields = authorityFields.get(certificate);
  if (fields === undefined) {
    fields = readCertificateFields(certificate);
    authorityFields.set(certificate, fields);
  }
  return fields;
}

function sameCertificate(a: pkijs.Certificate, b: pkijs.Certificate): boolean {
  return Buffer.compare(a.tbsView, b.tbsView) === 0 && Buffer.compare(a.signatureValue.valueBlock.valueHexView, b.signatureValue.valueBlock.valueHexView) === 0;
}

function outOfValidity(fields: CertificateFields, now: Date): string | undefined {
  if (fields.notBefore > now) return `is valid only from ${fields.notBefore.toISOString()}`;
  if (fields.notAfter < now) return `expired at ${fields.notAfter.toISOString()}`;
  return undefined;
}

/** Turns pkijs's result codes into the rule a developer can act on. */
function rejectionFor(
  result: pkijs.CertificateChainValidationEngineVerifyResult,
  trustDomain: string,
  intermediates: readonly PresentedCertificate[],
  authorities: readonly X509Authority[],
  now: Date,
): Error {
  // pkijs reports "no issuer found" as a plain Error (code -1) and "no path to an anchor" as 60/97.
  const noPath = result.resultCode === -1 && /no valid certificate paths|unable to find certificate path/i.test(result.resultMessage);
  switch (noPath ? 60 : result.resultCode) {
    case 60:
    case 97:
      return svidRejected(
        "untrusted_chain",
        `the certificate chain does not lead to an X.509 authority of trust domain ${trustDomain}; ` +
          "it was signed by another CA (only the trust domain's own bundle is used, never another trust domain's)",
      );
    case 8: {
      const expired = [
        ...intermediates.map((item, index) => ({ what: `intermediate certificate ${index + 1}`, fields: item.fields })),
        ...authorities.map((authority) => ({ what: `the ${trustDomain} root CA`, fields: fieldsOfAuthority(authority.certificate) })),
      ]
        .map((item) => ({ ...item, problem: outOfValidity(item.fields, now) }))
        .find((item) => item.problem !== undefined);
      const detail =
        expired === undefined
          ? "a certificate of the chain is outside its validity period"
          : `${expired.what} (${expired.fields.subjectText}) ${expired.problem}`;
      return svidRejected(expired?.problem?.startsWith("expired") === false ? "not_yet_valid" : "expired", detail);
    }
    case 3:
    case 4:
    case 14:
      return svidRejected(
        "signing_certificate_not_ca",
        `a certificate that signs another in the chain is not a CA certificate with keyCertSign (${result.resultMessage})`,
      );
    case 41:
    case 42:
      return svidRejected("name_constraints", `a signing certificate's name constraints do not permit this SVID (${result.resultMessage})`);
    default:
      if (result.error instanceof PathBuildingLimit) {
        return svidRejected("path_validation", "the presented certificates form too many candidate paths (a loop of issuers?)");
      }
      return svidRejected("path_validation", `RFC 5280 path validation failed: ${result.resultMessage}`);
  }
}

/** RFC 5280 §6.1.4 (l, m): each non-self-issued CA below a pathLenConstraint uses up one step of it. */
function checkPathLength(path: readonly pkijs.Certificate[], fieldsOf: (certificate: pkijs.Certificate) => CertificateFields): void {
  let remaining = Number.POSITIVE_INFINITY;
  for (let index = path.length - 1; index >= 1; index--) {
    const certificate = path[index];
    if (certificate === undefined) continue;
    const isAnchor = index === path.length - 1;
    if (!isAnchor && !certificate.subject.isEqual(certificate.issuer)) {
      if (remaining <= 0) {
        throw svidRejected(
          "path_length",
          `intermediate certificate (${fieldsOf(certificate).subjectText}) exceeds the pathLenConstraint of a CA above it`,
        );
      }
      remaining--;
    }
    const pathLength = fieldsOf(certificate).basicConstraints?.pathLength;
    if (pathLength !== undefined && pathLength < remaining) remaining = pathLength;
  }
}

function checkCriticalExtensions(fields: CertificateFields, position: string): void {
  const unknown = fields.extensions.find((extension) => extension.critical && !understoodExtensions.has(extension.oid));
  if (unknown !== undefined) {
    throw svidRejected(
      "unhandled_critical_extension",
      `${position} (${fields.subjectText}) has the critical extension ${unknown.oid}, which this verifier does not process`,
    );
  }
}

/**
 * Validates `leaf` through the presented `intermediates` up to one of `authorities` at `now`, and
 * returns the path (leaf first, authority last). Throws the TollgateError of the first rule broken.
 */
export async function validateCertificationPath(
  leaf: PresentedCertificate,
  intermediates: readonly PresentedCertificate[],
  authorities: readonly X509Authority[],
  trustDomain: string,
  now: Date,
): Promise<pkijs.Certificate[]> {
  let issuerLookups = 0;
  const engine = new pkijs.CertificateChainValidationEngine({
    trustedCerts: authorities.map((authority) => authority.certificate),
    // pkijs takes the last of `certs` as the certificate to validate.
    certs: [...intermediates.map((item) => item.certificate), leaf.certificate],
    checkDate: now,
    findIssuer: async (certificate, validationEngine, crypto) => {
      issuerLookups++;
      if (issuerLookups > maxIssuerLookups) throw new PathBuildingLimit("too many issuer look-ups");
      return validationEngine.defaultFindIssuer(certificate, validationEngine, crypto);
    },
  });
  const result = await engine.verify();
  if (!result.result) throw rejectionFor(result, trustDomain, intermediates, authorities, now);

  const path = result.certificatePath ?? [];
  const first = path[0];
  // pkijs drops a presented certificate equal to an anchor, and would then validate another one.
  if (first === undefined || !sameCertificate(first, leaf.certificate)) {
    throw svidRejected("path_validation", "the leaf certificate is itself one of the trust domain's authorities");
  }
  const presented = new Map<pkijs.Certificate, CertificateFields>([
    [leaf.certificate, leaf.fields],
    ...intermediates.map((item): [pkijs.Certificate, CertificateFields] => [item.certificate, item.fields]),
  ]);
  const fieldsOf = (certificate: pkijs.Certificate) => presented.get(certificate) ?? fieldsOfAuthority(certificate);

  checkCriticalExtensions(leaf.fields, "the leaf certificate");
  path.slice(1, -1).forEach((certificate, index) => {
    const fields = fieldsOf(certificate);
    const position = `intermediate certificate ${index + 1}`;
    checkCriticalExtensions(fields, position);
    checkSigningCertificate(fields, position);
  });
  checkPathLength(path, fieldsOf);
  return path;
}
