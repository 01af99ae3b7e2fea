import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSvidFiles } from "./svid-files.ts";
import { ensureQuickstartPki, type QuickstartPkiOptions } from "./quickstart-pki.ts";
import { loadTrustBundleSet } from "./trust-bundles.ts";
import { X509SvidVerifier } from "./x509-svid-verifier.ts";

const hour = 3_600_000;
const options: QuickstartPkiOptions = {
  trustDomain: "ai.company.org",
  gateway: { spiffeId: "spiffe://ai.company.org/service/tollgate", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"] },
  identities: {
    "customer-support": "spiffe://ai.company.org/agent/customer-support",
    "code-review": "spiffe://ai.company.org/agent/code-review",
    training: "spiffe://ai.company.org/agent/training",
    operator: "spiffe://ai.company.org/human/operator",
  },
  ttl: 3 * hour,
};

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tollgate-quickstart-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const issuedNames = (result: Awaited<ReturnType<typeof ensureQuickstartPki>>) =>
  Object.fromEntries(result.issued.map((file) => [file.name, file.reason]));

describe("ensureQuickstartPki", () => {
  it("creates the CA and every SVID on a fresh directory, and nothing on the next run", async () => {
    const dir = join(root, "fresh");
    const first = await ensureQuickstartPki(dir, options);
    expect(first.caCreated).toBe("missing");
    expect(issuedNames(first)).toEqual({
      gateway: "missing",
      "customer-support": "missing",
      "code-review": "missing",
      training: "missing",
      operator: "missing",
    });
    expect((await stat(first.caKeyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(first.gateway.keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);

    const second = await ensureQuickstartPki(dir, options);
    expect(second.caCreated).toBeUndefined();
    expect(second.issued).toEqual([]);
    expect(await readFile(second.gateway.certificateFile, "utf8")).toBe(await readFile(first.gateway.certificateFile, "utf8"));
  });

  it("issues SVIDs that the gateway accepts with ca.pem as the bundle, and a gateway SVID for TLS clients", async () => {
    const dir = join(root, "verify");
    const result = await ensureQuickstartPki(dir, options);
    const bundles = await loadTrustBundleSet({ "ai.company.org": result.caFile });
    const verifier = new X509SvidVerifier();
    for (const [name, files] of Object.entries(result.identities)) {
      const material = await loadSvidFiles({ certificateFile: files.certificateFile, keyFile: files.keyFile, bundleFiles: {} });
      expect((await verifier.verify(material.chain, bundles)).id.uri).toBe(options.identities[name]);
    }
    const gateway = await loadSvidFiles({ certificateFile: result.gateway.certificateFile, keyFile: result.gateway.keyFile, bundleFiles: {} });
    expect(gateway.spiffeId?.uri).toBe("spiffe://ai.company.org/service/tollgate");
    const leaf = new X509Certificate(gateway.chain[0] ?? Buffer.alloc(0));
    expect(leaf.checkHost("localhost")).toBe("localhost");
    expect(leaf.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(leaf.checkIP("::1")).toBe("::1");
  });

  it("reissues only what is missing, changed or due", async () => {
    const dir = join(root, "renew");
    const first = await ensureQuickstartPki(dir, options);

    await rm(first.identities.training?.keyFile ?? "");
    expect(issuedNames(await ensureQuickstartPki(dir, options))).toEqual({ training: "missing" });

    const moreNames = { ...options, gateway: { ...options.gateway, dnsNames: ["localhost", "tollgate.local"] } };
    expect(issuedNames(await ensureQuickstartPki(dir, moreNames))).toEqual({ gateway: "names_changed" });

    const moved = { ...moreNames, identities: { ...options.identities, operator: "spiffe://ai.company.org/human/root-operator" } };
    expect(issuedNames(await ensureQuickstartPki(dir, moved))).toEqual({ operator: "id_changed" });

    const stillFresh = await ensureQuickstartPki(dir, { ...moved, now: new Date(Date.now() + 1.5 * hour) });
    expect(stillFresh.issued).toEqual([]);
    const due = await ensureQuickstartPki(dir, { ...moved, now: new Date(Date.now() + 2.5 * hour) });
    expect(due.issued.map((file) => file.reason)).toEqual(Array(5).fill("expiring"));
  });

  it("reissues every SVID when the CA is replaced", async () => {
    const dir = join(root, "new-ca");
    const first = await ensureQuickstartPki(dir, options);
    await rm(first.caKeyFile);
    const second = await ensureQuickstartPki(dir, options);
    expect(second.caCreated).toBe("missing");
    expect(second.issued.map((file) => file.reason)).toEqual(Array(5).fill("other_ca"));

    const otherDomain = await ensureQuickstartPki(dir, {
      trustDomain: "other.org",
      gateway: { spiffeId: "spiffe://other.org/service/tollgate" },
      identities: {},
      ttl: hour,
    });
    expect(otherDomain.caCreated).toBe("other_trust_domain");
    expect(issuedNames(otherDomain)).toEqual({ gateway: "other_ca" });
  });

  it("refuses names that cannot be file names and IDs outside the trust domain", async () => {
    const dir = join(root, "refused");
    for (const name of ["../escape", "ca", "gateway", "gateway-key", ".hidden", "a/b", ""]) {
      await expect(ensureQuickstartPki(dir, { ...options, identities: { [name]: "spiffe://ai.company.org/a" } })).rejects.toThrow(/cannot name/);
    }
    await expect(ensureQuickstartPki(dir, { ...options, identities: { x: "spiffe://other.org/a" } })).rejects.toThrow(
      /not in the trust domain of the development CA/,
    );
  });
});
