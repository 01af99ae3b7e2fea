import { describe, expect, it } from "vitest";
import { encodeSseEvent, SseEventTooLargeError, SseParser } from "./sse-parser.ts";

const feed = (parser: SseParser, ...chunks: string[]) => chunks.flatMap((chunk) => parser.push(Buffer.from(chunk, "utf8")));

describe("SseParser", () => {
  it("reads fields and keeps each event's bytes", () => {
    const events = feed(new SseParser(1024), "id: 7\nevent: message\nretry: 1500\ndata: {\"a\":1}\n\n");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ id: "7", event: "message", retry: 1500, data: '{"a":1}' });
    expect(events[0]?.raw.toString()).toBe("id: 7\nevent: message\nretry: 1500\ndata: {\"a\":1}\n\n");
  });

  it("completes events across chunk boundaries, CRLF split between chunks included", () => {
    const parser = new SseParser(1024);
    expect(feed(parser, "data: one\r", "\ndata: two\r\n")).toEqual([]);
    const events = feed(parser, "\r\ndata: three\n\n");
    expect(events.map((e) => e.data)).toEqual(["one\ntwo", "three"]);
    expect(events[0]?.raw.toString()).toBe("data: one\r\ndata: two\r\n\r\n");
  });

  it("accepts lone CR line endings", () => {
    const events = feed(new SseParser(1024), "data: x\r\rdata: y\r\r", "");
    // The last CR may start a CRLF, so the second event waits for one more byte.
    expect(events.map((e) => e.data)).toEqual(["x"]);
  });

  it("passes comments and data-less events with no data", () => {
    const events = feed(new SseParser(1024), ": keepalive\n\nid: 3\ndata: \n\n");
    expect(events[0]).toMatchObject({ data: undefined });
    expect(events[0]?.raw.toString()).toBe(": keepalive\n\n");
    expect(events[1]).toMatchObject({ id: "3", data: "" });
  });

  it("refuses an event larger than its limit instead of buffering it", () => {
    const parser = new SseParser(16);
    expect(() => parser.push(Buffer.from(`data: ${"x".repeat(64)}`))).toThrow(SseEventTooLargeError);
  });

  it("encodes events it can read back", () => {
    const bytes = encodeSseEvent({ id: "1", event: "message", data: 'line one\nline "two"' });
    const [event] = new SseParser(1024).push(bytes);
    expect(event).toMatchObject({ id: "1", event: "message", data: 'line one\nline "two"' });
  });
});
