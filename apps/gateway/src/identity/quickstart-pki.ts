import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { parseCertificateDer, readCertificateFields } from "./certificate-fields.ts";
import { createCa, issueSvid, loadCa, type DevCa } from "./dev-ca.ts";
import { canonicalIpAddress } from "./ip-address.ts";
import { decodePemCertificates } from "./pem.ts";
import { certificateKeyFiles, readIfPresent, writeCertificateAndKey, type CertificateKeyFiles } from "./pem-files.ts";
import { parseSpiffeId, parseTrustDomain } from "./spiffe-id.ts";

/**
 * The PKI of `npm start` on a fresh machine: a development CA under `.data/pki` and SVIDs for the
 * gateway and the demo agents. Run at every start, it issues only what is missing or due, so the
 * agents' files stay put across restarts and nobody has to run a command before trying Tollgate.
 *
 *   ca.pem, ca-key.pem           the CA; ca.pem is also the trust bundle of the trust domain
 *   gateway.pem, gateway-key.pem the gateway's server SVID (with DNS and IP SANs for TLS clients)
 *   NAME.pem, NAME-key.pem       one SVID per identity
 */

export interface QuickstartPkiOptions {
  readonly trustDomain: string;
  readonly gateway: {
    readonly spiffeId: string;
    readonly dnsNames?: readonly string[];
    readonly ipAddresses?: readonly string[];
  };
  /** File name -> SPIFFE ID, e.g. `{ "customer-support": "spiffe://ai.company.org/agent/customer-support" }`. */
  readonly identities: Readonly<Record<string, string>>;
  /** Lifetime of the SVIDs, in milliseconds. */
  readonly ttl: number;
  /** Lifetime of a new CA, in milliseconds. Default 365 days. */
  readonly caTtl?: number;
  /** The time to judge expiry against. Default: now. */
  readonly now?: Date;
}

/** Why a certificate was (re)issued. */
export type IssueReason = "missing" | "unreadable" | "other_ca" | "expiring" | "id_changed" | "names_changed" | "other_trust_domain";

export interface IssuedFile extends CertificateKeyFiles {
  readonly name: string;
  readonly spiffeId: string;
  readonly reason: IssueReason;
  readonly notAfter: Date;
}

export interface QuickstartPkiResult {
  readonly dir: string;
  readonly trustDomain: string;
  /** `ca.pem`: the trust bundle of the trust domain. */
  readonly caFile: string;
  readonly caKeyFile: string;
  /** Set when the CA was created, with the reason. */
  readonly caCreated: IssueReason | undefined;
  /** What was issued in this run; empty when everything was already in place. */
  readonly issued: readonly IssuedFile[];
  readonly gateway: CertificateKeyFiles;
  readonly identities: Readonly<Record<string, CertificateKeyFiles>>;
}

const day = 86_400_000;
const fileNameShape = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const reservedNames = new Set(["ca", "gateway"]);

function checkIdentityName(name: string): void {
  if (!fileNameShape.test(name) || reservedNames.has(name) || name.endsWith("-key")) {
    throw new Error(
      `"${name}" cannot name an identity's files: use letters, digits, ".", "-" and "_" (starting with a letter or digit), ` +
        `not "ca" or "gateway", and not ending in "-key"`,
    );
  }
}

/** True from the moment less than a third of the certificate's lifetime is left. */
function isDue(notBefore: Date, notAfter: Date, now: Date): boolean {
  const lifetime = notAfter.getTime() - notBefore.getTime();
  return now.getTime() >= notAfter.getTime() - lifetime / 3;
}


async function ensureCa(dir: string, options: QuickstartPkiOptions, now: Date): Promise<{ ca: DevCa; created: IssueReason | undefined }> {
  const files = certificateKeyFiles(dir, "ca");
  const [certificatePem, keyPem] = await Promise.all([readIfPresent(files.certificateFile), readIfPresent(files.keyFile)]);
  let reason: IssueReason | undefined = "missing";
  if (certificatePem !== undefined && keyPem !== undefined) {
    let existing: DevCa | undefined;
    try {
      existing = await loadCa(certificatePem, keyPem);
    } catch {
      reason = "unreadable";
    }
    if (existing !== undefined) {
      if (existing.trustDomain !== options.trustDomain) reason = "other_trust_domain";
      else if (isDue(existing.notBefore, existing.notAfter, now)) reason = "expiring";
      else return { ca: existing, created: undefined };
    }
  }
  const ca = await createCa({ trustDomain: options.trustDomain, ttl: options.caTtl ?? 365 * day });
  await writeCertificateAndKey(dir, "ca", ca);
  return { ca, created: reason };
}

interface Wanted {
  readonly spiffeId: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/** Why the SVID in `files` must be issued again, or undefined when it is good as it is. */
async function reasonToIssue(files: CertificateKeyFiles, ca: DevCa, wanted: Wanted, now: Date): Promise<IssueReason | undefined> {
  const [certificatePem, keyPem] = await Promise.all([readIfPresent(files.certificateFile), readIfPresent(files.keyFile)]);
  if (certificatePem === undefined || keyPem === undefined) return "missing";
  try {
    const chain = decodePemCertificates(certificatePem);
    const leafDer = chain[0];
    if (leafDer === undefined) return "unreadable";
    const leaf = new X509Certificate(leafDer);
    if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) return "unreadable";
    const caCertificate = new X509Certificate(ca.certificate);
    if (chain.length !== 1 + ca.presentedChain.length || !leaf.checkIssued(caCertificate) || !leaf.verify(caCertificate.publicKey)) {
      return "other_ca";
    }
    const fields = readCertificateFields(parseCertificateDer(leafDer));
    const uris = fields.subjectAltNames?.uris ?? [];
    if (uris.length !== 1 || uris[0] !== wanted.spiffeId) return "id_changed";
    const dnsNames = new Set(fields.subjectAltNames?.dnsNames ?? []);
    const ipAddresses = new Set(fields.subjectAltNames?.ipAddresses ?? []);
    const namesMissing =
      wanted.dnsNames.some((name) => !dnsNames.has(name)) || wanted.ipAddresses.some((ip) => !ipAddresses.has(canonicalIpAddress(ip)));
    if (namesMissing) return "names_changed";
    if (isDue(fields.notBefore, fields.notAfter, now)) return "expiring";
    return undefined;
  } catch {
    return "unreadable";
  }
}

/**
 * Makes sure `dir` holds the development CA and a current SVID for the gateway and every identity,
 * issuing what is missing, signed by another CA, due (less than a third of its lifetime left), or no
 * longer what the options ask for. Idempotent: a second run with the same options issues nothing.
 */
export async function ensureQuickstartPki(dir: string, options: QuickstartPkiOptions): Promise<QuickstartPkiResult> {
  parseTrustDomain(options.trustDomain);
  const now = options.now ?? new Date();
  const wanted = new Map<string, Wanted>();
  const gatewayId = parseSpiffeId(options.gateway.spiffeId);
  wanted.set("gateway", {
    spiffeId: gatewayId.uri,
    dnsNames: options.gateway.dnsNames ?? [],
    ipAddresses: (options.gateway.ipAddresses ?? []).map(canonicalIpAddress),
  });
  for (const [name, spiffeId] of Object.entries(options.identities)) {
    checkIdentityName(name);
    wanted.set(name, { spiffeId: parseSpiffeId(spiffeId).uri, dnsNames: [], ipAddresses: [] });
  }
  for (const [name, { spiffeId }] of wanted) {
    const trustDomain = parseSpiffeId(spiffeId).trustDomain;
    if (trustDomain !== options.trustDomain) {
      throw new Error(`the SPIFFE ID of "${name}" (${spiffeId}) is not in the trust domain of the development CA (${options.trustDomain})`);
    }
  }

  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { ca, created } = await ensureCa(dir, options, now);
  const issued: IssuedFile[] = [];
  const filesByName = new Map<string, CertificateKeyFiles>();
  for (const [name, want] of wanted) {
    const files = certificateKeyFiles(dir, name);
    filesByName.set(name, files);
    const reason = await reasonToIssue(files, ca, want, now);
    if (reason === undefined) continue;
    const svid = await issueSvid(ca, { spiffeId: want.spiffeId, dnsNames: want.dnsNames, ipAddresses: want.ipAddresses, ttl: options.ttl });
    await writeCertificateAndKey(dir, name, svid);
    issued.push({ name, spiffeId: want.spiffeId, reason, notAfter: svid.notAfter, ...files });
  }
  const { gateway, ...identities } = Object.fromEntries(filesByName) as Record<string, CertificateKeyFiles>;
  if (gateway === undefined) throw new Error("unreachable: the gateway has no files");
  return {
    dir,
    trustDomain: options.trustDomain,
    caFile: join(dir, "ca.pem"),
    caKeyFile: join(dir, "ca-key.pem"),
    caCreated: created,
    issued,
    gateway,
    identities,
  };
}
