import { X509Certificate, type webcrypto } from "node:crypto";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { beforeAll, describe, expect, it } from "vitest";
import { TollgateError } from "../errors/tollgate-error.ts";
import { buildCertificate, generateKeyPair, parseName } from "./certificate-builder.ts";
import { extensionOid } from "./certificate-fields.ts";
import { createCa, createIntermediateCa, issueSvid, type DevCa } from "./dev-ca.ts";
import { parseSpiffeTrustBundle, TrustBundleSet, trustBundleFromDer } from "./trust-bundles.ts";
import { createSvidTestPki, svidTestCases, type SvidTestPki } from "./x509-svid-test-cases.ts";
import { verifyX509Svid, X509SvidVerifier } from "./x509-svid-verifier.ts";

let pki: SvidTestPki;
beforeAll(async () => {
  pki = await createSvidTestPki();
});

/** The TollgateError a verification rejects with (failing the test if it resolves or throws anything else). */
async function rejection(promise: Promise<unknown>): Promise<TollgateError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TollgateError);
    return error as TollgateError;
  }
  throw new Error("the SVID was accepted");
}

/** Re-signs `der` with `signer` after `change` edits the parsed certificate (for malformations dev-ca cannot make). */
async function tamper(der: Uint8Array, signer: DevCa, change: (certificate: pkijs.Certificate) => void): Promise<Buffer> {
  const certificate = pkijs.Certificate.fromBER(der);
  change(certificate);
  await certificate.sign(signer.keys.privateKey, "SHA-256");
  return Buffer.from(certificate.toSchema(true).toBER(false));
}

describe("verifyX509Svid, one rule at a time", () => {
  it.each(svidTestCases.map((testCase) => [testCase.name, testCase] as const))("%s", async (_name, testCase) => {
    const svid = await testCase.present(pki);
    const verification = new X509SvidVerifier().verify(svid?.chain ?? [], pki.bundles);
    if ("accepted" in testCase.expect) {
      const verified = await verification;
      expect(verified.id.uri).toBe(testCase.expect.accepted);
      return;
    }
    const error = await rejection(verification);
    expect(error.reason).toBe(`x509svid.${testCase.expect.rejected}`);
    expect(error.code).toBe(testCase.expect.rejected === "no_certificate" ? "TG_ERR_UNAUTHENTICATED" : "TG_ERR_SVID_REJECTED");
    expect(error.status).toBe(401);
    expect(error.message).toMatch(new RegExp(`^(X\\.509-SVID rejected|No X\\.509-SVID presented) \\(rule ${testCase.expect.rejected}, `));
    expect(error.message).not.toMatch(/\n\s+at /);
  });
});

describe("verifyX509Svid", () => {
  it("returns the parsed ID, the earliest expiry of the path and the leaf fingerprint", async () => {
    const svid = await issueSvid(pki.intermediate, { spiffeId: "spiffe://example.org/agent/customer-support/v2", ttl: 3_600_000 });
    const verified = await verifyX509Svid(svid.chain, pki.bundles);
    expect(verified.id).toEqual({
      uri: "spiffe://example.org/agent/customer-support/v2",
      trustDomain: "example.org",
      path: "/agent/customer-support/v2",
      segments: ["agent", "customer-support", "v2"],
    });
    expect(verified.notAfter).toEqual(svid.notAfter);
    expect(verified.fingerprint256).toBe(new X509Certificate(svid.certificate).fingerprint256);
    expect(verified.bundleRevision).toBe(pki.bundles.revision);
  });

  it("writes a message that names the rule, the section and what was found", async () => {
    const svid = await issueSvid(pki.ca, { uris: ["spiffe://example.org/a", "spiffe://example.org/b"] });
    const error = await rejection(verifyX509Svid(svid.chain, pki.bundles));
    expect(error.message).toBe(
      "X.509-SVID rejected (rule exactly_one_uri_san, X509-SVID §2): the leaf certificate has 2 URI SANs; " +
        "an X.509-SVID carries exactly one, its SPIFFE ID (spiffe://trust-domain/path)",
    );
  });

  it("points a SPIFFE ID syntax error at the paragraph of SPIFFE-ID.md it breaks", async () => {
    const svid = await issueSvid(pki.ca, { uris: ["spiffe://example.org/agent/"] });
    const error = await rejection(verifyX509Svid(svid.chain, pki.bundles));
    expect(error.message).toMatch(/^X\.509-SVID rejected \(rule spiffe_id_syntax, SPIFFE-ID §2\.2\): .*trailing_slash/);
  });

  it("enforces the pathLenConstraint of a CA above an intermediate", async () => {
    const root = await createCa({ trustDomain: "example.org", pathLength: 0 });
    const bundles = new TrustBundleSet([trustBundleFromDer("example.org", [root.certificate], "test")]);
    const tooDeep = await issueSvid(await createIntermediateCa(root), { spiffeId: "spiffe://example.org/a" });
    expect((await rejection(verifyX509Svid(tooDeep.chain, bundles))).reason).toBe("x509svid.path_length");
    const direct = await issueSvid(root, { spiffeId: "spiffe://example.org/a" });
    expect((await verifyX509Svid(direct.chain, bundles)).id.uri).toBe("spiffe://example.org/a");
  });

  it("rejects every SVID of a trust domain whose bundle has no X.509 authorities", async () => {
    const revoked = parseSpiffeTrustBundle("example.org", '{"keys": []}', "revoked.json");
    const svid = await issueSvid(pki.ca, { spiffeId: "spiffe://example.org/a" });
    const error = await rejection(verifyX509Svid(svid.chain, new TrustBundleSet([revoked])));
    expect(error.reason).toBe("x509svid.no_x509_authorities");
  });

  it("rejects two SubjectAltName extensions of one URI each", async () => {
    const svid = await issueSvid(pki.ca, { spiffeId: "spiffe://example.org/a" });
    const doubled = await tamper(svid.certificate, pki.ca, (certificate) => {
      const san = certificate.extensions?.find((extension) => extension.extnID === extensionOid.subjectAltName);
      if (san === undefined) throw new Error("no SAN");
      const second = new pkijs.AltName({ altNames: [new pkijs.GeneralName({ type: 6, value: "spiffe://example.org/admin" })] });
      certificate.extensions?.push(new pkijs.Extension({ extnID: extensionOid.subjectAltName, critical: false, extnValue: second.toSchema().toBER(false) }));
    });
    expect((await rejection(verifyX509Svid([doubled], pki.bundles))).reason).toBe("x509svid.duplicate_extension");
  });

  it("rejects a critical extension it does not understand", async () => {
    const svid = await issueSvid(pki.ca, { spiffeId: "spiffe://example.org/a" });
    const marked = await tamper(svid.certificate, pki.ca, (certificate) => {
      certificate.extensions?.push(new pkijs.Extension({ extnID: "1.3.6.1.4.1.99999.1", critical: true, extnValue: new asn1js.Null().toBER(false) }));
    });
    expect((await rejection(verifyX509Svid([marked], pki.bundles))).reason).toBe("x509svid.unhandled_critical_extension");
  });

  it("rejects a certificate signed with SHA-1", async () => {
    const svid = await issueSvid(pki.ca, { spiffeId: "spiffe://example.org/a" });
    const certificate = pkijs.Certificate.fromBER(svid.certificate);
    await certificate.sign(pki.ca.keys.privateKey, "SHA-1");
    const sha1 = Buffer.from(certificate.toSchema(true).toBER(false));
    const error = await rejection(verifyX509Svid([sha1], pki.bundles));
    expect(error.reason).toBe("x509svid.weak_signature_algorithm");
    expect(error.message).toContain("1.2.840.10045.4.1");
  });

  it("rejects bytes that are not a certificate, and too many certificates", async () => {
    expect((await rejection(verifyX509Svid([Buffer.from("not a certificate")], pki.bundles))).reason).toBe("x509svid.malformed_certificate");
    const svid = await issueSvid(pki.ca, { spiffeId: "spiffe://example.org/a" });
    const padded = [svid.certificate, ...Array.from({ length: 10 }, () => pki.intermediate.certificate)];
    expect((await rejection(verifyX509Svid(padded, pki.bundles))).reason).toBe("x509svid.chain_too_long");
  });

  it("ignores extra certificates that are not on the path", async () => {
    const svid = await issueSvid(pki.intermediate, { spiffeId: "spiffe://example.org/a" });
    const noisy = [...svid.chain, pki.partnerCa.certificate, pki.strangerCa.certificate, pki.ca.certificate];
    expect((await verifyX509Svid(noisy, pki.bundles)).id.uri).toBe("spiffe://example.org/a");
  });

  it("ends path building on a loop of issuers made by the caller", async () => {
    // Two CAs signed by each other's keys: pkijs would follow A -> B -> A for ever.
    const keysA = await generateKeyPair();
    const keysB = await generateKeyPair();
    const loopCa = (subject: string, issuer: string, keys: webcrypto.CryptoKeyPair, signer: webcrypto.CryptoKeyPair) =>
      buildCertificate({
        subject,
        issuer: parseName(issuer),
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 3_600_000),
        publicKey: keys.publicKey,
        signingKey: signer.privateKey,
        authorityKeyId: undefined,
        basicConstraints: { value: { cA: true }, critical: true },
        keyUsage: { value: ["keyCertSign"], critical: true },
        extKeyUsage: undefined,
        subjectAltNames: undefined,
        permittedUriDomains: undefined,
      });
    const a = await loopCa("CN=A", "CN=B", keysA, keysB);
    const b = await loopCa("CN=B", "CN=A", keysB, keysA);
    const leafKeys = await generateKeyPair();
    const leaf = await buildCertificate({
      subject: "CN=leaf",
      issuer: parseName("CN=A"),
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      publicKey: leafKeys.publicKey,
      signingKey: keysA.privateKey,
      authorityKeyId: undefined,
      basicConstraints: { value: { cA: false }, critical: true },
      keyUsage: { value: ["digitalSignature"], critical: true },
      extKeyUsage: undefined,
      subjectAltNames: { value: { uris: ["spiffe://example.org/a"], dnsNames: [], ipAddresses: [] }, critical: false },
      permittedUriDomains: undefined,
    });
    const error = await rejection(verifyX509Svid([leaf.der, a.der, b.der], pki.bundles));
    expect(error.reason).toBe("x509svid.path_validation");
    expect(error.message).toMatch(/loop of issuers/);
  });

  it("verifies against the time it is given", async () => {
    const svid = await issueSvid(pki.ca, { spiffeId: "spiffe://example.org/a", ttl: 3_600_000 });
    const verifier = new X509SvidVerifier();
    expect((await verifier.verify(svid.chain, pki.bundles, new Date(Date.now() + 1_800_000))).id.uri).toBe("spiffe://example.org/a");
    expect((await rejection(verifier.verify(svid.chain, pki.bundles, new Date(Date.now() + 7_200_000)))).reason).toBe("x509svid.expired");
    expect((await rejection(verifier.verify(svid.chain, pki.bundles, new Date(Date.now() - 3_600_000)))).reason).toBe(
      "x509svid.not_yet_valid",
    );
  });
});

describe("X509SvidVerifier cache", () => {
  it("validates a chain once, then answers from the cache until the bundles change", async () => {
    const verifier = new X509SvidVerifier();
    const svid = await issueSvid(pki.ca, { spiffeId: "spiffe://example.org/a" });
    const first = await verifier.verify(svid.chain, pki.bundles);
    const second = await verifier.verify(svid.chain, pki.bundles);
    expect(second).toBe(first);
    expect(verifier.stats).toMatchObject({ fullValidations: 1, cacheHits: 1 });

    // Same content, new set: same revision, still cached.
    const reloaded = new TrustBundleSet([
      trustBundleFromDer("example.org", [pki.ca.certificate], "reloaded"),
      trustBundleFromDer("partner.org", [pki.partnerCa.certificate], "reloaded"),
    ]);
    expect(reloaded.revision).toBe(pki.bundles.revision);
    await verifier.verify(svid.chain, reloaded);
    expect(verifier.stats).toMatchObject({ fullValidations: 1, cacheHits: 2 });

    // The CA is rotated out: a new revision, a new validation, and a rejection.
    const rotated = new TrustBundleSet([trustBundleFromDer("example.org", [pki.strangerCa.certificate], "rotated")]);
    expect((await rejection(verifier.verify(svid.chain, rotated))).reason).toBe("x509svid.untrusted_chain");
    expect(verifier.stats.fullValidations).toBe(2);
  });

  it("does not answer from the cache after the path expires", async () => {
    const verifier = new X509SvidVerifier();
    const svid = await issueSvid(pki.ca, { spiffeId: "spiffe://example.org/a", ttl: 3_600_000 });
    await verifier.verify(svid.chain, pki.bundles);
    expect((await rejection(verifier.verify(svid.chain, pki.bundles, new Date(Date.now() + 7_200_000)))).reason).toBe("x509svid.expired");
    expect(verifier.stats.cacheHits).toBe(0);
  });

  it("shares one validation between concurrent verifications of the same chain", async () => {
    const verifier = new X509SvidVerifier();
    const svid = await issueSvid(pki.ca, { spiffeId: "spiffe://example.org/a" });
    const results = await Promise.all(Array.from({ length: 5 }, () => verifier.verify(svid.chain, pki.bundles)));
    expect(new Set(results).size).toBe(1);
    expect(verifier.stats.fullValidations).toBe(1);
  });

  it("keeps at most cacheSize entries, dropping the least recently used", async () => {
    const verifier = new X509SvidVerifier({ cacheSize: 2 });
    const svids = await Promise.all(["a", "b", "c"].map((name) => issueSvid(pki.ca, { spiffeId: `spiffe://example.org/${name}` })));
    for (const svid of svids) await verifier.verify(svid.chain, pki.bundles);
    expect(verifier.stats.cached).toBe(2);
    await verifier.verify(svids[2]?.chain ?? [], pki.bundles);
    expect(verifier.stats.cacheHits).toBe(1);
    await verifier.verify(svids[0]?.chain ?? [], pki.bundles);
    expect(verifier.stats.fullValidations).toBe(4);
  });
});
