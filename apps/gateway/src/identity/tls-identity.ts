import { createHash } from "node:crypto";
import type * as tls from "node:tls";
import { TollgateError } from "../errors/tollgate-error.ts";
import { ConnectionIdentity, type ConnectionIdentitySource } from "./connection-identity.ts";
import { LruCache } from "./lru-cache.ts";
import { svidRejected } from "./svid-rejection.ts";
import type { TrustBundleSet } from "./trust-bundles.ts";
import { defaultX509SvidVerifier, type VerifiedX509Svid, type X509SvidVerifier } from "./x509-svid-verifier.ts";

/**
 * The TLS side of X.509-SVID authentication: the server asks every client for a certificate but
 * lets OpenSSL accept whatever comes, because OpenSSL would check it against one merged list of CAs
 * and so accept an SVID of trust domain A signed by the CA of trust domain B. The gateway verifies
 * the presented chain itself, once per connection, right after the handshake; requests on that
 * connection then only await the verification stored on the socket (verified again only when the
 * bundles change, and refused once the verified path expires: see connection-identity.ts).
 */

export interface TlsIdentityMaterial {
  /** PEM: the gateway's SVID, leaf first, then intermediates. */
  readonly certificateChainPem: string;
  /** PEM: the SVID's private key. */
  readonly keyPem: string;
}

/** What `tls.Server#setSecureContext` needs to present a renewed SVID to new connections. */
export function tlsSecureContextOptions(material: TlsIdentityMaterial): tls.SecureContextOptions {
  return { cert: material.certificateChainPem, key: material.keyPem, minVersion: "TLSv1.2" };
}

/** Options for `https.createServer` / `tls.createServer`: the gateway's SVID, a client certificate requested, TLS 1.2 or later. */
export function tlsServerOptions(material: TlsIdentityMaterial): tls.TlsOptions & { requestCert: true; rejectUnauthorized: false } {
  return { ...tlsSecureContextOptions(material), requestCert: true, rejectUnauthorized: false };
}

const identityKey = Symbol("tollgate.connectionIdentity");
const maxPresentedCertificates = 32;

/**
 * The certificates the peer presented, leaf first, DER. Node links them through `issuerCertificate`
 * (ending in a self-reference at a self-signed certificate); certificates Node added from the
 * server's own CA store are harmless, since only the trust domain's authorities are anchors.
 */
export function peerCertificateChain(socket: tls.TLSSocket): Buffer[] {
  const chain: Buffer[] = [];
  const seen = new Set<string>();
  let current: Partial<tls.DetailedPeerCertificate> | undefined = socket.getPeerCertificate(true);
  while (current?.raw !== undefined && chain.length < maxPresentedCertificates) {
    const digest = createHash("sha256").update(current.raw).digest("hex");
    if (seen.has(digest)) break;
    seen.add(digest);
    chain.push(current.raw);
    current = current.issuerCertificate;
  }
  return chain;
}

export interface ConnectionIdentityTracker {
  /** How many verifications were started: one per TLS connection, never one per request. */
  readonly verificationsStarted: number;
  /** How many open connections were verified again because the bundles changed (once each per change). */
  readonly reverifications: number;
  /** Stops verifying new connections (connections already verified keep their identity). */
  detach(): void;
}

export interface AttachConnectionIdentityOptions {
  /** Default: the process-wide verifier, whose cache is shared by every listener. */
  readonly verifier?: X509SvidVerifier;
  /** How many presented chains to remember for resumed sessions (see below). Default 1024. */
  readonly rememberedChains?: number;
  /** The clock that expires connections' identities, in milliseconds since the epoch. Default Date.now. */
  readonly now?: () => number;
}

function leafDigest(leaf: Uint8Array): string {
  return createHash("sha256").update(leaf).digest("hex");
}

/**
 * Verifies the client's X.509-SVID on every `secureConnection` of `server` against the bundles that
 * `bundles()` returns at that moment, and stores the identity on the socket for connectionIdentity,
 * which keeps it true for the connection's life (see ConnectionIdentity).
 *
 * A resumed TLS session does not carry the peer's intermediates, only its leaf (which the client
 * proved it holds in the original handshake). The chain presented in full handshakes is remembered
 * by leaf, so a resumed connection is verified against the current bundles exactly like a new one.
 */
export function attachConnectionIdentity(
  server: tls.Server,
  bundles: () => TrustBundleSet,
  options: AttachConnectionIdentityOptions = {},
): ConnectionIdentityTracker {
  const chainsByLeaf = new LruCache<readonly Buffer[]>(options.rememberedChains ?? 1024);
  let verificationsStarted = 0;
  let reverifications = 0;
  const source: ConnectionIdentitySource = {
    verifier: options.verifier ?? defaultX509SvidVerifier,
    bundles,
    now: options.now ?? Date.now,
    onReverify: () => {
      reverifications++;
    },
  };

  const presentedChain = (socket: tls.TLSSocket): readonly Buffer[] | Error => {
    let chain: readonly Buffer[];
    try {
      chain = peerCertificateChain(socket);
    } catch (error) {
      return svidRejected("malformed_certificate", "the presented certificates could not be read", { cause: error });
    }
    const leaf = chain[0];
    if (leaf !== undefined) {
      const key = leafDigest(leaf);
      if (!socket.isSessionReused()) {
        if (chain.length > 1) chainsByLeaf.set(key, chain);
      } else if (chain.length === 1) {
        chain = chainsByLeaf.get(key) ?? chain;
      }
    }
    return chain;
  };

  const onSecureConnection = (socket: tls.TLSSocket): void => {
    verificationsStarted++;
    const identity = new ConnectionIdentity(presentedChain(socket), source);
    Object.defineProperty(socket, identityKey, { value: identity, enumerable: false });
  };
  server.on("secureConnection", onSecureConnection);

  return {
    get verificationsStarted() {
      return verificationsStarted;
    },
    get reverifications() {
      return reverifications;
    },
    detach() {
      server.off("secureConnection", onSecureConnection);
    },
  };
}

/**
 * The verified identity of a TLS connection for a request arriving now: verified once per
 * connection, again only after the bundles changed, and refused (rule `expired`) once the verified
 * path has expired. Rejects with the TollgateError of the failed rule, or TG_ERR_UNAUTHENTICATED when
 * the listener does not verify client certificates (attachConnectionIdentity was not called for it).
 */
export function connectionIdentity(socket: tls.TLSSocket): Promise<VerifiedX509Svid> {
  // Read through Reflect so that an HTTP/2 compatibility socket (a proxy of the TLS socket) works too.
  const identity: unknown = Reflect.get(socket, identityKey);
  if (identity instanceof ConnectionIdentity) return identity.current();
  return Promise.reject(
    new TollgateError("TG_ERR_UNAUTHENTICATED", "This connection carries no verified X.509-SVID: its listener does not verify client certificates.", {
      reason: "x509svid.not_verified",
    }),
  );
}
