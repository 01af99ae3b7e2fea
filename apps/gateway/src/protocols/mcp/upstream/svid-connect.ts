import type { PeerCertificate } from "node:tls";
import type { buildConnector } from "undici";
import { encodePem } from "../../../identity/pem.ts";
import { parseSpiffeId } from "../../../identity/spiffe-id.ts";
import type { SvidFileMaterial } from "../../../identity/svid-files.ts";

/**
 * TLS options to reach an MCP server with the gateway's own X.509-SVID, the SPIFFE way: the gateway
 * presents its SVID as client certificate, and accepts the server only when its certificate chains to
 * an authority of the target's own trust domain (never another trust domain's, which one merged CA
 * list would allow) and carries exactly one URI SAN, the target SPIFFE ID itself. The host name is
 * not what is checked: in SPIFFE the identity is the SPIFFE ID, wherever the server runs.
 */
export function svidConnectOptions(material: SvidFileMaterial, target: string): buildConnector.BuildOptions | undefined {
  const trustDomain = parseSpiffeId(target).trustDomain;
  const authorities = material.bundles.x509Authorities(trustDomain).map((authority) => encodePem("CERTIFICATE", authority.der));
  // Without the trust domain's authorities nothing can be verified, and the system's CAs must not stand in.
  if (authorities.length === 0) return undefined;
  return {
    cert: material.certificateChainPem,
    key: material.keyPem,
    ca: authorities,
    rejectUnauthorized: true,
    checkServerIdentity: (_host: string, certificate: PeerCertificate) => checkTargetIdentity(certificate, target),
  };
}

/** The server's certificate must name exactly the target SPIFFE ID. */
export function checkTargetIdentity(certificate: Pick<PeerCertificate, "subjectaltname">, target: string): Error | undefined {
  const uris = (certificate.subjectaltname ?? "")
    .split(/,\s*/)
    .filter((entry) => entry.startsWith("URI:"))
    .map((entry) => entry.slice("URI:".length).replace(/^"|"$/g, ""));
  if (uris.length === 1 && uris[0] === target) return undefined;
  const presented = uris.length === 0 ? "no SPIFFE ID" : uris.join(", ");
  return Object.assign(new Error(`the MCP server presented ${presented}, not its configured target ${target}`), { code: targetMismatchCode });
}

/** The code of the error above, which names a TLS failure so that every layer treats it as one. */
export const targetMismatchCode = "ERR_TLS_SPIFFE_ID_MISMATCH";

/** Whether a connection failed because the server is not its target (the error, or one of its causes). */
export function isTargetMismatch(error: unknown): boolean {
  for (let current = error, depth = 0; current !== null && typeof current === "object" && depth < 5; depth++) {
    if ((current as { code?: unknown }).code === targetMismatchCode) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
