import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extendedKeyUsageOid, parseCertificateDer, readCertificateFields } from "./certificate-fields.ts";
import { createCa, createIntermediateCa, issueSvid, loadCa, type DevCa } from "./dev-ca.ts";
import { writeCertificateAndKey } from "./pem-files.ts";
import { decodePemCertificates } from "./pem.ts";
import { TrustBundleSet, trustBundleFromDer } from "./trust-bundles.ts";
import { X509SvidVerifier } from "./x509-svid-verifier.ts";

const fieldsOf = (der: Uint8Array) => readCertificateFields(parseCertificateDer(der));
const day = 86_400_000;

let ca: DevCa;
let dir: string;
beforeAll(async () => {
  ca = await createCa({ trustDomain: "example.org" });
  dir = await mkdtemp(join(tmpdir(), "tollgate-dev-ca-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("createCa", () => {
  it("makes a self-signed CA whose URI SAN is the trust domain, with critical keyCertSign and cRLSign", () => {
    const node = new X509Certificate(ca.certificate);
    expect(node.ca).toBe(true);
    expect(node.checkIssued(node)).toBe(true);
    expect(node.verify(node.publicKey)).toBe(true);
    expect(node.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: "prime256v1" });
    const fields = fieldsOf(ca.certificate);
    expect(fields.subjectAltNames?.uris).toEqual(["spiffe://example.org"]);
    expect(fields.basicConstraints).toEqual({ critical: true, cA: true, pathLength: undefined });
    expect(fields.keyUsage?.critical).toBe(true);
    expect([...(fields.keyUsage?.usages ?? [])].sort()).toEqual(["cRLSign", "keyCertSign"]);
    expect(ca.isRoot).toBe(true);
    expect(ca.presentedChain).toEqual([]);
    expect(decodePemCertificates(ca.certificatePem)).toEqual([ca.certificate]);
  });

  it("honours the lifetime, a pathLenConstraint and a custom subject", async () => {
    const custom = await createCa({ trustDomain: "example.org", ttl: 30 * day, pathLength: 1, subject: "CN=Custom Root, O=Example, C=US" });
    const fields = fieldsOf(custom.certificate);
    expect(fields.basicConstraints?.pathLength).toBe(1);
    expect(fields.subjectText).toBe("CN=Custom Root, O=Example, C=US");
    expect(custom.notAfter.getTime() - Date.now()).toBeGreaterThan(29.9 * day);
    expect(custom.notAfter.getTime() - Date.now()).toBeLessThanOrEqual(30 * day);
  });
});

describe("issueSvid", () => {
  it("issues a proper X.509-SVID by default", async () => {
    const svid = await issueSvid(ca, { spiffeId: "spiffe://example.org/agent/a", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
    const fields = fieldsOf(svid.certificate);
    expect(fields.subjectAltNames).toEqual({
      critical: false,
      uris: ["spiffe://example.org/agent/a"],
      dnsNames: ["localhost"],
      ipAddresses: ["127.0.0.1"],
    });
    expect(fields.basicConstraints).toEqual({ critical: true, cA: false, pathLength: undefined });
    expect(fields.keyUsage?.critical).toBe(true);
    expect([...(fields.keyUsage?.usages ?? [])]).toEqual(["digitalSignature"]);
    expect(fields.extKeyUsage?.purposes).toEqual([extendedKeyUsageOid.serverAuth, extendedKeyUsageOid.clientAuth]);
    expect(fields.subjectText).toBe("O=Tollgate development, CN=a");
    expect(svid.notAfter.getTime() - Date.now()).toBeGreaterThan(0.99 * day);

    const node = new X509Certificate(svid.certificate);
    expect(node.checkIssued(new X509Certificate(ca.certificate))).toBe(true);
    expect(node.verify(new X509Certificate(ca.certificate).publicKey)).toBe(true);
    expect(node.checkPrivateKey(createPrivateKey(svid.keyPem))).toBe(true);
    expect(svid.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(decodePemCertificates(svid.certificatePem)).toEqual([svid.certificate]);
  });

  it("ends an SVID with its CA when a ttl would outlive it, but not an explicit notAfter", async () => {
    const shortCa = await createCa({ trustDomain: "example.org", ttl: 3_600_000 });
    expect((await issueSvid(shortCa, { spiffeId: "spiffe://example.org/a", ttl: day })).notAfter).toEqual(shortCa.notAfter);
    const explicit = new Date(Math.floor((Date.now() + 2 * day) / 1000) * 1000);
    expect((await issueSvid(shortCa, { spiffeId: "spiffe://example.org/a", notAfter: explicit })).notAfter).toEqual(explicit);
  });

  it("writes exactly the broken settings it is asked for", async () => {
    const svid = await issueSvid(ca, {
      uris: ["spiffe://example.org/a", "https://example.org"],
      subject: "",
      subjectAltNameCritical: false,
      keyUsage: ["digitalSignature", "keyCertSign", "cRLSign"],
      keyUsageCritical: false,
      extKeyUsage: ["serverAuth", "1.3.6.1.5.5.7.3.4"],
      isCa: true,
    });
    const fields = fieldsOf(svid.certificate);
    expect(fields.subjectEmpty).toBe(true);
    expect(fields.subjectAltNames?.critical).toBe(false);
    expect(fields.subjectAltNames?.uris).toEqual(["spiffe://example.org/a", "https://example.org"]);
    expect(fields.keyUsage?.critical).toBe(false);
    expect([...(fields.keyUsage?.usages ?? [])]).toEqual(["digitalSignature", "keyCertSign", "cRLSign"]);
    expect(fields.extKeyUsage?.purposes).toEqual([extendedKeyUsageOid.serverAuth, "1.3.6.1.5.5.7.3.4"]);
    expect(fields.basicConstraints?.cA).toBe(true);
    const bare = fieldsOf((await issueSvid(ca, { spiffeId: "spiffe://example.org/a", keyUsage: null, extKeyUsage: null })).certificate);
    expect(bare.keyUsage).toBeUndefined();
    expect(bare.extKeyUsage).toBeUndefined();
  });

  it("issues through intermediates, presenting them after the leaf", async () => {
    const first = await createIntermediateCa(ca);
    const second = await createIntermediateCa(first, { pathLength: 0 });
    const svid = await issueSvid(second, { spiffeId: "spiffe://example.org/a" });
    expect(svid.chain).toEqual([svid.certificate, second.certificate, first.certificate]);
    expect(decodePemCertificates(svid.certificatePem)).toEqual(svid.chain);
    expect(fieldsOf(second.certificate).subjectAltNames?.uris).toEqual(["spiffe://example.org"]);
    const bundles = new TrustBundleSet([trustBundleFromDer("example.org", [ca.certificate], "test")]);
    expect((await new X509SvidVerifier().verify(svid.chain, bundles)).id.uri).toBe("spiffe://example.org/a");
  });
});

describe("files", () => {
  it("writes NAME.pem and NAME-key.pem (0600), and loads a CA back from its files", async () => {
    const files = await writeCertificateAndKey(join(dir, "pki"), "ca", ca);
    expect(files).toEqual({ certificateFile: join(dir, "pki", "ca.pem"), keyFile: join(dir, "pki", "ca-key.pem") });
    expect((await stat(files.keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(files.certificateFile)).mode & 0o777).toBe(0o644);

    const loaded = await loadCa(await readFile(files.certificateFile, "utf8"), await readFile(files.keyFile, "utf8"));
    expect(loaded.trustDomain).toBe("example.org");
    expect(loaded.certificate).toEqual(ca.certificate);
    expect(loaded.isRoot).toBe(true);
    const svid = await issueSvid(loaded, { spiffeId: "spiffe://example.org/from-file" });
    const bundles = new TrustBundleSet([trustBundleFromDer("example.org", [ca.certificate], "test")]);
    expect((await new X509SvidVerifier().verify(svid.chain, bundles)).id.uri).toBe("spiffe://example.org/from-file");
  });

  it("loads an intermediate CA with the chain above it", async () => {
    const intermediate = await createIntermediateCa(ca);
    const loaded = await loadCa(intermediate.certificatePem, intermediate.keyPem);
    expect(loaded.isRoot).toBe(false);
    expect(loaded.presentedChain).toEqual([intermediate.certificate]);
  });

  it("refuses a key that does not belong to the CA, and a certificate that is no CA", async () => {
    const other = await createCa({ trustDomain: "example.org" });
    await expect(loadCa(ca.certificatePem, other.keyPem)).rejects.toThrow("the CA key does not belong to the CA certificate");
    const leaf = await issueSvid(ca, { spiffeId: "spiffe://example.org/a" });
    await expect(loadCa(leaf.certificatePem, leaf.keyPem)).rejects.toThrow(/is not a CA/);
  });
});
