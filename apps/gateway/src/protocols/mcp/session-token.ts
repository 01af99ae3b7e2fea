import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from "node:crypto";
import { LruCache } from "../../identity/lru-cache.ts";

/** What the session id an agent holds carries, sealed: nothing of it is readable or changeable by the agent. */
export interface SessionClaims {
  /** The MCP server (its configured name) the session belongs to. */
  server: string;
  /** The SPIFFE ID of the caller that opened the session: no other caller can use it. */
  caller: string;
  /** The server's own session id (Mcp-Session-Id), which the agent never sees. */
  upstream: string;
  /** For a stdio server: the replica whose process serves the session. */
  replica?: string;
}

const prefix = "tgs1.";
const ivLength = 12;
const tagLength = 16;
/** An upstream session id longer than this is not sealed (the header would grow past what proxies accept). */
export const maxUpstreamSessionId = 1024;
const maxToken = 4096;
const tokenShape = /^tgs1\.[A-Za-z0-9_-]+$/;

/**
 * Seals and opens the session ids agents hold. The downstream session id is the server's own session
 * id and the caller's SPIFFE ID, encrypted and authenticated (AES-256-GCM) with a key every replica
 * shares, and bound to the server's name: any replica can serve any request of a session without a
 * shared store, an agent cannot read or forge the server's id, and a session opened by one agent (or
 * for one server) is worthless to another. The first key seals; every key opens, so keys can be
 * rotated by adding the new one first and dropping the old one once its sessions have ended.
 */
export class SessionSealer {
  readonly #keys: readonly KeyObject[];
  /**
   * Tokens already opened: an agent sends the same one on every request of its session, so each is
   * decrypted once per replica (a cache of a pure function of the token: nothing to invalidate).
   */
  readonly #opened = new LruCache<SessionClaims>(10_000);

  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0) throw new Error("a session sealer needs at least one key");
    for (const key of keys) if (key.length !== 32) throw new Error("session keys are 32 bytes");
    // Imported once: a raw key given to each cipher would be imported again on every call.
    this.#keys = keys.map((key) => createSecretKey(key));
  }

  /** Random key for a single process, when the configuration names none. */
  static ephemeral(): SessionSealer {
    return new SessionSealer([randomBytes(32)]);
  }

  seal(claims: SessionClaims): string {
    const key = this.#keys[0] as KeyObject;
    const iv = randomBytes(ivLength);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(Buffer.from(claims.server, "utf8"));
    const payload = JSON.stringify(claims.replica === undefined ? [claims.caller, claims.upstream] : [claims.caller, claims.upstream, claims.replica]);
    const sealed = Buffer.concat([cipher.update(payload, "utf8"), cipher.final()]);
    return `${prefix}${Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString("base64url")}`;
  }

  /** The claims of a token sealed for `server` by any of the keys; undefined for anything else. */
  open(token: string, server: string): SessionClaims | undefined {
    if (token.length > maxToken || !tokenShape.test(token)) return undefined;
    const cacheKey = `${server}\u0000${token}`;
    const cached = this.#opened.get(cacheKey);
    if (cached !== undefined) return cached;
    const claims = this.#open(token, server);
    if (claims !== undefined) this.#opened.set(cacheKey, claims);
    return claims;
  }

  #open(token: string, server: string): SessionClaims | undefined {
    const bytes = Buffer.from(token.slice(prefix.length), "base64url");
    if (bytes.length < ivLength + tagLength + 2) return undefined;
    const iv = bytes.subarray(0, ivLength);
    const tag = bytes.subarray(bytes.length - tagLength);
    const sealed = bytes.subarray(ivLength, bytes.length - tagLength);
    for (const key of this.#keys) {
      const payload = tryOpen(key, iv, sealed, tag, server);
      if (payload === undefined) continue;
      return readClaims(payload, server);
    }
    return undefined;
  }
}

function tryOpen(key: KeyObject, iv: Buffer, sealed: Buffer, tag: Buffer, server: string): string | undefined {
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, iv);
    decipher.setAAD(Buffer.from(server, "utf8"));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed), decipher.final()]).toString("utf8");
  } catch {
    return undefined;
  }
}

function readClaims(payload: string, server: string): SessionClaims | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length < 2 || !parsed.every((part) => typeof part === "string")) return undefined;
  const [caller, upstream, replica] = parsed as string[];
  return replica === undefined ? { server, caller: caller as string, upstream: upstream as string } : { server, caller: caller as string, upstream: upstream as string, replica };
}
