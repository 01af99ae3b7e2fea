import { TollgateError } from "../errors/tollgate-error.ts";

/**
 * Why an X.509-SVID was rejected: one rule per way to fail, each with the text it comes from. The
 * rule becomes the audit reason (`x509svid.<rule>`) and is named in the message, so a developer whose
 * agent is refused can look the rule up instead of guessing.
 */
export const x509SvidRules = {
  no_certificate: "X509-SVID §5",
  chain_too_long: "RFC 5280 §6.1",
  malformed_certificate: "RFC 5280 §4.1",
  duplicate_extension: "RFC 5280 §4.2",
  weak_signature_algorithm: "RFC 9155, RFC 5280 §4.1.1.2",
  exactly_one_uri_san: "X509-SVID §2",
  spiffe_id_syntax: "SPIFFE-ID §2",
  non_root_path: "X509-SVID §3.1, §5.2",
  unknown_trust_domain: "SPIFFE-ID §3.1",
  no_x509_authorities: "SPIFFE Trust Domain and Bundle §4.1.3",
  leaf_is_ca: "X509-SVID §4.1, §5.2",
  key_usage_missing: "X509-SVID §4.3",
  key_usage_not_critical: "X509-SVID §4.3",
  digital_signature_missing: "X509-SVID §4.3",
  leaf_key_cert_sign: "X509-SVID §4.3, §5.2",
  leaf_crl_sign: "X509-SVID §4.3, §5.2",
  extended_key_usage: "X509-SVID §4.4",
  uri_san_not_critical: "X509-SVID §3.1",
  not_yet_valid: "RFC 5280 §4.1.2.5, §6.1.3",
  expired: "RFC 5280 §4.1.2.5, §6.1.3",
  untrusted_chain: "X509-SVID §5.1",
  signing_certificate_not_ca: "X509-SVID §3.2, §4.1",
  signing_certificate_key_usage: "X509-SVID §3.2, §4.3",
  signing_certificate_spiffe_id: "X509-SVID §3.2",
  path_length: "RFC 5280 §4.2.1.9",
  name_constraints: "X509-SVID §4.2, RFC 5280 §4.2.1.10",
  unhandled_critical_extension: "RFC 5280 §4.2",
  path_validation: "X509-SVID §5.1, RFC 5280 §6",
} as const;

export type X509SvidRule = keyof typeof x509SvidRules;

/**
 * The error a caller gets for an SVID that fails `rule`. `detail` says what was found, in words for
 * the developer of the calling agent; `section` overrides the rule's usual section when a sub-rule
 * is more precise (a SPIFFE ID syntax error points at the paragraph it breaks).
 */
export function svidRejected(rule: X509SvidRule, detail: string, options: { section?: string; cause?: unknown } = {}): TollgateError {
  const section = options.section ?? x509SvidRules[rule];
  const code = rule === "no_certificate" ? "TG_ERR_UNAUTHENTICATED" : "TG_ERR_SVID_REJECTED";
  const lead = rule === "no_certificate" ? "No X.509-SVID presented" : "X.509-SVID rejected";
  return new TollgateError(code, `${lead} (rule ${rule}, ${section}): ${detail}`, {
    reason: `x509svid.${rule}`,
    ...(options.cause === undefined ? {} : { cause: options.cause }),
  });
}
