import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, symlink, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createCa, issueSvid, type DevCa } from "./dev-ca.ts";
import { writeCertificateAndKey, writeFileAtomically } from "./pem-files.ts";
import { formatSpiffeBundleDocument } from "./spiffe-bundle-document.ts";
import { loadSvidFiles, SvidFileSource, SvidFilesError, type SvidFileMaterial } from "./svid-files.ts";
import { tlsSecureContextOptions, tlsServerOptions } from "./tls-identity.ts";

let ca: DevCa;
let partner: DevCa;
let dir: string;
const sources: SvidFileSource[] = [];

beforeAll(async () => {
  [ca, partner] = await Promise.all([createCa({ trustDomain: "example.org" }), createCa({ trustDomain: "partner.org" })]);
  dir = await mkdtemp(join(tmpdir(), "tollgate-svid-files-"));
});

afterEach(async () => {
  await Promise.all(sources.splice(0).map((source) => source.close()));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function freshFiles(name: string) {
  const folder = join(dir, name);
  await mkdir(folder);
  const svid = await issueSvid(ca, { spiffeId: "spiffe://example.org/service/tollgate", dnsNames: ["localhost"] });
  const files = await writeCertificateAndKey(folder, "gateway", svid);
  await writeFile(join(folder, "ca.pem"), ca.certificatePem);
  await writeFile(join(folder, "partner.json"), formatSpiffeBundleDocument([partner.certificate]));
  const options = {
    certificateFile: files.certificateFile,
    keyFile: files.keyFile,
    bundleFiles: { "example.org": join(folder, "ca.pem"), "partner.org": join(folder, "partner.json") },
  };
  return { folder, svid, options };
}

async function open(options: Parameters<typeof SvidFileSource.open>[0]): Promise<SvidFileSource> {
  const source = await SvidFileSource.open(options);
  sources.push(source);
  return source;
}

/**
 * The next "update" whose material satisfies `wanted`. File events can come in bursts (a rename is
 * several events), so a test waits for the state it caused rather than for the first event.
 */
function nextUpdate(source: SvidFileSource, wanted: (material: SvidFileMaterial) => boolean = () => true): Promise<SvidFileMaterial> {
  return new Promise((resolve) => {
    const listener = (material: SvidFileMaterial) => {
      if (!wanted(material)) return;
      source.off("update", listener);
      resolve(material);
    };
    source.on("update", listener);
  });
}

/** The next "error" whose message matches `about`. */
function nextError(source: SvidFileSource, about: RegExp): Promise<Error> {
  return new Promise((resolve) => {
    const listener = (error: Error) => {
      if (!about.test(error.message)) return;
      source.off("error", listener);
      resolve(error);
    };
    source.on("error", listener);
  });
}

describe("loadSvidFiles", () => {
  it("loads the SVID, its key and every bundle", async () => {
    const { svid, options } = await freshFiles("load");
    const material = await loadSvidFiles(options);
    expect(material.chain).toEqual(svid.chain);
    expect(material.spiffeId?.uri).toBe("spiffe://example.org/service/tollgate");
    expect(material.notAfter).toEqual(svid.notAfter);
    expect(material.bundles.trustDomains).toEqual(["example.org", "partner.org"]);
  });

  it("names the file and the problem", async () => {
    const { folder, options } = await freshFiles("broken");
    await expect(loadSvidFiles({ ...options, certificateFile: join(folder, "nope.pem") })).rejects.toThrow(
      `${join(folder, "nope.pem")}: the file does not exist`,
    );
    const other = await issueSvid(ca, { spiffeId: "spiffe://example.org/other" });
    await writeFile(join(folder, "other-key.pem"), other.keyPem);
    await expect(loadSvidFiles({ ...options, keyFile: join(folder, "other-key.pem") })).rejects.toThrow(/the key does not belong to the certificate/);
    await writeFile(join(folder, "garbage.pem"), "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
    await expect(loadSvidFiles({ ...options, certificateFile: join(folder, "garbage.pem") })).rejects.toBeInstanceOf(SvidFilesError);
  });
});

describe("SvidFileSource", () => {
  it("reloads the SVID when its files are replaced, and a TLS server presents the new one to new connections", async () => {
    const { folder, options } = await freshFiles("rotate");
    const source = await open(options);
    const server = tls.createServer(tlsServerOptions(source.current), (socket) => socket.end());
    source.on("update", (material) => server.setSecureContext(tlsSecureContextOptions(material)));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    const servedSerial = async () => {
      const client = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca: ca.certificatePem });
      await once(client, "secureConnect");
      const serial = client.getPeerCertificate().serialNumber;
      client.destroy();
      return serial;
    };
    try {
      const before = await servedSerial();
      const renewed = await issueSvid(ca, { spiffeId: "spiffe://example.org/service/tollgate", dnsNames: ["localhost"] });
      const update = nextUpdate(source, (material) => material.chain[0]?.equals(renewed.certificate) === true);
      await writeCertificateAndKey(folder, "gateway", renewed);
      const material = await update;
      expect(material.chain).toEqual(renewed.chain);
      expect(source.current).toBe(material);
      const after = await servedSerial();
      expect(after).not.toBe(before);
      expect(after.toLowerCase()).toBe(new X509Certificate(renewed.certificate).serialNumber.toLowerCase());
    } finally {
      server.close();
    }
  });

  it("reloads a bundle file that changes", async () => {
    const { folder, options } = await freshFiles("bundle");
    const source = await open(options);
    const revisionBefore = source.current.bundles.revision;
    const rotated = await createCa({ trustDomain: "example.org" });
    const update = nextUpdate(source, (material) => material.bundles.x509Authorities("example.org").length === 2);
    await writeFileAtomically(join(folder, "ca.pem"), ca.certificatePem + rotated.certificatePem, 0o644);
    const material = await update;
    expect(material.bundles.x509Authorities("example.org").map((authority) => authority.der)).toEqual([ca.certificate, rotated.certificate]);
    expect(material.bundles.revision).not.toBe(revisionBefore);
  });

  it("keeps the last good material when a new file is broken, and recovers when it is fixed", async () => {
    const { folder, svid, options } = await freshFiles("keep");
    const source = await open(options);
    const good = source.current;

    const error = nextError(source, /gateway\.pem/);
    await writeFileAtomically(join(folder, "gateway.pem"), "-----BEGIN CERTIFICATE-----\ntruncated", 0o644);
    expect((await error).message).toMatch(/gateway\.pem: it is not a PEM certificate chain/);
    expect(source.current).toBe(good);
    expect(source.lastError?.message).toMatch(/gateway\.pem: it is not a PEM certificate chain/);

    // The SVID is put back (no change from the good material) and the bundle breaks instead.
    const bundleError = nextError(source, /partner\.json/);
    await writeFileAtomically(join(folder, "gateway.pem"), svid.certificatePem, 0o644);
    await writeFileAtomically(join(folder, "partner.json"), '{"keys": [', 0o644);
    expect((await bundleError).message).toMatch(/partner\.json: it is not a valid SPIFFE bundle/);
    expect(source.current).toBe(good);

    const update = nextUpdate(source, (material) => material.bundles.x509Authorities("partner.org").length === 2);
    const partnerRotated = await createCa({ trustDomain: "partner.org" });
    await writeFileAtomically(join(folder, "partner.json"), formatSpiffeBundleDocument([partner.certificate, partnerRotated.certificate]), 0o644);
    const recovered = await update;
    expect(recovered.chain).toEqual(svid.chain);
    expect(recovered.bundles.x509Authorities("partner.org")).toHaveLength(2);
    expect(source.lastError).toBeUndefined();
  });

  it("follows a Kubernetes-style swap of a symlinked directory", async () => {
    const folder = join(dir, "kubernetes");
    await mkdir(folder);
    const write = async (version: string, material: { certificatePem: string; keyPem: string }) => {
      await mkdir(join(folder, version));
      await writeFile(join(folder, version, "tls.crt"), material.certificatePem);
      await writeFile(join(folder, version, "tls.key"), material.keyPem);
      await writeFile(join(folder, version, "ca.crt"), ca.certificatePem);
      await symlink(version, join(folder, "..data_tmp"));
      await rename(join(folder, "..data_tmp"), join(folder, "..data"));
    };
    const first = await issueSvid(ca, { spiffeId: "spiffe://example.org/service/tollgate" });
    await write("..v1", first);
    for (const name of ["tls.crt", "tls.key", "ca.crt"]) await symlink(join("..data", name), join(folder, name));
    const source = await open({
      certificateFile: join(folder, "tls.crt"),
      keyFile: join(folder, "tls.key"),
      bundleFiles: { "example.org": join(folder, "ca.crt") },
    });
    expect(source.current.chain).toEqual(first.chain);

    const second = await issueSvid(ca, { spiffeId: "spiffe://example.org/service/tollgate" });
    const update = nextUpdate(source, (material) => material.chain[0]?.equals(second.certificate) === true);
    await write("..v2", second);
    expect((await update).chain).toEqual(second.chain);
  });

  it("announces nothing when a file is rewritten with the same content", async () => {
    const { folder, svid, options } = await freshFiles("same");
    const source = await open(options);
    let updates = 0;
    source.on("update", () => updates++);
    await writeFileAtomically(join(folder, "gateway.pem"), svid.certificatePem, 0o644);
    await source.reload();
    expect(updates).toBe(0);
  });
});
