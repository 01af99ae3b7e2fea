/**
 * Removes what must never reach a caller from an upstream's error text: the gateway's provider keys
 * (whole, or in the masked form providers echo back, such as "sk-proj-****abcd"), and internal hosts.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join("[redacted]");
  }
  // Key-shaped tokens, masked or not: OpenAI (sk-, sk-proj-), Anthropic (sk-ant-), Azure-style hex keys.
  out = out.replace(/\b(?:sk|rk|pk)-[A-Za-z0-9_*.-]{6,}/g, "[redacted]");
  out = out.replace(/\b[a-f0-9]{32}\b/g, "[redacted]");
  return out;
}
