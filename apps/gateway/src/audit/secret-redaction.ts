/**
 * Redaction of captured prompts and completions: what looks like a credential is replaced before
 * anything is stored. Two nets: field names that hold secrets (api_key, authorization, password, ...)
 * lose their values whatever they look like, and strings anywhere are scanned for credential shapes
 * (provider keys, bearer tokens, JWTs, cloud and Git host tokens, private keys).
 */
const redacted = "[redacted]";

const secretField = /^(?:api[-_]?key|x[-_]api[-_]key|authorization|proxy[-_]authorization|password|passwd|secret|client[-_]secret|access[-_]token|refresh[-_]token|id[-_]token|token|private[-_]key|cookie|set[-_]cookie)$/i;

const credentialShapes = new RegExp(
  [
    // OpenAI, Anthropic and most providers: sk-..., sk-proj-..., sk-ant-..., rk-...
    String.raw`\b(?:sk|rk|pk)-[A-Za-z0-9_-]{12,}`,
    // An Authorization header's value, or a token pasted after "Bearer"/"Basic".
    String.raw`\b(?:[Bb]earer|[Bb]asic)\s+[A-Za-z0-9._~+/=-]{8,}`,
    // JWTs (a JWT-SVID, an OAuth access token): three base64url parts, the first two JSON objects.
    String.raw`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`,
    // AWS access key ids, GitHub and Slack tokens, Google API keys.
    String.raw`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`,
    String.raw`\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}`,
    String.raw`\bxox[abprs]-[A-Za-z0-9-]{10,}`,
    String.raw`\bAIza[0-9A-Za-z_-]{35}`,
    // PEM private keys, whole.
    String.raw`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----`,
  ].join("|"),
  "g",
);

/** A string with every credential-shaped part replaced. */
export function redactText(text: string): string {
  return text.replace(credentialShapes, redacted);
}

/** A copy of a JSON value with secret fields' values and credential-shaped strings replaced. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactText(value);
  if (typeof value !== "object" || value === null) return value;
  // Bodies are parsed JSON, so no cycles; a depth cap still bounds pathological nesting.
  if (depth > 64) return redacted;
  if (Array.isArray(value)) return value.map((element) => redactValue(element, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    copy[key] = secretField.test(key) && field !== null && field !== "" ? redacted : redactValue(field, depth + 1);
  }
  return copy;
}
