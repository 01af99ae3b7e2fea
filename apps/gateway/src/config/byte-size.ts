const units: Record<string, number> = {
  b: 1,
  kb: 1_000,
  mb: 1_000_000,
  gb: 1_000_000_000,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/**
 * Parses a size such as `512`, `64KiB`, `10MiB` or `1GB` into bytes. Binary units (KiB, MiB, GiB) are
 * powers of 1024; decimal ones (KB, MB, GB) powers of 1000, as their names say.
 */
export function parseByteSize(text: string | number): number {
  if (typeof text === "number") {
    if (!Number.isSafeInteger(text) || text < 0) throw new Error(`${text} is not a whole number of bytes`);
    return text;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = match?.[2] === "" ? "b" : match?.[2]?.toLowerCase();
  const factor = unit === undefined ? undefined : units[unit];
  if (match === null || factor === undefined) {
    throw new Error(`"${text}" is not a size; write it like 512KiB, 10MiB or 1GiB`);
  }
  return Math.round(Number(match[1]) * factor);
}
