import { extendedKeyUsageOid, type CertificateFields } from "./certificate-fields.ts";
import { isRootPath, parseSpiffeId, SpiffeIdError, type SpiffeId } from "./spiffe-id.ts";
import { svidRejected } from "./svid-rejection.ts";

/**
 * The SPIFFE rules for certificates that X.509 path validation does not check (X509-SVID.md §2–§5.2):
 * the leaf's single SPIFFE ID and its key usages, and the SPIFFE ID of signing certificates. Each
 * failure throws the TollgateError for its rule.
 */

/** The leaf's SPIFFE ID: exactly one URI SAN (§2), a valid SPIFFE ID (SPIFFE-ID §2), with a path (§3.1, §5.2). */
export function leafSpiffeId(fields: CertificateFields): SpiffeId {
  const uris = fields.subjectAltNames?.uris ?? [];
  if (uris.length !== 1) {
    const found = uris.length === 0 ? "no URI SAN" : `${uris.length} URI SANs`;
    throw svidRejected(
      "exactly_one_uri_san",
      `the leaf certificate has ${found}; an X.509-SVID carries exactly one, its SPIFFE ID (spiffe://trust-domain/path)`,
    );
  }
  const uri = uris[0] ?? "";
  let id: SpiffeId;
  try {
    id = parseSpiffeId(uri);
  } catch (error) {
    if (!(error instanceof SpiffeIdError)) throw error;
    throw svidRejected("spiffe_id_syntax", `the URI SAN is not a valid SPIFFE ID (${error.rule}): ${error.message}`, {
      section: error.section,
    });
  }
  if (isRootPath(id)) {
    throw svidRejected(
      "non_root_path",
      `the leaf's SPIFFE ID ${id.uri} has no path; that ID names the trust domain itself (its signing authority), ` +
        "and a workload's SVID needs a path such as spiffe://" + id.trustDomain + "/agent/name",
    );
  }
  return id;
}

/** cA false (§4.1), KeyUsage critical with digitalSignature and without keyCertSign/cRLSign (§4.3), EKU (§4.4), SAN criticality (§3.1). */
export function checkLeafUsage(fields: CertificateFields): void {
  if (fields.basicConstraints?.cA === true) {
    throw svidRejected(
      "leaf_is_ca",
      "the leaf certificate is a CA certificate (BasicConstraints cA is true); a CA certificate signs SVIDs and must not be used to authenticate",
    );
  }
  const keyUsage = fields.keyUsage;
  if (keyUsage === undefined) {
    throw svidRejected("key_usage_missing", "the leaf certificate has no KeyUsage extension; an X.509-SVID must have one, marked critical");
  }
  if (!keyUsage.critical) {
    throw svidRejected("key_usage_not_critical", "the leaf certificate's KeyUsage extension is not marked critical");
  }
  if (!keyUsage.usages.has("digitalSignature")) {
    throw svidRejected("digital_signature_missing", "the leaf certificate's KeyUsage does not include digitalSignature");
  }
  if (keyUsage.usages.has("keyCertSign")) {
    throw svidRejected("leaf_key_cert_sign", "the leaf certificate's KeyUsage includes keyCertSign, which only signing certificates may set");
  }
  if (keyUsage.usages.has("cRLSign")) {
    throw svidRejected("leaf_crl_sign", "the leaf certificate's KeyUsage includes cRLSign, which only signing certificates may set");
  }
  const extKeyUsage = fields.extKeyUsage;
  if (extKeyUsage !== undefined) {
    const missing = (["serverAuth", "clientAuth"] as const).filter((name) => !extKeyUsage.purposes.includes(extendedKeyUsageOid[name]));
    if (missing.length > 0) {
      throw svidRejected(
        "extended_key_usage",
        `the leaf certificate's ExtendedKeyUsage lacks ${missing.join(" and ")}; when present it must include both serverAuth and clientAuth`,
      );
    }
  }
  if (fields.subjectEmpty && fields.subjectAltNames?.critical !== true) {
    throw svidRejected(
      "uri_san_not_critical",
      "the leaf certificate has an empty Subject but its SubjectAltName extension is not marked critical",
    );
  }
}

/**
 * A signing certificate (an intermediate CA presented by the caller) that carries a SPIFFE ID is an
 * SVID itself: its ID has no path (§3.2) and its KeyUsage is present, critical and has keyCertSign (§4.3).
 */
export function checkSigningCertificate(fields: CertificateFields, position: string): void {
  const spiffeUris = (fields.subjectAltNames?.uris ?? []).filter((uri) => uri.toLowerCase().startsWith("spiffe:"));
  for (const uri of spiffeUris) {
    let id: SpiffeId | undefined;
    try {
      id = parseSpiffeId(uri);
    } catch {
      id = undefined;
    }
    if (id === undefined || !isRootPath(id)) {
      throw svidRejected(
        "signing_certificate_spiffe_id",
        `${position} (${fields.subjectText}) has the SPIFFE ID ${JSON.stringify(uri.slice(0, 200))}; ` +
          "a signing certificate's SPIFFE ID must be a valid ID without a path (spiffe://trust-domain)",
      );
    }
  }
  const keyUsage = fields.keyUsage;
  if (keyUsage !== undefined && !keyUsage.usages.has("keyCertSign")) {
    throw svidRejected("signing_certificate_key_usage", `${position} (${fields.subjectText}) signs certificates but its KeyUsage lacks keyCertSign`);
  }
  if (spiffeUris.length > 0 && (keyUsage === undefined || !keyUsage.critical)) {
    throw svidRejected(
      "signing_certificate_key_usage",
      `${position} (${fields.subjectText}) is an SVID but its KeyUsage extension is ${keyUsage === undefined ? "missing" : "not critical"}`,
    );
  }
}
