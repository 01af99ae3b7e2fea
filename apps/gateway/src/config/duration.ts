const unitMilliseconds: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const durationShape = /^(?:\d+(?:ms|s|m|h|d))+$/;
const durationPart = /(\d+)(ms|s|m|h|d)/g;

/**
 * Parses a duration such as `250ms`, `90s`, `30m`, `24h`, `7d` or a combination written largest unit
 * first without spaces, such as `1h30m`, into milliseconds. A bare number is refused on purpose: in a
 * configuration file `30` could mean seconds or milliseconds, and guessing wrong fails silently.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (!durationShape.test(trimmed)) {
    throw new Error(
      `"${text}" is not a duration: write a whole number followed by a unit (ms, s, m, h or d), such as 90s, 30m, 24h, 7d or 1h30m`,
    );
  }
  let total = 0;
  let previousUnitSize = Number.POSITIVE_INFINITY;
  for (const match of trimmed.matchAll(durationPart)) {
    const amount = Number(match[1]);
    const unitSize = unitMilliseconds[match[2] ?? ""];
    if (unitSize === undefined) throw new Error(`"${text}" has an unknown duration unit`);
    if (unitSize >= previousUnitSize) {
      throw new Error(`"${text}" is not a duration: write each unit once, largest first, such as 1h30m`);
    }
    previousUnitSize = unitSize;
    total += amount * unitSize;
  }
  if (!Number.isSafeInteger(total)) throw new Error(`"${text}" is too long a duration`);
  return total;
}

/** Writes milliseconds back in the largest whole unit, for messages: 86400000 -> "1d", 90000 -> "90s". */
export function formatDuration(milliseconds: number): string {
  for (const unit of ["d", "h", "m", "s"] as const) {
    const size = unitMilliseconds[unit] ?? 1;
    if (milliseconds !== 0 && milliseconds % size === 0) return `${milliseconds / size}${unit}`;
  }
  return `${milliseconds}ms`;
}
