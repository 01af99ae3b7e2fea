import { describe, expect, it } from "vitest";
import { decodePemBlocks, decodePemCertificates, encodePem } from "./pem.ts";

describe("PEM", () => {
  const der = Buffer.from(Array.from({ length: 100 }, (_, index) => index));

  it("encodes with 64-character lines and decodes back", () => {
    const pem = encodePem("CERTIFICATE", der);
    expect(pem.split("\n").every((line) => line.length <= 64)).toBe(true);
    expect(decodePemBlocks(pem)).toEqual([{ label: "CERTIFICATE", der }]);
  });

  it("reads every block in order and ignores text between them", () => {
    const text = `subject=CN=a\n${encodePem("CERTIFICATE", der)}issuer=CN=b\r\n${encodePem("PRIVATE KEY", Buffer.from("key"))}`;
    expect(decodePemBlocks(text).map((block) => block.label)).toEqual(["CERTIFICATE", "PRIVATE KEY"]);
  });

  it.each([
    ["mismatched labels", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n", /ends with "PRIVATE KEY"/],
    ["a truncated block", `${encodePem("CERTIFICATE", der)}-----BEGIN CERTIFICATE-----\nAAAA\n`, /not terminated/],
    ["a body that is not base64", "-----BEGIN CERTIFICATE-----\nA*AA\n-----END CERTIFICATE-----\n", /not valid base64/],
    ["an empty body", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", /not valid base64/],
    ["an encrypted key", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END RSA PRIVATE KEY-----\n", /headers/],
  ])("refuses %s", (_name, text, problem) => {
    expect(() => decodePemBlocks(text)).toThrow(problem);
  });

  it("accepts only certificates where certificates are expected", () => {
    expect(decodePemCertificates(encodePem("CERTIFICATE", der) + encodePem("CERTIFICATE", der))).toEqual([der, der]);
    expect(decodePemCertificates("")).toEqual([]);
    expect(() => decodePemCertificates(encodePem("CERTIFICATE", der) + encodePem("PRIVATE KEY", der))).toThrow(
      'block 2 is "PRIVATE KEY", not a CERTIFICATE',
    );
  });
});
