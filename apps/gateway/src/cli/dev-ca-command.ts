import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { formatDuration, parseDuration } from "../config/duration.ts";
import { createCa, issueSvid, loadCa, type DevCa } from "../identity/dev-ca.ts";
import { certificateKeyFiles, readIfPresent, writeCertificateAndKey } from "../identity/pem-files.ts";
import { isRootPath, parseSpiffeId, parseTrustDomain, SpiffeIdError } from "../identity/spiffe-id.ts";

/**
 * `tollgate dev-ca`: the development CA from the command line, to give an agent an SVID by hand.
 *
 *   tollgate dev-ca init  [--trust-domain TD] [--ca-dir DIR] [--ttl 365d]
 *   tollgate dev-ca issue <spiffe-id> [--ttl 24h] [--out DIR] [--name NAME] [--dns NAME]... [--ip ADDR]... [--ca-dir DIR]
 */

const usage = `Usage:
  tollgate dev-ca init  [--trust-domain ai.company.org] [--ca-dir .data/pki] [--ttl 365d]
  tollgate dev-ca issue <spiffe-id> [--ttl 24h] [--out DIR] [--name NAME] [--dns NAME]... [--ip ADDR]... [--ca-dir .data/pki]

init   creates the development CA (ca.pem, ca-key.pem) unless it exists.
issue  issues an X.509-SVID for <spiffe-id> as NAME.pem and NAME-key.pem (NAME defaults to the
       last segment of the ID), creating the CA first if there is none.`;

export interface CommandIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** Relative paths are resolved against this directory. */
  readonly cwd: string;
}

const processIo: CommandIo = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  cwd: process.cwd(),
};

/** A problem with what the user typed: reported in one line, exit code 2. */
class UsageError extends Error {}

const day = 86_400_000;
const nameShape = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function positiveDuration(text: string | undefined, fallback: number, option: string): number {
  if (text === undefined) return fallback;
  let milliseconds: number;
  try {
    milliseconds = parseDuration(text);
  } catch (error) {
    throw new UsageError(`${option}: ${(error as Error).message}`);
  }
  if (milliseconds <= 0) throw new UsageError(`${option} must be longer than zero`);
  return milliseconds;
}


/** The CA in `caDir`, or undefined when it has none; a CA that cannot be read is an error, never overwritten. */
async function existingCa(caDir: string): Promise<DevCa | undefined> {
  const files = certificateKeyFiles(caDir, "ca");
  const [certificatePem, keyPem] = await Promise.all([readIfPresent(files.certificateFile), readIfPresent(files.keyFile)]);
  if (certificatePem === undefined && keyPem === undefined) return undefined;
  if (certificatePem === undefined || keyPem === undefined) {
    throw new UsageError(`${caDir} holds only one of ca.pem and ca-key.pem; restore the other or remove both to start a new CA`);
  }
  try {
    return await loadCa(certificatePem, keyPem);
  } catch (error) {
    throw new UsageError(`the CA in ${caDir} cannot be used: ${(error as Error).message}`);
  }
}

async function createAndWriteCa(caDir: string, trustDomain: string, ttl: number, io: CommandIo): Promise<DevCa> {
  const ca = await createCa({ trustDomain, ttl });
  const files = await writeCertificateAndKey(caDir, "ca", ca);
  io.stdout(`Created the development CA of trust domain ${trustDomain}, valid until ${ca.notAfter.toISOString()}:`);
  io.stdout(`  ${files.certificateFile}  (the trust bundle: give it to the gateway and to clients)`);
  io.stdout(`  ${files.keyFile}  (the CA key, mode 0600)`);
  return ca;
}

async function init(args: string[], io: CommandIo): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { "trust-domain": { type: "string" }, "ca-dir": { type: "string" }, ttl: { type: "string" } },
  });
  if (positionals.length > 0) throw new UsageError(`dev-ca init takes no arguments (got "${positionals[0]}")`);
  const trustDomain = values["trust-domain"] ?? "ai.company.org";
  try {
    parseTrustDomain(trustDomain);
  } catch (error) {
    throw new UsageError(`--trust-domain: ${(error as Error).message}`);
  }
  const caDir = resolve(io.cwd, values["ca-dir"] ?? ".data/pki");
  const ttl = positiveDuration(values.ttl, 365 * day, "--ttl");
  const ca = await existingCa(caDir);
  if (ca !== undefined) {
    if (ca.trustDomain !== trustDomain) {
      throw new UsageError(`${caDir} already holds the CA of trust domain ${ca.trustDomain}; use another --ca-dir for ${trustDomain}`);
    }
    io.stdout(`The development CA of trust domain ${trustDomain} already exists in ${caDir} (valid until ${ca.notAfter.toISOString()}).`);
    return;
  }
  await createAndWriteCa(caDir, trustDomain, ttl, io);
}

async function issue(args: string[], io: CommandIo): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      ttl: { type: "string" },
      out: { type: "string" },
      name: { type: "string" },
      dns: { type: "string", multiple: true },
      ip: { type: "string", multiple: true },
      "ca-dir": { type: "string" },
    },
  });
  const [idText, ...extra] = positionals;
  if (idText === undefined) throw new UsageError("dev-ca issue needs the SPIFFE ID to issue, e.g. spiffe://ai.company.org/agent/my-agent");
  if (extra.length > 0) throw new UsageError(`dev-ca issue takes one SPIFFE ID (also got "${extra[0]}")`);
  let id: ReturnType<typeof parseSpiffeId>;
  try {
    id = parseSpiffeId(idText);
  } catch (error) {
    throw new UsageError(error instanceof SpiffeIdError ? error.message : String(error));
  }
  if (isRootPath(id)) throw new UsageError(`${id.uri} names a trust domain; an SVID needs a path, e.g. ${id.uri}/agent/my-agent`);
  const name = values.name ?? id.segments.at(-1) ?? "";
  if (!nameShape.test(name) || name === "ca" || name.endsWith("-key")) {
    throw new UsageError(`--name "${name}" cannot name the files: use letters, digits, ".", "-" and "_", not "ca" or a name ending in "-key"`);
  }
  const ttl = positiveDuration(values.ttl, day, "--ttl");
  const caDir = resolve(io.cwd, values["ca-dir"] ?? ".data/pki");
  const outDir = values.out === undefined ? caDir : resolve(io.cwd, values.out);

  const ca = (await existingCa(caDir)) ?? (await createAndWriteCa(caDir, id.trustDomain, 365 * day, io));
  if (ca.trustDomain !== id.trustDomain) {
    throw new UsageError(`the CA in ${caDir} signs trust domain ${ca.trustDomain}, not ${id.trustDomain}; use --ca-dir for another CA`);
  }
  let svid: Awaited<ReturnType<typeof issueSvid>>;
  try {
    svid = await issueSvid(ca, { spiffeId: id.uri, dnsNames: values.dns ?? [], ipAddresses: values.ip ?? [], ttl });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const files = await writeCertificateAndKey(outDir, name, svid);
  const clamped = svid.notAfter.getTime() >= ca.notAfter.getTime() ? " (shortened: the CA expires then)" : "";
  io.stdout(`Issued an X.509-SVID for ${id.uri}, valid for ${formatDuration(ttl)} until ${svid.notAfter.toISOString()}${clamped}:`);
  io.stdout(`  ${files.certificateFile}  (certificate, leaf first)`);
  io.stdout(`  ${files.keyFile}  (private key, PKCS#8, mode 0600)`);
}

/**
 * Runs `tollgate dev-ca <args>` (args start with the subcommand) and returns the exit code: 0 on
 * success, 2 for bad input, 1 when something else failed. Errors are one line, never a stack trace.
 */
export async function runDevCaCommand(args: string[], io: CommandIo = processIo): Promise<number> {
  const [subcommand, ...rest] = args;
  try {
    if (subcommand === "init") await init(rest, io);
    else if (subcommand === "issue") await issue(rest, io);
    else if (subcommand === "help" || subcommand === "--help" || subcommand === "-h") io.stdout(usage);
    else if (subcommand === undefined) {
      io.stderr(usage);
      return 2;
    } else throw new UsageError(`unknown dev-ca command "${subcommand}"; use init or issue (tollgate dev-ca help)`);
    return 0;
  } catch (error) {
    const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
    const isUsage = error instanceof UsageError || (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"));
    let message = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "failed";
    // parseArgs goes on about "--" after its first sentence, which is the part that helps.
    if (!(error instanceof UsageError) && isUsage) message = `${message.split(". ")[0] ?? message} (see tollgate dev-ca help)`;
    io.stderr(`tollgate dev-ca: ${message}`);
    return isUsage ? 2 : 1;
  }
}
