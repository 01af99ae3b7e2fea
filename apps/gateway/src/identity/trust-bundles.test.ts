import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCa, issueSvid, type DevCa } from "./dev-ca.ts";
import { formatSpiffeBundleDocument } from "./spiffe-bundle-document.ts";
import {
  loadTrustBundleFile,
  loadTrustBundleSet,
  parsePemTrustBundle,
  parseSpiffeTrustBundle,
  parseTrustBundle,
  TrustBundleError,
  TrustBundleSet,
} from "./trust-bundles.ts";

let rootA: DevCa;
let rootB: DevCa;
let partner: DevCa;
let dir: string;

beforeAll(async () => {
  [rootA, rootB, partner] = await Promise.all([
    createCa({ trustDomain: "example.org" }),
    createCa({ trustDomain: "example.org" }),
    createCa({ trustDomain: "partner.org" }),
  ]);
  dir = await mkdtemp(join(tmpdir(), "tollgate-bundles-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base64 = (der: Uint8Array) => Buffer.from(der).toString("base64");

describe("PEM trust bundles", () => {
  it("reads every CA certificate of the file", () => {
    const bundle = parsePemTrustBundle("example.org", rootA.certificatePem + rootB.certificatePem, "ca.pem");
    expect(bundle.trustDomain).toBe("example.org");
    expect(bundle.x509Authorities.map((authority) => authority.der)).toEqual([rootA.certificate, rootB.certificate]);
    expect(bundle.x509Authorities[0]?.subject).toBe("O=Tollgate development, CN=example.org root CA");
  });

  it("refuses a file without certificates, a truncated file and a certificate that is not a CA, naming the file", async () => {
    expect(() => parsePemTrustBundle("example.org", "hello\n", "empty.pem")).toThrow(/^Trust bundle empty\.pem: it holds no PEM certificate/);
    const truncated = rootA.certificatePem.slice(0, rootA.certificatePem.length - 30);
    expect(() => parsePemTrustBundle("example.org", truncated, "cut.pem")).toThrow(/^Trust bundle cut\.pem: .*not terminated/);
    const leaf = await issueSvid(rootA, { spiffeId: "spiffe://example.org/a" });
    expect(() => parsePemTrustBundle("example.org", rootA.certificatePem + leaf.certificatePem, "mixed.pem")).toThrow(
      /^Trust bundle mixed\.pem: certificate 2 \(O=Tollgate development, CN=a\) is not a CA certificate/,
    );
  });

  it("refuses a trust domain name that is not one", () => {
    expect(() => parsePemTrustBundle("Example.org", rootA.certificatePem, "ca.pem")).toThrow(TrustBundleError);
  });
});

describe("SPIFFE bundles (JWK Set)", () => {
  it("takes the first x5c of every x509-svid entry and keeps the jwt-svid keys", () => {
    const text = JSON.stringify({
      spiffe_sequence: 7,
      spiffe_refresh_hint: 300,
      keys: [
        { use: "x509-svid", kty: "EC", crv: "P-256", x5c: [base64(rootA.certificate), base64(partner.certificate)] },
        { use: "x509-svid", kty: "EC", x5c: [base64(rootB.certificate)] },
        { use: "jwt-svid", kty: "EC", kid: "key-1", crv: "P-256", x: "AAAA", y: "BBBB" },
      ],
    });
    const bundle = parseSpiffeTrustBundle("example.org", text, "bundle.json");
    expect(bundle.x509Authorities.map((authority) => authority.der)).toEqual([rootA.certificate, rootB.certificate]);
    expect(bundle.jwtAuthorities).toEqual([{ keyId: "key-1", jwk: { use: "jwt-svid", kty: "EC", kid: "key-1", crv: "P-256", x: "AAAA", y: "BBBB" } }]);
    expect(bundle.sequenceNumber).toBe(7);
    expect(bundle.refreshHintSeconds).toBe(300);
  });

  it("ignores the entries the standard says to ignore", () => {
    const text = JSON.stringify({
      keys: [
        { use: "x509-svid", kty: "EC" },
        { use: "x509-svid", kty: "EC", x5c: [] },
        { use: "x509-svid", kty: "oct", x5c: [base64(rootB.certificate)] },
        { kty: "EC", x5c: [base64(rootB.certificate)] },
        { use: "sig", kty: "EC", x5c: [base64(rootB.certificate)] },
        { use: "jwt-svid", kty: "EC", x: "AAAA" },
        { use: "x509-svid", kty: "EC", x5c: [base64(rootA.certificate)] },
      ],
    });
    const bundle = parseSpiffeTrustBundle("example.org", text, "bundle.json");
    expect(bundle.x509Authorities.map((authority) => authority.der)).toEqual([rootA.certificate]);
    expect(bundle.jwtAuthorities).toEqual([]);
  });

  it("accepts an empty key set (the trust domain revoked its keys)", () => {
    expect(parseSpiffeTrustBundle("example.org", '{"keys": []}', "revoked.json").x509Authorities).toEqual([]);
  });

  it.each([
    ["not JSON", "{keys: ", /is not valid JSON/],
    ["no keys array", '{"spiffe_sequence": 1}', /no "keys" array/],
    ["a duplicated key", `{"keys": [], "keys": [{"use": "x509-svid", "kty": "EC", "x5c": ["${"A".repeat(8)}"]}]}`, /duplicated key/],
    ["an x5c that is not base64", '{"keys": [{"use": "x509-svid", "kty": "EC", "x5c": ["not base64!"]}]}', /not a base64-encoded DER/],
    ["an x5c that is not a certificate", '{"keys": [{"use": "x509-svid", "kty": "EC", "x5c": ["AAAA"]}]}', /entry 1 does not decode/],
    ["a fractional sequence number", '{"spiffe_sequence": 1.5, "keys": []}', /spiffe_sequence/],
  ])("refuses %s, naming the file", (_name, text, problem) => {
    expect(() => parseSpiffeTrustBundle("example.org", text, "bad.json")).toThrow(problem);
    expect(() => parseSpiffeTrustBundle("example.org", text, "bad.json")).toThrow(/^Trust bundle bad\.json: /);
  });

  it("reads what formatSpiffeBundleDocument writes", () => {
    const text = formatSpiffeBundleDocument([rootA.certificate], { sequenceNumber: 1 });
    expect(JSON.parse(text).keys[0]).toMatchObject({ use: "x509-svid", kty: "EC", crv: "P-256" });
    expect(parseTrustBundle("example.org", text, "written.json").x509Authorities[0]?.der).toEqual(rootA.certificate);
  });
});

describe("loading bundle files", () => {
  it("detects the format and names a missing file", async () => {
    await writeFile(join(dir, "a.pem"), rootA.certificatePem);
    await writeFile(join(dir, "partner.json"), formatSpiffeBundleDocument([partner.certificate]));
    expect((await loadTrustBundleFile("example.org", join(dir, "a.pem"))).x509Authorities).toHaveLength(1);
    expect((await loadTrustBundleFile("partner.org", join(dir, "partner.json"))).x509Authorities).toHaveLength(1);
    await expect(loadTrustBundleFile("example.org", join(dir, "missing.pem"))).rejects.toThrow(
      `Trust bundle ${join(dir, "missing.pem")}: the file does not exist`,
    );
  });

  it("loads one file per trust domain into a set that never merges them", async () => {
    const set = await loadTrustBundleSet({ "example.org": join(dir, "a.pem"), "partner.org": join(dir, "partner.json") });
    expect(set.trustDomains).toEqual(["example.org", "partner.org"]);
    expect(set.x509Authorities("example.org").map((authority) => authority.der)).toEqual([rootA.certificate]);
    expect(set.x509Authorities("partner.org").map((authority) => authority.der)).toEqual([partner.certificate]);
    expect(set.x509Authorities("other.org")).toEqual([]);
  });
});

describe("TrustBundleSet", () => {
  const bundleA = () => parsePemTrustBundle("example.org", rootA.certificatePem, "a.pem");

  it("has a revision that follows the content, not the object", () => {
    const one = new TrustBundleSet([bundleA()]);
    const same = new TrustBundleSet([parsePemTrustBundle("example.org", rootA.certificatePem, "elsewhere.pem")]);
    const rotated = new TrustBundleSet([parsePemTrustBundle("example.org", rootA.certificatePem + rootB.certificatePem, "a.pem")]);
    const moved = new TrustBundleSet([parsePemTrustBundle("partner.org", rootA.certificatePem, "a.pem")]);
    expect(same.revision).toBe(one.revision);
    expect(rotated.revision).not.toBe(one.revision);
    expect(moved.revision).not.toBe(one.revision);
    expect(TrustBundleSet.empty.revision).not.toBe(one.revision);
  });

  it("refuses two bundles for one trust domain", () => {
    expect(() => new TrustBundleSet([bundleA(), parsePemTrustBundle("example.org", rootB.certificatePem, "b.pem")])).toThrow(
      /already has a bundle \(a\.pem\)/,
    );
  });

  it("replaces the bundle of one trust domain with `with`", () => {
    const set = new TrustBundleSet([bundleA(), parsePemTrustBundle("partner.org", partner.certificatePem, "p.pem")]);
    const replaced = set.with(parsePemTrustBundle("example.org", rootB.certificatePem, "b.pem"));
    expect(replaced.x509Authorities("example.org")[0]?.der).toEqual(rootB.certificate);
    expect(replaced.x509Authorities("partner.org")[0]?.der).toEqual(partner.certificate);
    expect(set.x509Authorities("example.org")[0]?.der).toEqual(rootA.certificate);
  });
});
