import type { JsonRpcId } from "../json-rpc.ts";

/** A map key for a JSON-RPC id or progress token: 1 and "1" are different ids. */
export function idKey(id: JsonRpcId): string {
  return typeof id === "number" ? `n:${id}` : `s:${id}`;
}
