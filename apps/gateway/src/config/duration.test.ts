import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "./duration.ts";

describe("parseDuration", () => {
  it.each<[string, number]>([
    ["250ms", 250],
    ["90s", 90_000],
    ["30m", 1_800_000],
    ["24h", 86_400_000],
    ["7d", 604_800_000],
    ["1h30m", 5_400_000],
    ["1d12h", 129_600_000],
    ["0s", 0],
    [" 5m ", 300_000],
  ])("reads %j as %d ms", (text, milliseconds) => {
    expect(parseDuration(text)).toBe(milliseconds);
  });

  it.each(["", "30", "1.5h", "-5m", "5 m", "5w", "m", "30M", "30m1h", "1m1m", "5s 3ms"])("refuses %j with a clear message", (text) => {
    expect(() => parseDuration(text)).toThrow(/is not a duration/);
  });

  it("refuses durations too long to count in milliseconds", () => {
    expect(() => parseDuration("99999999999999999d")).toThrow(/too long/);
  });
});

describe("formatDuration", () => {
  it("writes the largest whole unit", () => {
    expect(formatDuration(86_400_000)).toBe("1d");
    expect(formatDuration(90_000)).toBe("90s");
    expect(formatDuration(5_400_000)).toBe("90m");
    expect(formatDuration(1_500)).toBe("1500ms");
    expect(formatDuration(0)).toBe("0ms");
  });
});
