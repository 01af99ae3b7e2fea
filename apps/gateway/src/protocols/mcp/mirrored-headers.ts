import type { IncomingHttpHeaders } from "node:http";
import { TollgateError } from "../../errors/tollgate-error.ts";
import { type ClientMessage, metaOf } from "./json-rpc.ts";
import { type Era, protocolVersionMetaKey } from "./protocol-version.ts";

/** Methods whose `Mcp-Name` header mirrors `params.name` or `params.uri` (2026-07-28, "Standard Request Headers"). */
const namedBy: Readonly<Record<string, "name" | "uri">> = {
  "tools/call": "name",
  "prompts/get": "name",
  "resources/read": "uri",
};

const base64Sentinel = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;
/** Visible ASCII, space and tab (RFC 9110 field values); anything else must have come base64-encoded. */
const plainHeaderValue = /^[\x20-\x7e\t]*$/;

function mismatch(message: string): TollgateError {
  return new TollgateError("TG_ERR_MCP_HEADER_MISMATCH", `Header mismatch: ${message}`, { reason: "mcp.header_mismatch" });
}

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/** A header value as the body would hold it: the `=?base64?...?=` form decoded as UTF-8. */
export function decodeMirroredValue(value: string): string {
  const encoded = base64Sentinel.exec(value);
  if (encoded !== null) return Buffer.from(encoded[1] ?? "", "base64").toString("utf8");
  if (!plainHeaderValue.test(value)) throw mismatch("a header value holds characters that must be base64-encoded");
  return value;
}

/**
 * Checks the headers that mirror the body (2026-07-28, "Server Validation"): a gateway, a load
 * balancer and the server must never act on different sources of truth, and Tollgate decides on the
 * body, so a request whose headers say something else is refused with 400 and JSON-RPC -32020.
 *
 * Under 2026-07-28, `Mcp-Method` is required on every request, `Mcp-Name` on tools/call,
 * resources/read and prompts/get, and `MCP-Protocol-Version` must equal the version in `_meta`. Under
 * the earlier revisions these headers are optional, but when a client sends them they must still
 * agree with the body.
 */
export function checkMirroredHeaders(headers: IncomingHttpHeaders, message: ClientMessage, era: Era): void {
  if (message.kind === "response") {
    if (era === "modern") throw mismatch("clients of protocol version 2026-07-28 do not send JSON-RPC responses");
    return;
  }
  const required = era === "modern" && message.kind === "request";

  const methodHeader = single(headers, "mcp-method");
  if (methodHeader === undefined) {
    if (required) throw mismatch("the Mcp-Method header is required");
  } else if (methodHeader !== message.method) {
    throw mismatch(`the Mcp-Method header "${printable(methodHeader)}" does not match the body's method "${printable(message.method)}"`);
  }

  const nameField = namedBy[message.method];
  const nameHeader = single(headers, "mcp-name");
  if (nameField !== undefined) {
    const bodyValue = message.params?.[nameField];
    if (nameHeader === undefined) {
      if (required) throw mismatch(`the Mcp-Name header is required for ${message.method}`);
    } else if (typeof bodyValue !== "string" || decodeMirroredValue(nameHeader) !== bodyValue) {
      throw mismatch(`the Mcp-Name header does not match the body's params.${nameField}`);
    }
  } else if (nameHeader !== undefined && era === "modern") {
    throw mismatch(`${message.method} has no name to mirror, but an Mcp-Name header was sent`);
  }

  if (era === "modern") {
    const versionHeader = single(headers, "mcp-protocol-version");
    const bodyVersion = metaOf(message.params)?.[protocolVersionMetaKey];
    if (versionHeader === undefined) throw mismatch("the MCP-Protocol-Version header is required");
    if (message.kind === "request" && bodyVersion !== versionHeader) {
      throw mismatch(`the MCP-Protocol-Version header "${printable(versionHeader)}" does not match params._meta["${protocolVersionMetaKey}"]`);
    }
  }
}

/** Caller-supplied text quoted in an error, kept short and single-line. */
function printable(text: string): string {
  const flat = text.replace(/[^\x20-\x7e]/g, "?");
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}
