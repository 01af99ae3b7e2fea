import { describe, expect, it } from "vitest";
import { denyDecision, readDecision } from "./decision.ts";

const invalidPrefix = "the policy returned an invalid decision: ";

describe("readDecision", () => {
  it("reads an allow with its reasons and obligations", () => {
    const decision = readDecision([
      { result: { allow: true, reasons: ["allowed by grant a"], obligations: { max_output_tokens: 4096, budgets: ["team"] } } },
    ]);
    expect(decision).toEqual({ allow: true, reasons: ["allowed by grant a"], obligations: { max_output_tokens: 4096, budgets: ["team"] } });
  });

  it("treats missing obligations as none", () => {
    expect(readDecision([{ result: { allow: true, reasons: [] } }])).toEqual({ allow: true, reasons: [], obligations: {} });
  });

  it("reads a deny, drops its obligations, and gives it a reason if it has none", () => {
    expect(readDecision([{ result: { allow: false, reasons: ["no"], obligations: { max_output_tokens: 1 } } }])).toEqual({
      allow: false,
      reasons: ["no"],
      obligations: {},
    });
    expect(readDecision([{ result: { allow: false, reasons: [] } }]).reasons).toEqual([
      "the policy denied this request without giving a reason",
    ]);
  });

  it.each([
    ["not a result set", { allow: true }, "the result set is not an array"],
    ["an undefined decision", [], "the decision is undefined for this input"],
    ["two results", [{ result: {} }, { result: {} }], "the result set has more than one result"],
    ["no result", [{}], "the result set has no result"],
    ["a bare boolean", [{ result: true }], "the decision is not an object"],
    ["allow as a string", [{ result: { allow: "true", reasons: [] } }], "allow must be a boolean"],
    ["allow missing", [{ result: { reasons: [] } }], "allow must be a boolean"],
    ["reasons as a string", [{ result: { allow: true, reasons: "ok" } }], "reasons must be an array of strings"],
    ["reasons with a number", [{ result: { allow: true, reasons: ["ok", 1] } }], "reasons must be an array of strings"],
    ["an unknown field", [{ result: { allow: true, reasons: [], allowed: true } }], 'unknown field "allowed"'],
    ["obligations as an array", [{ result: { allow: true, reasons: [], obligations: [] } }], "obligations must be an object"],
    ["a negative cap", [{ result: { allow: true, reasons: [], obligations: { max_output_tokens: -5 } } }], "obligations.max_output_tokens must be a positive integer"],
    ["a fractional cap", [{ result: { allow: true, reasons: [], obligations: { max_output_tokens: 1.5 } } }], "obligations.max_output_tokens must be a positive integer"],
    ["budgets with an empty name", [{ result: { allow: true, reasons: [], obligations: { budgets: [""] } } }], "obligations.budgets must be an array of budget names"],
    ["an obligation the gateway cannot enforce", [{ result: { allow: true, reasons: [], obligations: { max_cost: 5 } } }], 'obligation "max_cost" is not one this gateway can enforce'],
  ])("denies %s, saying the decision was invalid", (_what, resultSet, problem) => {
    const decision = readDecision(resultSet);
    expect(decision).toEqual({ allow: false, reasons: [invalidPrefix + problem], obligations: {}, fault: "invalid_decision" });
  });
});

describe("denyDecision", () => {
  it("carries one reason and, when given, the fault", () => {
    expect(denyDecision("why")).toEqual({ allow: false, reasons: ["why"], obligations: {} });
    expect(denyDecision("why", "no_bundle")).toEqual({ allow: false, reasons: ["why"], obligations: {}, fault: "no_bundle" });
  });
});
