/**
 * The rules the gateway and the Rego in policies/ agree on. A bundle built elsewhere must be built
 * with at least the decision entrypoint: `opa build -t wasm -e tollgate/authz/decision`.
 */

/** The decision for one request: `{allow, reasons, obligations}` (see decision.ts). */
export const decisionEntrypoint = "tollgate/authz/decision";

/**
 * Problems found in the operators' data (grant_checks.rego). Optional: when a bundle has it, a
 * bundle with problems is refused, so a typo in data.json cannot silently change who may do what.
 */
export const grantChecksEntrypoint = "tollgate/grant_checks/problems";

/** The Rego package that defines grantChecksEntrypoint. */
export const grantChecksPackage = "tollgate.grant_checks";
