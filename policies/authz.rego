# Tollgate's authorization policy: the entrypoint the gateway evaluates for every request.
#
# The gateway compiles this directory to WebAssembly (`opa build -t wasm -e tollgate/authz/decision`)
# and evaluates `decision` in process. The input is DESIGN.md's "Policy input"; the answer is
#
#     {"allow": bool, "reasons": [string], "obligations": {"max_output_tokens": n, "budgets": [name]}}
#
# Deny by default. Who may do what is data, not Rego: the grants in data.json (`data.tollgate.grants`,
# see grants.rego and README.md). Operators extend the policy in two ways, in new .rego files of this
# package (never by editing these):
#
#   Extra permissions, OR-ed with the grants:
#
#       allow if {
#           input.source == "spiffe://ai.company.org/agent/customer-support/v2"
#           input.resource.kind == "model"
#           input.resource.action == "chat"
#       }
#       # Optional: say why, for the caller and the audit trail.
#       allow_reasons contains "allowed by the support-hours rule" if { ... }
#
#   Vetoes, which override every allow (grants and extra rules alike):
#
#       deny contains "chat is closed between 02:00 and 03:00 UTC for maintenance" if {
#           input.resource.action == "chat"
#           substring(input.now, 11, 2) == "02"
#       }
#
# The wasm target has no time.*, crypto.*, http.send or sprintf built-ins: build strings with
# concat() and read the time from `input.now` (RFC 3339, UTC, e.g. "2026-12-04T19:00:00Z", so
# string comparison orders it). Reasons are shown to the caller: never put another agent's grants or
# anything secret in them.
package tollgate.authz

# Extra allow rules from operators add definitions; with none of them true, grants decide alone.
default allow := false

allow if count(allowing_grant_indices) > 0

allow_reasons contains concat("", ["allowed by grant ", grant_name(grant)]) if {
	some i in allowing_grant_indices
	grant := data.tollgate.grants[i]
}

decision := {"allow": true, "reasons": reasons_for_allow, "obligations": obligations} if {
	allow
	count(deny) == 0
}

# A veto wins over any allow, and its reasons replace the grants' ones.
decision := {"allow": false, "reasons": sort(deny), "obligations": {}} if {
	count(deny) > 0
}

decision := {"allow": false, "reasons": [no_grant_reason], "obligations": {}} if {
	not allow
	count(deny) == 0
}

# Reached only when the input lacks a field the reasons above are built from (the gateway always
# sends them): still an answer, never an undefined decision.
default decision := {
	"allow": false,
	"reasons": ["the policy input is incomplete: source, target and resource.kind, resource.name and resource.action must be strings"],
	"obligations": {},
}

reasons_for_allow := sort(allow_reasons) if {
	count(allow_reasons) > 0
} else := ["allowed by a rule in package tollgate.authz"]

# Names the caller, the action and the resource, so the caller knows what to ask an operator for,
# and nothing about anyone else's grants.
no_grant_reason := concat("", [
	"no grant allows ", input.source,
	" to ", input.resource.action, resource_phrase,
	" on ", input.target,
])

resource_phrase := "" if {
	input.resource.name == ""
} else := concat("", [" ", input.resource.kind, " \"", input.resource.name, "\""]) if {
	is_string(input.resource.name)
}
