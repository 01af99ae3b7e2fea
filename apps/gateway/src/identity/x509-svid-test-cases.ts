import { createCa, createIntermediateCa, issueSvid, type DevCa, type IssuedSvid } from "./dev-ca.ts";
import type { X509SvidRule } from "./svid-rejection.ts";
import { TrustBundleSet, trustBundleFromDer } from "./trust-bundles.ts";

/**
 * The X.509-SVIDs the identity tests present, each breaking exactly one rule (or none), shared by
 * the verifier's own tests and the tests through a real TLS connection so both prove the same list.
 * Test support only: nothing in the gateway imports this file.
 */

export interface SvidTestPki {
  /** Trust domain `example.org`, configured. */
  readonly ca: DevCa;
  /** An intermediate CA below `ca`. */
  readonly intermediate: DevCa;
  /** Trust domain `partner.org`, configured too (federation). */
  readonly partnerCa: DevCa;
  /** A CA that also calls itself `example.org` but is not configured. */
  readonly strangerCa: DevCa;
  /** The bundles: example.org -> ca, partner.org -> partnerCa. Never merged. */
  readonly bundles: TrustBundleSet;
}

export async function createSvidTestPki(): Promise<SvidTestPki> {
  const ca = await createCa({ trustDomain: "example.org" });
  const partnerCa = await createCa({ trustDomain: "partner.org" });
  const strangerCa = await createCa({ trustDomain: "example.org" });
  const intermediate = await createIntermediateCa(ca);
  const bundles = new TrustBundleSet([
    trustBundleFromDer("example.org", [ca.certificate], "example.org test bundle"),
    trustBundleFromDer("partner.org", [partnerCa.certificate], "partner.org test bundle"),
  ]);
  return { ca, intermediate, partnerCa, strangerCa, bundles };
}

export type SvidExpectation = { readonly accepted: string } | { readonly rejected: X509SvidRule };

export interface SvidTestCase {
  readonly name: string;
  /** The SVID the client presents; undefined for a client that presents no certificate. */
  readonly present: (pki: SvidTestPki) => Promise<IssuedSvid | undefined>;
  readonly expect: SvidExpectation;
}

const agent = "spiffe://example.org/agent/support";
const hour = 3_600_000;
const ago = (milliseconds: number) => new Date(Date.now() - milliseconds);
const fromNow = (milliseconds: number) => new Date(Date.now() + milliseconds);

export const svidTestCases: readonly SvidTestCase[] = [
  {
    name: "a valid SVID",
    present: ({ ca }) => issueSvid(ca, { spiffeId: agent }),
    expect: { accepted: agent },
  },
  {
    name: "a valid SVID of the federated trust domain",
    present: ({ partnerCa }) => issueSvid(partnerCa, { spiffeId: "spiffe://partner.org/agent/reviewer" }),
    expect: { accepted: "spiffe://partner.org/agent/reviewer" },
  },
  {
    name: "a valid chain through an intermediate",
    present: ({ intermediate }) => issueSvid(intermediate, { spiffeId: agent }),
    expect: { accepted: agent },
  },
  {
    name: "a valid SVID without ExtendedKeyUsage",
    present: ({ ca }) => issueSvid(ca, { spiffeId: agent, extKeyUsage: null }),
    expect: { accepted: agent },
  },
  {
    name: "a valid SVID with an empty Subject and a critical URI SAN",
    present: ({ ca }) => issueSvid(ca, { spiffeId: agent, subject: "" }),
    expect: { accepted: agent },
  },
  {
    name: "no certificate",
    present: async () => undefined,
    expect: { rejected: "no_certificate" },
  },
  {
    name: "a certificate from another CA",
    present: ({ strangerCa }) => issueSvid(strangerCa, { spiffeId: agent }),
    expect: { rejected: "untrusted_chain" },
  },
  {
    name: "an ID of trust domain example.org signed by the configured CA of partner.org",
    present: ({ partnerCa }) => issueSvid(partnerCa, { spiffeId: agent }),
    expect: { rejected: "untrusted_chain" },
  },
  {
    name: "an ID of a trust domain that is not configured",
    present: ({ ca }) => issueSvid(ca, { spiffeId: "spiffe://unknown.org/agent/x" }),
    expect: { rejected: "unknown_trust_domain" },
  },
  {
    name: "an expired SVID",
    present: ({ ca }) => issueSvid(ca, { spiffeId: agent, notBefore: ago(2 * hour), notAfter: ago(hour) }),
    expect: { rejected: "expired" },
  },
  {
    name: "an SVID that is not yet valid",
    present: ({ ca }) => issueSvid(ca, { spiffeId: agent, notBefore: fromNow(hour), notAfter: fromNow(2 * hour) }),
    expect: { rejected: "not_yet_valid" },
  },
  {
    name: "a CA certificate as leaf",
    present: ({ ca }) => issueSvid(ca, { spiffeId: agent, isCa: true }),
    expect: { rejected: "leaf_is_ca" },
  },
  {
    name: "two URI SANs",
    present: ({ ca }) => issueSvid(ca, { uris: [agent, "spiffe://example.org/agent/other"] }),
    expect: { rejected: "exactly_one_uri_san" },
  },
  {
    name: "no URI SAN",
    present: ({ ca }) => issueSvid(ca, { uris: [], dnsNames: ["agent.example.org"] }),
    expect: { rejected: "exactly_one_uri_san" },
  },
  {
    name: "an invalid SPIFFE ID",
    present: ({ ca }) => issueSvid(ca, { uris: ["spiffe://example.org/agent/../admin"] }),
    expect: { rejected: "spiffe_id_syntax" },
  },
  {
    name: "a root-path SPIFFE ID",
    present: ({ ca }) => issueSvid(ca, { uris: ["spiffe://example.org"] }),
    expect: { rejected: "non_root_path" },
  },
  {
    name: "KeyUsage without digitalSignature",
    present: ({ ca }) => issueSvid(ca, { spiffeId: agent, keyUsage: ["keyEncipherment", "keyAgreement"] }),
    expect: { rejected: "digital_signature_missing" },
  },
  {
    name: "keyCertSign on the leaf",
    present: ({ ca }) => issueSvid(ca, { spiffeId: agent, keyUsage: ["digitalSignature", "keyCertSign"] }),
    expect: { rejected: "leaf_key_cert_sign" },
  },
  {
    name: "cRLSign on the leaf",
    present: ({ ca }) => issueSvid(ca, { spiffeId: agent, keyUsage: ["digitalSignature", "cRLSign"] }),
    expect: { rejected: "leaf_crl_sign" },
  },
  {
    name: "KeyUsage not critical",
    present: ({ ca }) => issueSvid(ca, { spiffeId: agent, keyUsageCritical: false }),
    expect: { rejected: "key_usage_not_critical" },
  },
  {
    name: "KeyUsage missing",
    present: ({ ca }) => issueSvid(ca, { spiffeId: agent, keyUsage: null }),
    expect: { rejected: "key_usage_missing" },
  },
  {
    name: "an ExtendedKeyUsage without clientAuth",
    present: ({ ca }) => issueSvid(ca, { spiffeId: agent, extKeyUsage: ["serverAuth"] }),
    expect: { rejected: "extended_key_usage" },
  },
  {
    name: "an empty Subject with a URI SAN that is not critical",
    present: ({ ca }) => issueSvid(ca, { spiffeId: agent, subject: "", subjectAltNameCritical: false }),
    expect: { rejected: "uri_san_not_critical" },
  },
  {
    name: "an expired intermediate",
    present: async ({ ca }) => {
      const expired = await createIntermediateCa(ca, { notBefore: ago(3 * hour), notAfter: ago(hour) });
      return issueSvid(expired, { spiffeId: agent, notBefore: ago(hour / 2), notAfter: fromNow(hour) });
    },
    expect: { rejected: "expired" },
  },
  {
    name: "an intermediate whose SPIFFE ID has a path",
    present: async ({ ca }) => issueSvid(await createIntermediateCa(ca, { spiffeId: "spiffe://example.org/ca/issuing" }), { spiffeId: agent }),
    expect: { rejected: "signing_certificate_spiffe_id" },
  },
  {
    name: "an intermediate that is not a CA",
    present: async ({ ca }) => issueSvid(await createIntermediateCa(ca, { isCa: false }), { spiffeId: agent }),
    expect: { rejected: "signing_certificate_not_ca" },
  },
  {
    name: "an intermediate whose name constraints exclude the SVID's trust domain",
    present: async ({ ca }) => issueSvid(await createIntermediateCa(ca, { permittedUriDomains: ["partner.org"] }), { spiffeId: agent }),
    expect: { rejected: "name_constraints" },
  },
  {
    name: "an intermediate whose name constraints permit the SVID's trust domain",
    present: async ({ ca }) => issueSvid(await createIntermediateCa(ca, { permittedUriDomains: ["example.org"] }), { spiffeId: agent }),
    expect: { accepted: agent },
  },
];
