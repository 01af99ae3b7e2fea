# Grants: which agents may do what, as data (`data.tollgate.grants` in data.json).
#
# A grant applies to a request when every one of these holds:
#   agents   one pattern matches input.source (see spiffe_id_patterns.rego: exact, ".../*", ".../**")
#   targets  one pattern matches input.target (same patterns)
#   kind     equals input.resource.kind, or is "*"
#   actions  one entry equals input.resource.action, or is "*"
#   names    one pattern matches input.resource.name: exact, a glob ("gpt-4o*", "claude-?-*",
#            "{gpt-4o,gpt-4.1}"), or "*" for any. A request whose resource.name is "" involves no
#            named resource (GET /v1/models itself, /v1/files, /v1/batches ...), so `names` is not
#            consulted for it: the action alone decides. `names` may be left out for grants that
#            only cover such account-level actions.
# A grant with a missing or mistyped field applies to nothing (grant_checks.rego reports it).
package tollgate.authz

import data.tollgate.spiffe_id_patterns

# Indices rather than the grants themselves: a set of whole grant objects would make the wasm engine
# hash and compare every field of every applying grant on every request.
allowing_grant_indices contains i if {
	some i, grant in data.tollgate.grants
	grant_applies(grant)
}

# Cheapest tests first: most grants fail on kind or action before any pattern is matched.
grant_applies(grant) if {
	kind_matches(grant.kind, input.resource.kind)
	some action in grant.actions
	action_matches(action, input.resource.action)
	some agent in grant.agents
	spiffe_id_patterns.matches(agent, input.source)
	some target in grant.targets
	spiffe_id_patterns.matches(target, input.target)
	name_matches(grant, input.resource.name)
}

grant_name(grant) := grant.name if {
	is_string(grant.name)
} else := "(unnamed)"

kind_matches("*", _) := true

kind_matches(kind, kind) := true

action_matches("*", _) := true

action_matches(action, action) := true

name_matches(_, "") := true

name_matches(grant, name) if {
	name != ""
	some pattern in grant.names
	name_pattern_matches(pattern, name)
}

name_pattern_matches(name, name) := true

name_pattern_matches("*", _) := true

# No delimiters (null): "*" spans dots and slashes too, so "gpt-4*" matches "gpt-4.1-mini" and
# "accounts/*" matches a nested name. An invalid glob matches nothing (the built-in is undefined).
# glob.match compiles its pattern on every call in the wasm engine, so plain names never reach it.
name_pattern_matches(pattern, name) if {
	pattern != name
	pattern != "*"
	is_glob(pattern)
	glob.match(pattern, null, name)
}

is_glob(pattern) if {
	some character in ["*", "?", "[", "{"]
	contains(pattern, character)
}
