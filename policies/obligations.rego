# Obligations: what the gateway must enforce on an allowed request, gathered from the grants that
# allowed it (a grant's "obligations" object in data.json).
#   max_output_tokens  the smallest cap among the allowing grants; the gateway lowers the request's
#                      max_tokens / max_output_tokens to it (and sets it when the request has none).
#   budgets            the union of the budget names the allowing grants list; the budget stage charges
#                      each of them besides the caller's own budgets.
# A key is present only when some allowing grant sets it. The gateway denies a decision whose
# obligations it does not know how to enforce, so add new kinds of obligation here and in the gateway
# together.
package tollgate.authz

obligations["max_output_tokens"] := min(caps) if {
	caps := {cap | some i in allowing_grant_indices; grant := data.tollgate.grants[i]; cap := grant.obligations.max_output_tokens}
	count(caps) > 0
}

obligations["budgets"] := sort(names) if {
	names := {name | some i in allowing_grant_indices; grant := data.tollgate.grants[i]; some name in grant.obligations.budgets}
	count(names) > 0
}
