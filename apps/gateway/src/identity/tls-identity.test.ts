import { once } from "node:events";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TollgateError } from "../errors/tollgate-error.ts";
import { issueSvid, type IssuedSvid } from "./dev-ca.ts";
import { attachConnectionIdentity, connectionIdentity, tlsServerOptions, type ConnectionIdentityTracker } from "./tls-identity.ts";
import { TrustBundleSet } from "./trust-bundles.ts";
import { createSvidTestPki, svidTestCases, type SvidTestPki } from "./x509-svid-test-cases.ts";
import { X509SvidVerifier } from "./x509-svid-verifier.ts";

/**
 * Through a real TLS server and real TLS clients: the server asks for a client certificate, the
 * identity stage verifies what the client presented once per connection, and each request reads it.
 */

let pki: SvidTestPki;
let server: https.Server;
let port: number;
let tracker: ConnectionIdentityTracker;
let verifier: X509SvidVerifier;
let gatewaySvid: IssuedSvid;
const handshakes: tls.TLSSocket[] = [];

/** A TLS server that answers every request with the connection's identity, or the rule it failed. */
function createIdentityServer(): https.Server {
  return https.createServer(tlsServerOptions({ certificateChainPem: gatewaySvid.certificatePem, keyPem: gatewaySvid.keyPem }), (request, response) => {
    const socket = request.socket as tls.TLSSocket;
    connectionIdentity(socket).then(
      (svid) => {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ id: svid.id.uri, resumed: socket.isSessionReused() }));
      },
      (error: unknown) => {
        const rejected = error as TollgateError;
        response.writeHead(rejected.status, { "content-type": "application/json" });
        response.end(JSON.stringify({ reason: rejected.reason, message: rejected.message }));
      },
    );
  });
}

beforeAll(async () => {
  pki = await createSvidTestPki();
  const gateway = await issueSvid(pki.ca, {
    spiffeId: "spiffe://example.org/service/tollgate",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1", "::1"],
  });
  gatewaySvid = gateway;
  server = createIdentityServer();
  server.on("secureConnection", (socket: tls.TLSSocket) => handshakes.push(socket));
  verifier = new X509SvidVerifier();
  tracker = attachConnectionIdentity(server, () => pki.bundles, { verifier });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, "close");
});

interface Answer {
  readonly status: number;
  readonly body: { id?: string; resumed?: boolean; reason?: string; message?: string };
}

function get(agent: https.Agent, serverPort: number = port): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = https.request({ host: "127.0.0.1", port: serverPort, path: "/", agent }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Answer["body"] }));
    });
    request.on("error", reject);
    request.end();
  });
}

function agentFor(svid: IssuedSvid | undefined, options: https.AgentOptions = {}): https.Agent {
  return new https.Agent({
    ca: pki.ca.certificatePem,
    ...(svid === undefined ? {} : { cert: svid.certificatePem, key: svid.keyPem }),
    ...options,
  });
}

describe("X.509-SVIDs presented over TLS", () => {
  it.each(svidTestCases.map((testCase) => [testCase.name, testCase] as const))("%s", async (_name, testCase) => {
    const agent = agentFor(await testCase.present(pki));
    try {
      const answer = await get(agent);
      if ("accepted" in testCase.expect) {
        expect(answer).toMatchObject({ status: 200, body: { id: testCase.expect.accepted } });
      } else {
        expect(answer.status).toBe(401);
        expect(answer.body.reason).toBe(`x509svid.${testCase.expect.rejected}`);
        expect(answer.body.message).toContain(`rule ${testCase.expect.rejected}`);
      }
    } finally {
      agent.destroy();
    }
  });
});

describe("connection identity", () => {
  it("verifies once per connection, however many requests it carries", async () => {
    const svid = await issueSvid(pki.ca, { spiffeId: "spiffe://example.org/agent/keep-alive" });
    const agent = agentFor(svid, { keepAlive: true, maxSockets: 1 });
    try {
      const handshakesBefore = handshakes.length;
      const verificationsBefore = tracker.verificationsStarted;
      const fullValidationsBefore = verifier.stats.fullValidations;
      for (let request = 0; request < 5; request++) {
        expect(await get(agent)).toMatchObject({ status: 200, body: { id: "spiffe://example.org/agent/keep-alive" } });
      }
      expect(handshakes.length - handshakesBefore).toBe(1);
      expect(tracker.verificationsStarted - verificationsBefore).toBe(1);
      expect(verifier.stats.fullValidations - fullValidationsBefore).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it("verifies a resumed TLS session against the chain of its first handshake", async () => {
    // A resumed session carries only the leaf; without the remembered intermediate it would fail.
    const svid = await issueSvid(pki.intermediate, { spiffeId: "spiffe://example.org/agent/resumed" });
    const agent = agentFor(svid, { keepAlive: false, maxCachedSessions: 10 });
    try {
      const first = await get(agent);
      const second = await get(agent);
      expect(first).toMatchObject({ status: 200, body: { id: "spiffe://example.org/agent/resumed", resumed: false } });
      expect(second).toMatchObject({ status: 200, body: { id: "spiffe://example.org/agent/resumed", resumed: true } });
    } finally {
      agent.destroy();
    }
  });

  it("answers a reconnecting client from the verification cache", async () => {
    const svid = await issueSvid(pki.ca, { spiffeId: "spiffe://example.org/agent/reconnecting" });
    const before = verifier.stats;
    for (let connection = 0; connection < 3; connection++) {
      const agent = agentFor(svid, { maxCachedSessions: 0 });
      try {
        expect((await get(agent)).status).toBe(200);
      } finally {
        agent.destroy();
      }
    }
    expect(verifier.stats.fullValidations - before.fullValidations).toBe(1);
    expect(verifier.stats.cacheHits - before.cacheHits).toBe(2);
  });

  it("settles the identity of a connection that never sends a request, without an unhandled rejection", async () => {
    const svid = await issueSvid(pki.ca, { spiffeId: "spiffe://example.org/agent/quiet", keyUsage: null });
    const accepted = once(server, "secureConnection") as Promise<[tls.TLSSocket]>;
    const client = tls.connect({ host: "127.0.0.1", port, ca: pki.ca.certificatePem, cert: svid.certificatePem, key: svid.keyPem });
    const [socket] = await accepted;
    client.destroy();
    const error = await connectionIdentity(socket).then(
      () => undefined,
      (rejected: unknown) => rejected,
    );
    expect(error).toBeInstanceOf(TollgateError);
    expect((error as TollgateError).reason).toBe("x509svid.key_usage_missing");
  });

  it("fails the connection, not the process, when the bundles cannot be had", async () => {
    const broken = tls.createServer(tlsServerOptions({ certificateChainPem: pki.ca.certificatePem, keyPem: pki.ca.keyPem }));
    attachConnectionIdentity(broken, () => {
      throw new Error("bundles unavailable");
    });
    broken.listen(0, "127.0.0.1");
    await once(broken, "listening");
    try {
      const accepted = once(broken, "secureConnection") as Promise<[tls.TLSSocket]>;
      const client = tls.connect({ host: "127.0.0.1", port: (broken.address() as AddressInfo).port, rejectUnauthorized: false });
      const [socket] = await accepted;
      client.destroy();
      await expect(connectionIdentity(socket)).rejects.toMatchObject({ code: "TG_ERR_INTERNAL" });
    } finally {
      broken.close();
    }
  });

  it("rejects a socket whose listener does not verify client certificates", async () => {
    const plain = new tls.TLSSocket(null as never);
    await expect(connectionIdentity(plain)).rejects.toMatchObject({ code: "TG_ERR_UNAUTHENTICATED", reason: "x509svid.not_verified" });
    plain.destroy();
  });
});

describe("an open connection's identity", () => {
  let other: https.Server;
  let otherPort: number;
  let otherTracker: ConnectionIdentityTracker;
  let bundles: TrustBundleSet;
  let clock = Date.now();

  beforeAll(async () => {
    bundles = pki.bundles;
    other = createIdentityServer();
    otherTracker = attachConnectionIdentity(other, () => bundles, { verifier: new X509SvidVerifier(), now: () => clock });
    other.listen(0, "127.0.0.1");
    await once(other, "listening");
    otherPort = (other.address() as AddressInfo).port;
  });

  afterAll(async () => {
    other.closeAllConnections();
    other.close();
    await once(other, "close");
  });

  it("is refused once the SVID it was verified with has expired, on the same connection", async () => {
    const svid = await issueSvid(pki.ca, { spiffeId: "spiffe://example.org/agent/long-lived", ttl: 3_600_000 });
    const agent = agentFor(svid, { keepAlive: true, maxSockets: 1 });
    try {
      const verificationsBefore = otherTracker.verificationsStarted;
      clock = Date.now();
      expect(await get(agent, otherPort)).toMatchObject({ status: 200, body: { id: "spiffe://example.org/agent/long-lived" } });
      clock = svid.notAfter.getTime() - 1000;
      expect((await get(agent, otherPort)).status).toBe(200);
      clock = svid.notAfter.getTime() + 1000;
      const expired = await get(agent, otherPort);
      expect(expired.status).toBe(401);
      expect(expired.body.reason).toBe("x509svid.expired");
      expect(expired.body.message).toContain(`expired at ${svid.notAfter.toISOString()}`);
      expect(otherTracker.verificationsStarted - verificationsBefore).toBe(1);
    } finally {
      clock = Date.now();
      agent.destroy();
    }
  });

  it("is verified again, once, when the bundles change", async () => {
    const svid = await issueSvid(pki.partnerCa, { spiffeId: "spiffe://partner.org/agent/federated" });
    const agent = agentFor(svid, { keepAlive: true, maxSockets: 1 });
    try {
      const before = { verifications: otherTracker.verificationsStarted, reverifications: otherTracker.reverifications };
      expect((await get(agent, otherPort)).status).toBe(200);
      expect((await get(agent, otherPort)).status).toBe(200);
      expect(otherTracker.reverifications).toBe(before.reverifications);

      // partner.org is no longer trusted: the open connection is refused from its next request on.
      bundles = new TrustBundleSet([pki.bundles.get("example.org")!]);
      const refused = await get(agent, otherPort);
      expect(refused).toMatchObject({ status: 401, body: { reason: "x509svid.unknown_trust_domain" } });
      expect((await get(agent, otherPort)).status).toBe(401);
      expect(otherTracker.reverifications - before.reverifications).toBe(1);

      bundles = pki.bundles;
      expect(await get(agent, otherPort)).toMatchObject({ status: 200, body: { id: "spiffe://partner.org/agent/federated" } });
      expect(otherTracker.reverifications - before.reverifications).toBe(2);
      expect(otherTracker.verificationsStarted - before.verifications).toBe(1);
    } finally {
      bundles = pki.bundles;
      agent.destroy();
    }
  });
});
