/**
 * SPIFFE IDs (SPIFFE-ID.md §2): parsing with every rule of the standard, and the patterns operators
 * write to name groups of IDs in budgets and configuration.
 *
 * Parsing is strict and does not normalise: an ID that is valid in only one spelling has only one
 * spelling, so two strings that compare unequal are never the same identity. That is why an upper-case
 * scheme (`SPIFFE://`) is refused rather than lower-cased, although RFC 3986 calls it case-insensitive.
 */

export interface SpiffeId {
  /** The ID exactly as written, e.g. `spiffe://ai.company.org/agent/customer-support/v2`. */
  readonly uri: string;
  /** e.g. `ai.company.org` */
  readonly trustDomain: string;
  /** `""` for the trust domain itself, otherwise `/` followed by the segments, e.g. `/agent/customer-support/v2`. */
  readonly path: string;
  /** e.g. `["agent", "customer-support", "v2"]`; empty for the trust domain itself. */
  readonly segments: readonly string[];
}

/** The rule of SPIFFE-ID.md that a text broke. */
export type SpiffeIdRule =
  | "not_text"
  | "too_long"
  | "scheme"
  | "trust_domain_empty"
  | "trust_domain_too_long"
  | "trust_domain_case"
  | "trust_domain_character"
  | "userinfo"
  | "port"
  | "query"
  | "fragment"
  | "percent_encoding"
  | "empty_segment"
  | "dot_segment"
  | "trailing_slash"
  | "path_character"
  | "pattern";

/** The section of SPIFFE-ID.md each rule comes from, so messages can point at the text. */
const ruleSection: Record<SpiffeIdRule, string> = {
  not_text: "§2",
  too_long: "§2.3",
  scheme: "§2",
  trust_domain_empty: "§2.1",
  trust_domain_too_long: "§2.3",
  trust_domain_case: "§2.1",
  trust_domain_character: "§2.1",
  userinfo: "§2.1",
  port: "§2.1",
  query: "§2",
  fragment: "§2",
  percent_encoding: "§2.1, §2.2",
  empty_segment: "§2.2",
  dot_segment: "§2.2",
  trailing_slash: "§2.2",
  path_character: "§2.2",
  pattern: "pattern syntax",
};

export class SpiffeIdError extends Error {
  readonly rule: SpiffeIdRule;
  /** Where the rule is written, e.g. `SPIFFE-ID §2.2`. */
  readonly section: string;

  constructor(rule: SpiffeIdRule, message: string) {
    super(message);
    this.name = "SpiffeIdError";
    this.rule = rule;
    this.section = rule === "pattern" ? "SPIFFE ID pattern syntax" : `SPIFFE-ID ${ruleSection[rule]}`;
  }
}

const maxIdBytes = 2048;
const maxTrustDomainBytes = 255;
const scheme = "spiffe://";
const trustDomainCharacter = /^[a-z0-9._-]$/;
const pathSegmentShape = /^[A-Za-z0-9._-]+$/;

/** Shows a character in a message so that a space or a control character is still visible. */
function showCharacter(character: string): string {
  return /^[\x21-\x7e]$/.test(character) ? `"${character}"` : `U+${character.codePointAt(0)?.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Shortens what is quoted back in a message: an attacker-sized ID must not make an attacker-sized log line. */
function quote(text: string): string {
  const shown = text.length > 120 ? `${text.slice(0, 120)}…` : text;
  return JSON.stringify(shown);
}

/**
 * Checks a trust domain name on its own (SPIFFE-ID.md §2.1), e.g. a key of the bundle configuration,
 * and returns it unchanged.
 */
export function parseTrustDomain(name: string): string {
  if (name.length === 0) throw new SpiffeIdError("trust_domain_empty", "The trust domain name is empty.");
  if (Buffer.byteLength(name) > maxTrustDomainBytes) {
    throw new SpiffeIdError(
      "trust_domain_too_long",
      `The trust domain name is ${Buffer.byteLength(name)} bytes long; at most ${maxTrustDomainBytes} are allowed.`,
    );
  }
  for (const character of name) {
    if (trustDomainCharacter.test(character)) continue;
    if (/^[A-Z]$/.test(character)) {
      throw new SpiffeIdError("trust_domain_case", `The trust domain ${quote(name)} must be written in lower case.`);
    }
    if (character === "%") {
      throw new SpiffeIdError("percent_encoding", `The trust domain ${quote(name)} must not contain percent-encoding.`);
    }
    if (character === "@") {
      throw new SpiffeIdError("userinfo", `The trust domain ${quote(name)} must not contain userinfo ("user@").`);
    }
    if (character === ":") {
      throw new SpiffeIdError("port", `The trust domain ${quote(name)} must not contain a port.`);
    }
    throw new SpiffeIdError(
      "trust_domain_character",
      `The trust domain ${quote(name)} contains ${showCharacter(character)}; only a-z, 0-9, ".", "-" and "_" are allowed.`,
    );
  }
  return name;
}

/**
 * Parses a SPIFFE ID, enforcing every rule of SPIFFE-ID.md: the `spiffe` scheme, a non-empty
 * lower-case trust domain of [a-z0-9._-] (at most 255 bytes), no userinfo, port, query or fragment,
 * no percent-encoding, path segments of [a-zA-Z0-9._-] that are not empty, `.` or `..`, no trailing
 * slash, and at most 2048 bytes in all. Throws a SpiffeIdError naming the rule that was broken.
 */
export function parseSpiffeId(text: string): SpiffeId {
  if (typeof text !== "string") throw new SpiffeIdError("not_text", "A SPIFFE ID must be a string.");
  const bytes = Buffer.byteLength(text);
  if (bytes > maxIdBytes) {
    throw new SpiffeIdError("too_long", `The SPIFFE ID is ${bytes} bytes long; at most ${maxIdBytes} are allowed.`);
  }
  if (!text.startsWith(scheme)) {
    const shown = quote(text);
    const message = /^spiffe:\/\//i.test(text)
      ? `The SPIFFE ID ${shown} must start with "spiffe://" written in lower case.`
      : `${shown} is not a SPIFFE ID: it must start with "spiffe://".`;
    throw new SpiffeIdError("scheme", message);
  }
  const rest = text.slice(scheme.length);
  // The query and fragment are looked for first: "?" or "#" would otherwise be reported as a bad
  // character of the trust domain or path, which hides what is really wrong.
  if (rest.includes("?")) throw new SpiffeIdError("query", `The SPIFFE ID ${quote(text)} must not have a query ("?...").`);
  if (rest.includes("#")) throw new SpiffeIdError("fragment", `The SPIFFE ID ${quote(text)} must not have a fragment ("#...").`);
  if (rest.includes("%")) {
    throw new SpiffeIdError("percent_encoding", `The SPIFFE ID ${quote(text)} must not contain percent-encoded characters.`);
  }
  const slash = rest.indexOf("/");
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? "" : rest.slice(slash);
  if (authority.includes("@")) {
    throw new SpiffeIdError("userinfo", `The SPIFFE ID ${quote(text)} must not contain userinfo ("user@").`);
  }
  if (authority.includes(":")) throw new SpiffeIdError("port", `The SPIFFE ID ${quote(text)} must not contain a port.`);
  if (authority.length === 0) {
    throw new SpiffeIdError("trust_domain_empty", `The SPIFFE ID ${quote(text)} has no trust domain.`);
  }
  const trustDomain = parseTrustDomain(authority);
  const segments = path === "" ? [] : parsePath(text, path);
  return Object.freeze({ uri: text, trustDomain, path, segments: Object.freeze(segments) });
}

function parsePath(text: string, path: string): string[] {
  if (path === "/") {
    throw new SpiffeIdError("trailing_slash", `The SPIFFE ID ${quote(text)} must not end with "/": write it without the slash.`);
  }
  const segments = path.slice(1).split("/");
  segments.forEach((segment, index) => {
    if (segment === "") {
      if (index === segments.length - 1) {
        throw new SpiffeIdError("trailing_slash", `The SPIFFE ID ${quote(text)} must not end with "/".`);
      }
      throw new SpiffeIdError("empty_segment", `The SPIFFE ID ${quote(text)} has an empty path segment ("//").`);
    }
    if (segment === "." || segment === "..") {
      throw new SpiffeIdError("dot_segment", `The SPIFFE ID ${quote(text)} has a "${segment}" path segment.`);
    }
    if (!pathSegmentShape.test(segment)) {
      const bad = [...segment].find((character) => !/^[A-Za-z0-9._-]$/.test(character)) ?? "?";
      throw new SpiffeIdError(
        "path_character",
        `The SPIFFE ID ${quote(text)} contains ${showCharacter(bad)} in its path; only a-z, A-Z, 0-9, ".", "-" and "_" are allowed.`,
      );
    }
  });
  return segments;
}

/**
 * True for the ID of a trust domain itself (`spiffe://example.org`), which names a signing authority,
 * never a workload: X509-SVID.md §3.1 and §5.2 require a leaf SVID's ID to have a path.
 */
export function isRootPath(id: SpiffeId): boolean {
  return id.segments.length === 0;
}

/** The same as parseSpiffeId, but answers undefined instead of throwing. */
export function tryParseSpiffeId(text: string): SpiffeId | undefined {
  try {
    return parseSpiffeId(text);
  } catch {
    return undefined;
  }
}

/*
 * SPIFFE ID patterns, as operators write them in configuration:
 *
 *   spiffe://example.org/agent/support     exactly this ID
 *   spiffe://example.org/agent/*           exactly one more segment below /agent:
 *                                          matches /agent/support, not /agent nor /agent/support/v2
 *   spiffe://example.org/agent/**          one or more segments below /agent:
 *                                          matches /agent/support and /agent/support/v2, not /agent
 *   spiffe://example.org/**                every workload of the trust domain example.org
 *
 * A wildcard is a whole segment and only the last one; there is no wildcard inside a segment (`a*`)
 * or for the trust domain: federated trust domains are always named, so a pattern can never reach
 * into a trust domain the operator did not write down. Matching is exact and case-sensitive.
 */
export interface SpiffeIdPattern {
  /** The pattern as written. */
  readonly text: string;
  readonly trustDomain: string;
  /** True when `id` (text or parsed) matches. Text that is not a valid SPIFFE ID never matches. */
  matches(id: string | SpiffeId): boolean;
}

/** Parses a pattern once, for code that matches many IDs against it. Throws a SpiffeIdError (rule `pattern` or an ID rule). */
export function compileSpiffeIdPattern(pattern: string): SpiffeIdPattern {
  const lastSlash = pattern.lastIndexOf("/");
  const last = pattern.slice(lastSlash + 1);
  const wildcard = last === "*" || last === "**" ? last : undefined;
  const base = wildcard === undefined ? pattern : pattern.slice(0, lastSlash);
  if (wildcard !== undefined && !base.startsWith(scheme)) {
    throw new SpiffeIdError("pattern", `The pattern ${quote(pattern)} must start with "spiffe://<trust domain>".`);
  }
  if (base.includes("*")) {
    throw new SpiffeIdError(
      "pattern",
      `The pattern ${quote(pattern)} may only use "*" or "**" as its whole last segment, e.g. spiffe://example.org/agent/*.`,
    );
  }
  const prefix = parseSpiffeId(base);
  const prefixLength = prefix.segments.length;
  const segmentsMatch = (id: SpiffeId): boolean => {
    if (id.trustDomain !== prefix.trustDomain) return false;
    for (let index = 0; index < prefixLength; index++) {
      if (id.segments[index] !== prefix.segments[index]) return false;
    }
    const extra = id.segments.length - prefixLength;
    if (wildcard === "*") return extra === 1;
    if (wildcard === "**") return extra >= 1;
    return extra === 0;
  };
  return Object.freeze({
    text: pattern,
    trustDomain: prefix.trustDomain,
    matches(id: string | SpiffeId): boolean {
      const parsed = typeof id === "string" ? tryParseSpiffeId(id) : id;
      return parsed !== undefined && segmentsMatch(parsed);
    },
  });
}

/**
 * True when `id` matches the operator-written `pattern` (syntax above). A pattern that is not valid
 * throws a SpiffeIdError; configuration should compile its patterns at load so that never happens
 * while serving. For many matches against one pattern, compile it once with compileSpiffeIdPattern.
 */
export function spiffeIdMatches(pattern: string, id: string | SpiffeId): boolean {
  return compileSpiffeIdPattern(pattern).matches(id);
}
