import { TollgateError } from "../../errors/tollgate-error.ts";
import { type ClientMessage, metaOf } from "./json-rpc.ts";

/**
 * The two generations of MCP's Streamable HTTP transport:
 *  - legacy (2025-03-26 to 2025-11-25): an `initialize` handshake, sessions (Mcp-Session-Id), a GET
 *    stream, DELETE, resumable streams (Last-Event-ID);
 *  - modern (2026-07-28): stateless requests that carry their version in `_meta`, the Mcp-Method and
 *    Mcp-Name headers checked against the body, no sessions, no GET, no resumption.
 */
export type Era = "legacy" | "modern";

export const modernProtocolVersions = ["2026-07-28"] as const;
export const legacyProtocolVersions = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"] as const;
export const supportedProtocolVersions: readonly string[] = [...modernProtocolVersions, ...legacyProtocolVersions];

/** Where a request's version is carried in the 2026-07-28 revision. */
export const protocolVersionMetaKey = "io.modelcontextprotocol/protocolVersion";

const modern = new Set<string>(modernProtocolVersions);
const legacy = new Set<string>(legacyProtocolVersions);

/**
 * The era of a request, from its MCP-Protocol-Version header and, for a POST, the version its body's
 * `_meta` names. No header is legacy: `initialize` has none, and 2025-03-26 clients never sent it. A
 * version the gateway does not know is refused: it could not check what that revision requires.
 */
export function eraOf(header: string | undefined, message?: ClientMessage): Era {
  if (header !== undefined) {
    if (modern.has(header)) return "modern";
    if (legacy.has(header)) return "legacy";
    throw new TollgateError(
      "TG_ERR_MCP_UNSUPPORTED_VERSION",
      `MCP protocol version "${header}" is not supported by this gateway (supported: ${supportedProtocolVersions.join(", ")}).`,
      { reason: "mcp.unsupported_version" },
    );
  }
  // A body that declares the 2026-07-28 revision without the header it requires is still judged by
  // that revision's rules (and so refused for the missing header), never waved through as legacy.
  const declared = message !== undefined && message.kind !== "response" ? metaOf(message.params)?.[protocolVersionMetaKey] : undefined;
  return typeof declared === "string" && modern.has(declared) ? "modern" : "legacy";
}
