import { describe, expect, it } from "vitest";
import { redactText, redactValue } from "./secret-redaction.ts";

describe("redaction of captured bodies", () => {
  it("replaces credential shapes wherever they appear in text", () => {
    const text = [
      "my key is sk-proj-abcdefghijklmnop1234 and sk-ant-api03-ZZZZZZZZZZZZZZZZ",
      "Authorization: Bearer abc.def.ghi-jkl_mno",
      "jwt eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzcGlmZmU6Ly94In0.c2lnbmF0dXJlc2lnbmF0dXJl",
      "aws AKIAABCDEFGHIJKLMNOP github ghp_abcdefghijklmnopqrstuvwxyz0123",
      "-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----",
    ].join("\n");
    const redacted = redactText(text);
    for (const secret of ["sk-proj-abcdefghijklmnop1234", "sk-ant-api03", "abc.def.ghi", "eyJhbGci", "AKIAABCDEFGHIJKLMNOP", "ghp_abc", "MIIEvQ"]) {
      expect(redacted).not.toContain(secret);
    }
    expect(redacted).toContain("my key is [redacted]");
  });

  it("drops the values of secret fields at any depth and leaves the rest", () => {
    const body = { model: "gpt-4o", api_key: "anything", nested: [{ Authorization: "x", password: "hunter2", content: "hello" }], tools: { token: null } };
    expect(redactValue(body)).toEqual({
      model: "gpt-4o",
      api_key: "[redacted]",
      nested: [{ Authorization: "[redacted]", password: "[redacted]", content: "hello" }],
      tools: { token: null },
    });
  });
});
