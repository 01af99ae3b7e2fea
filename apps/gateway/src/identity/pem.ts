/**
 * PEM, the text form of certificates and keys (RFC 7468): decoding every block of a file (a chain, a
 * bundle of CA certificates) and encoding DER back.
 */

export interface PemBlock {
  /** The label of the block, e.g. `CERTIFICATE` or `PRIVATE KEY`. */
  readonly label: string;
  readonly der: Buffer;
}

const blockPattern = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const base64Body = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes every PEM block in `text`, in order. Text between blocks (as openssl writes "subject=...")
 * is ignored, but a block whose END label does not match its BEGIN, or whose body is not base64, is
 * an error: a truncated file must not load as a shorter chain.
 */
export function decodePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(blockPattern)) {
    const [, begin = "", body = "", end = ""] = match;
    if (begin !== end) throw new Error(`PEM block "${begin}" ends with "${end}"`);
    const compact = body.replace(/\s+/g, "");
    // RFC 7468 allows headers only in the legacy encrypted-key format, which Tollgate does not read.
    if (compact.includes(":")) throw new Error(`PEM block "${begin}" has headers; encrypted keys are not supported`);
    if (compact.length === 0 || compact.length % 4 !== 0 || !base64Body.test(compact)) {
      throw new Error(`PEM block "${begin}" is not valid base64`);
    }
    blocks.push({ label: begin, der: Buffer.from(compact, "base64") });
  }
  const begins = text.match(/-----BEGIN /g)?.length ?? 0;
  if (begins !== blocks.length) throw new Error("a PEM block is not terminated (the file may be truncated)");
  return blocks;
}

/** Encodes DER as one PEM block with 64-character lines. */
export function encodePem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString("base64");
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The DER of every `CERTIFICATE` block in `text`, in order; other blocks are refused. */
export function decodePemCertificates(text: string): Buffer[] {
  return decodePemBlocks(text).map((block, index) => {
    if (block.label !== "CERTIFICATE") {
      throw new Error(`block ${index + 1} is "${block.label}", not a CERTIFICATE`);
    }
    return block.der;
  });
}
