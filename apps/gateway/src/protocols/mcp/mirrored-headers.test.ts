import { describe, expect, it } from "vitest";
import type { TollgateError } from "../../errors/tollgate-error.ts";
import { parseClientMessage } from "./json-rpc.ts";
import { checkMirroredHeaders, decodeMirroredValue } from "./mirrored-headers.ts";
import { eraOf } from "./protocol-version.ts";

const modernCall = (name: string) =>
  parseClientMessage(
    Buffer.from(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name, arguments: {}, _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } },
      }),
    ),
  );

const base64 = (text: string) => `=?base64?${Buffer.from(text, "utf8").toString("base64")}?=`;

function problem(headers: Record<string, string>, name = "get_weather", era: "legacy" | "modern" = "modern"): string | undefined {
  try {
    checkMirroredHeaders(headers, modernCall(name), era);
    return undefined;
  } catch (error) {
    return (error as TollgateError).code;
  }
}

const good = { "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "get_weather" };

describe("mirrored headers (2026-07-28)", () => {
  it("accepts headers that agree with the body, base64-encoded names included", () => {
    expect(problem(good)).toBeUndefined();
    expect(problem({ ...good, "mcp-name": base64("météo") }, "météo")).toBeUndefined();
    expect(decodeMirroredValue(base64("=?base64?literal?="))).toBe("=?base64?literal?=");
  });

  it("refuses a mismatch, a missing header, or raw characters that needed encoding, with -32020", () => {
    expect(problem({ ...good, "mcp-name": "delete_everything" })).toBe("TG_ERR_MCP_HEADER_MISMATCH");
    expect(problem({ ...good, "mcp-method": "tools/list" })).toBe("TG_ERR_MCP_HEADER_MISMATCH");
    expect(problem({ "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call" })).toBe("TG_ERR_MCP_HEADER_MISMATCH");
    expect(problem({ "mcp-protocol-version": "2026-07-28", "mcp-name": "get_weather" })).toBe("TG_ERR_MCP_HEADER_MISMATCH");
    expect(problem({ ...good, "mcp-protocol-version": "2025-11-25" })).toBe("TG_ERR_MCP_HEADER_MISMATCH");
    expect(problem({ ...good, "mcp-name": "m\u00e9t\u00e9o" }, "météo")).toBe("TG_ERR_MCP_HEADER_MISMATCH");
  });

  it("checks the headers of an earlier revision only when the client sent them", () => {
    expect(problem({}, "get_weather", "legacy")).toBeUndefined();
    expect(problem({ "mcp-name": "other" }, "get_weather", "legacy")).toBe("TG_ERR_MCP_HEADER_MISMATCH");
  });

  it("judges a body that declares 2026-07-28 by that revision even without the header", () => {
    expect(eraOf(undefined, modernCall("x"))).toBe("modern");
    expect(eraOf("2025-06-18")).toBe("legacy");
    expect(() => eraOf("2030-01-01")).toThrow(/not supported/);
  });
});
