import { X509Certificate } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCa, issueSvid, loadCa, type DevCa, type IssuedSvid } from "../src/identity/dev-ca.ts";
import { writeCertificateAndKey, writeFileAtomically } from "../src/identity/pem-files.ts";
import { formatSpiffeBundleDocument } from "../src/identity/spiffe-bundle-document.ts";
import type { SvidFileMaterial, SvidFileSource } from "../src/identity/svid-files.ts";
import type { PolicyReloader, ReloadedEvent } from "../src/policy/policy-reloader.ts";
import { type Harness, type SingleConnection, startHarness } from "./harness/gateway-harness.ts";

/**
 * Changes the gateway takes without a restart, through a real gateway: its own SVID renewed, a
 * federated trust domain's bundle delivered, a broken SVID file, a changed data.json, a broken and
 * then fixed Rego file; and a gateway that started without any policy. Every wait is on the event
 * that the change causes, never on time.
 */

const partnerAgent = "spiffe://partner.org/agent/reviewer";

let h: Harness;
let devCa: DevCa;
let partnerCa: DevCa;
let partnerSvid: IssuedSvid;

beforeAll(async () => {
  partnerCa = await createCa({ trustDomain: "partner.org" });
  partnerSvid = await issueSvid(partnerCa, { spiffeId: partnerAgent });
  h = await startHarness({
    upstreams: 1,
    // partner.org is configured, but its bundle has not been delivered yet: an empty SPIFFE bundle,
    // under which none of its SVIDs is trusted (SPIFFE Trust Domain and Bundle §4.1.3).
    bundles: { "partner.org": formatSpiffeBundleDocument([]) },
    grants: [
      {
        name: "partner-reviewer-chat",
        agents: [partnerAgent],
        targets: ["spiffe://ai.company.org/service/llm-proxy"],
        kind: "model",
        names: ["demo-chat"],
        actions: ["chat"],
      },
    ],
  });
  devCa = await loadCa(await readFile(join(h.pkiDir, "ca.pem"), "utf8"), await readFile(join(h.pkiDir, "ca-key.pem"), "utf8"));
});

afterAll(() => h.close());

/** The next "update" of the SVID files whose material satisfies `wanted` (file events come in bursts). */
function nextUpdate(svids: SvidFileSource, wanted: (material: SvidFileMaterial) => boolean): Promise<SvidFileMaterial> {
  return new Promise((resolve) => {
    const listener = (material: SvidFileMaterial) => {
      if (!wanted(material)) return;
      svids.off("update", listener);
      resolve(material);
    };
    svids.on("update", listener);
  });
}

function nextSvidError(svids: SvidFileSource, about: RegExp): Promise<Error> {
  return new Promise((resolve) => {
    const listener = (error: Error) => {
      if (!about.test(error.message)) return;
      svids.off("error", listener);
      resolve(error);
    };
    svids.on("error", listener);
  });
}

function nextReloaded(policy: PolicyReloader, wanted: (event: ReloadedEvent) => boolean = () => true): Promise<ReloadedEvent> {
  return new Promise((resolve) => {
    const listener = (event: ReloadedEvent) => {
      if (!wanted(event)) return;
      policy.off("reloaded", listener);
      resolve(event);
    };
    policy.on("reloaded", listener);
  });
}

function nextPolicyError(policy: PolicyReloader): Promise<Error> {
  return new Promise((resolve) => policy.once("error", resolve));
}

async function get(connection: SingleConnection, path: string): Promise<{ status: number; body: unknown }> {
  const response = await connection.client.request({ method: "GET", path });
  return { status: response.statusCode, body: await response.body.json() };
}

function servedSerial(connection: SingleConnection): string | undefined {
  return connection.sockets.at(-1)?.getPeerCertificate().serialNumber.toLowerCase();
}

function serialOf(svid: IssuedSvid): string {
  return new X509Certificate(svid.certificate).serialNumber.toLowerCase();
}

async function readiness(harness: Harness): Promise<{ status: number; body: { status: string; checks: Record<string, Record<string, unknown>> } }> {
  const response = await fetch(`${harness.gateway.healthUrl}/readyz`);
  return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, Record<string, unknown>> } };
}

async function chat(identity: "customer-support" | "training" | { certPem: string; keyPem: string }, path = "/v1/chat/completions") {
  const dispatcher = h.dispatcher(identity);
  const body = path === "/v1/embeddings" ? { model: "demo-embed", input: "x" } : { model: "demo-chat", messages: [{ role: "user", content: "x" }] };
  const response = await undiciFetch(`${h.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    dispatcher,
  });
  return {
    status: response.status,
    requestId: response.headers.get("x-request-id"),
    body: (await response.json()) as { error?: { message: string; code: string; reasons?: string[] } },
  };
}

async function gatewaySvidFor(): Promise<IssuedSvid> {
  return issueSvid(devCa, {
    spiffeId: h.config.identity.spiffe_id,
    dnsNames: h.config.server.dns_names,
    ipAddresses: ["127.0.0.1", "::1"],
  });
}

describe("the gateway's own SVID", () => {
  it("is renewed without a restart: new connections see the new certificate, open ones keep working", async () => {
    const before = h.connection("customer-support");
    expect((await get(before, "/v1/models")).status).toBe(200);
    const oldSerial = servedSerial(before);
    expect(oldSerial).toBeDefined();

    const renewed = await gatewaySvidFor();
    const update = nextUpdate(h.gateway.svids, (material) => material.chain[0]?.equals(renewed.certificate) === true);
    await writeCertificateAndKey(h.pkiDir, "gateway", renewed);
    await update;

    const after = h.connection("customer-support");
    expect((await get(after, "/v1/models")).status).toBe(200);
    expect(servedSerial(after)).toBe(serialOf(renewed));
    expect(servedSerial(after)).not.toBe(oldSerial);

    // The connection opened before the renewal is the same one, still served.
    expect((await get(before, "/v1/models")).status).toBe(200);
    expect(before.sockets).toHaveLength(1);
    expect(servedSerial(before)).toBe(oldSerial);
    expect(h.logs.some((line) => line.msg === "SVID and bundles reloaded")).toBe(true);
  });

  it("keeps the last good SVID when a file is broken, reports it, and recovers when it is fixed", async () => {
    const good = h.gateway.svids.current;
    const goodSerial = new X509Certificate(good.chain[0]!).serialNumber.toLowerCase();

    const failed = nextSvidError(h.gateway.svids, /gateway\.pem/);
    await writeFileAtomically(join(h.pkiDir, "gateway.pem"), "-----BEGIN CERTIFICATE-----\ntruncated", 0o644);
    const error = await failed;
    expect(error.message).toMatch(/gateway\.pem: it is not a PEM certificate chain/);
    expect(h.gateway.svids.current).toBe(good);
    expect(h.logs).toContainEqual(
      expect.objectContaining({ level: "error", msg: "SVID or bundle reload failed; the last good material stays in use", err: error.message }),
    );
    const broken = await readiness(h);
    expect(broken.status).toBe(200);
    expect(broken.body.checks.svid).toMatchObject({ ready: true, lastError: error.message });

    // New connections still get the last good certificate and are served.
    const meanwhile = h.connection("customer-support");
    expect((await get(meanwhile, "/v1/models")).status).toBe(200);
    expect(servedSerial(meanwhile)).toBe(goodSerial);

    const fixed = await gatewaySvidFor();
    const update = nextUpdate(h.gateway.svids, (material) => material.chain[0]?.equals(fixed.certificate) === true);
    await writeCertificateAndKey(h.pkiDir, "gateway", fixed);
    await update;
    const recovered = await readiness(h);
    expect(recovered.body.checks.svid).toMatchObject({ ready: true });
    expect(recovered.body.checks.svid?.lastError).toBeUndefined();
  });
});

describe("trust bundles", () => {
  it("accepts a federated trust domain's agents once its bundle is delivered, without a restart", async () => {
    const presented = { certPem: partnerSvid.certificatePem, keyPem: partnerSvid.keyPem };
    const refused = await chat(presented);
    expect(refused.status).toBe(401);
    expect(refused.body.error?.message).toContain("rule no_x509_authorities");
    expect(refused.body.error?.message).not.toContain(h.dataDir);

    const bundleFile = h.bundleFiles["partner.org"]!;
    const update = nextUpdate(h.gateway.svids, (material) => material.bundles.x509Authorities("partner.org").length === 1);
    await writeFileAtomically(bundleFile, formatSpiffeBundleDocument([partnerCa.certificate]), 0o644);
    await update;

    const seen = h.upstreams[0]!.nextRequest({ path: "/v1/chat/completions" });
    const accepted = await chat(presented);
    expect(accepted.status).toBe(200);
    await seen;
    // The gateway's own trust domain is untouched: its agents are still accepted.
    expect((await chat("customer-support")).status).toBe(200);
  });
});

describe("connections already open when the bundles change", () => {
  it("are verified again: an agent whose trust domain's authorities are withdrawn is refused on its open connection", async () => {
    const presented = { certPem: partnerSvid.certificatePem, keyPem: partnerSvid.keyPem };
    const open = h.connection(presented);
    const post = () =>
      open.client.request({
        method: "POST",
        path: "/v1/chat/completions",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "demo-chat", messages: [{ role: "user", content: "x" }] }),
      });
    const first = await post();
    await first.body.json();
    expect(first.statusCode).toBe(200);
    const verificationsBefore = h.gateway.connections.verificationsStarted;

    const bundleFile = h.bundleFiles["partner.org"]!;
    const withdrawn = nextUpdate(h.gateway.svids, (material) => material.bundles.x509Authorities("partner.org").length === 0);
    await writeFileAtomically(bundleFile, formatSpiffeBundleDocument([]), 0o644);
    await withdrawn;

    const refused = await post();
    expect(refused.statusCode).toBe(401);
    expect(await refused.body.json()).toMatchObject({ error: { code: "TG_ERR_SVID_REJECTED", message: expect.stringContaining("rule no_x509_authorities") } });
    expect(open.sockets).toHaveLength(1);
    // Verified again on the same connection, not on a new one.
    expect(h.gateway.connections.verificationsStarted).toBe(verificationsBefore);

    // Agents of the gateway's own trust domain, on their open connections, are verified again and still accepted.
    const own = h.connection("customer-support");
    expect((await get(own, "/v1/models")).status).toBe(200);
    const restored = nextUpdate(h.gateway.svids, (material) => material.bundles.x509Authorities("partner.org").length === 1);
    await writeFileAtomically(bundleFile, formatSpiffeBundleDocument([partnerCa.certificate]), 0o644);
    await restored;
    expect((await get(own, "/v1/models")).status).toBe(200);
    const again = await post();
    await again.body.json();
    expect(again.statusCode).toBe(200);
    expect(own.sockets).toHaveLength(1);
    expect(open.sockets).toHaveLength(1);
  });
});

describe("the policy", () => {
  const dataFile = () => join(h.policyDir, "data.json");

  it("swaps in a changed data.json: the decision changes once the reloader says so", async () => {
    const denied = await chat("customer-support", "/v1/embeddings");
    expect(denied.status).toBe(403);
    const revisionBefore = h.gateway.engine.status().revision;

    const data = JSON.parse(await readFile(dataFile(), "utf8")) as { tollgate: { grants: Array<Record<string, unknown>> } };
    data.tollgate.grants.push({
      name: "customer-support-embed",
      agents: ["spiffe://ai.company.org/agent/customer-support/*"],
      targets: ["spiffe://ai.company.org/service/llm-proxy"],
      kind: "model",
      names: ["demo-embed"],
      actions: ["embed"],
    });
    const reloaded = nextReloaded(h.gateway.policy, (event) => event.revision !== revisionBefore);
    await writeFileAtomically(dataFile(), JSON.stringify(data, null, 2), 0o644);
    const event = await reloaded;

    expect(h.gateway.engine.status().revision).toBe(event.revision);
    const allowed = await chat("customer-support", "/v1/embeddings");
    expect(allowed.status).toBe(200);
    expect(await h.requestLog(allowed.requestId)).toMatchObject({ decision: "allow", reasons: ["allowed by grant customer-support-embed"], policyRevision: event.revision });
  });

  it("keeps the last good bundle when a Rego file breaks, reports it, and clears the report when fixed", async () => {
    const good = h.gateway.engine.status().revision;
    const broken = join(h.policyDir, "broken.rego");

    const failed = nextPolicyError(h.gateway.policy);
    await writeFileAtomically(broken, "package tollgate.authz\n\nallow if {\n", 0o644);
    const error = await failed;
    expect(h.logs).toContainEqual(
      expect.objectContaining({ level: "error", msg: "policy reload failed; the last good policy stays in use", err: error.message }),
    );
    const ready = await readiness(h);
    expect(ready.status).toBe(200);
    expect(ready.body.checks.policy).toMatchObject({ ready: true, revision: good, lastError: error.message });
    expect(String(ready.body.checks.policy?.lastError)).toContain("broken.rego");

    // The last good decisions stand, allows and denies alike.
    expect((await chat("customer-support", "/v1/embeddings")).status).toBe(200);
    expect((await chat("training")).status).toBe(403);

    const reloaded = nextReloaded(h.gateway.policy);
    await rm(broken);
    await reloaded;
    const fixed = await readiness(h);
    expect(fixed.status).toBe(200);
    expect(fixed.body.checks.policy?.ready).toBe(true);
    expect(fixed.body.checks.policy?.lastError).toBeUndefined();
  });
});

describe("a gateway started without any policy", () => {
  let bare: Harness;
  beforeAll(async () => {
    bare = await startHarness({
      upstreams: 1,
      configure: (config) => {
        config.policy = { ...config.policy, start_without_policy: true };
      },
      beforeStart: async ({ policyDir }) => {
        await writeFileAtomically(join(policyDir, "broken.rego"), "package tollgate.authz\n\nallow if {\n", 0o644);
      },
    });
  });
  afterAll(() => bare.close());

  it("refuses every request with 503 and the reason, and is not ready, until a policy loads", async () => {
    const seenBefore = bare.upstreams[0]!.requests.length;
    const response = await bare.fetch("customer-support", "/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "demo-chat", messages: [{ role: "user", content: "x" }] }),
    });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      error: {
        message: "The gateway cannot decide on this request now: no policy bundle is loaded.",
        type: "server_error",
        param: null,
        code: "TG_ERR_UNAVAILABLE",
        reasons: ["no policy bundle is loaded"],
      },
    });
    const models = await bare.fetch("customer-support", "/v1/models");
    expect(models.status).toBe(503);
    expect(bare.upstreams[0]!.requests.length).toBe(seenBefore);

    const unready = await readiness(bare);
    expect(unready.status).toBe(503);
    expect(unready.body.status).toBe("not ready");
    expect(unready.body.checks.policy).toMatchObject({ ready: false });
    expect(unready.body.checks.policy?.revision).toBeUndefined();
    expect(String(unready.body.checks.policy?.lastError)).toContain("broken.rego");
    expect(bare.logs).toContainEqual(expect.objectContaining({ level: "error", msg: "no policy could be loaded: every request is refused until one loads" }));

    const loaded = nextReloaded(bare.gateway.policy);
    await rm(join(bare.policyDir, "broken.rego"));
    await loaded;
    expect((await readiness(bare)).status).toBe(200);
    expect((await bare.fetch("customer-support", "/v1/models")).status).toBe(200);
  });
});
