import { isIP } from "node:net";

/**
 * IP addresses as certificates carry them (the 4 or 16 bytes of an iPAddress SAN) and as people write
 * them. Both directions go through one canonical text form, so `::1` and `0:0:0:0:0:0:0:1` compare equal.
 */

/** The canonical text of an address (IPv6 compressed and lower case); throws for text that is no address. */
export function canonicalIpAddress(text: string): string {
  const version = isIP(text);
  if (version === 4) return text;
  // The WHATWG URL parser writes IPv6 in its canonical compressed form (RFC 5952), embedded IPv4 included.
  if (version === 6) return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  throw new Error(`"${text}" is not an IP address`);
}

export function ipAddressToBytes(text: string): Uint8Array {
  const canonical = canonicalIpAddress(text);
  if (isIP(canonical) === 4) return Uint8Array.from(canonical.split(".").map(Number));
  const [head = "", tail] = canonical.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = new Array<string>(8 - headGroups.length - tailGroups.length).fill("0");
  const groups = tail === undefined ? headGroups : [...headGroups, ...zeros, ...tailGroups];
  const bytes = new Uint8Array(16);
  groups.forEach((group, index) => {
    const value = Number.parseInt(group, 16);
    bytes[index * 2] = value >> 8;
    bytes[index * 2 + 1] = value & 0xff;
  });
  return bytes;
}

/** The canonical text of a 4- or 16-byte address; undefined for any other length (a malformed SAN). */
export function ipAddressFromBytes(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return Array.from(bytes).join(".");
  if (bytes.length !== 16) return undefined;
  const groups: string[] = [];
  for (let index = 0; index < 16; index += 2) groups.push((((bytes[index] ?? 0) << 8) | (bytes[index + 1] ?? 0)).toString(16));
  return canonicalIpAddress(groups.join(":"));
}
