# Checks of the operators' data (data.json): a misspelt field would otherwise make a grant apply to
# nothing, silently. `problems` lists what is wrong, one message per problem, naming the grant and
# the field. `opa test` fails on any (grant_checks_test.rego), and the gateway compiles this rule as a
# second entrypoint and refuses to load a bundle that has problems: a bad edit keeps the last good
# bundle and reports why, instead of changing who may do what in ways nobody meant.
package tollgate.grant_checks

grant_fields := {"name", "description", "agents", "targets", "kind", "names", "actions", "obligations"}

resource_kinds := {"model", "tool", "resource", "prompt", "collection", "admin", "*"}

obligation_fields := {"max_output_tokens", "budgets"}

block_fields := {"agents", "reason"}

problems contains "data.tollgate.grants must be an array of grants" if {
	not is_array(data.tollgate.grants)
}

problems contains concat("", [grant_label(i, grant), " must be an object"]) if {
	some i, grant in data.tollgate.grants
	not is_object(grant)
}

problems contains concat("", [grant_label(i, grant), " has an unknown field \"", field, "\""]) if {
	some i, grant in data.tollgate.grants
	some field, _ in grant
	not field in grant_fields
}

problems contains concat("", [grant_label(i, grant), " needs a name (a non-empty string)"]) if {
	some i, grant in data.tollgate.grants
	is_object(grant)
	not non_empty_string(object.get(grant, "name", null))
}

problems contains concat("", ["more than one grant is named \"", name, "\""]) if {
	some grant in data.tollgate.grants
	name := grant.name
	count([other | some other in data.tollgate.grants; other.name == name]) > 1
}

problems contains concat("", [grant_label(i, grant), ": ", field, " must be a non-empty array of strings"]) if {
	some i, grant in data.tollgate.grants
	is_object(grant)
	some field in ["agents", "targets", "actions"]
	not non_empty_string_array(object.get(grant, field, null))
}

problems contains concat("", [grant_label(i, grant), ": names must be an array of strings"]) if {
	some i, grant in data.tollgate.grants
	is_object(grant)
	"names" in object.keys(grant)
	not string_array(grant.names)
}

problems contains concat("", [grant_label(i, grant), ": kind must be one of model, tool, resource, prompt, collection, admin or *"]) if {
	some i, grant in data.tollgate.grants
	is_object(grant)
	not object.get(grant, "kind", null) in resource_kinds
}

problems contains concat("", [grant_label(i, grant), ": ", field, "[", format_int(j, 10), "] ", pattern_problem(pattern)]) if {
	some i, grant in data.tollgate.grants
	some field in ["agents", "targets"]
	some j, pattern in grant[field]
}

problems contains concat("", [grant_label(i, grant), ": obligations must be an object"]) if {
	some i, grant in data.tollgate.grants
	"obligations" in object.keys(grant)
	not is_object(grant.obligations)
}

problems contains concat("", [grant_label(i, grant), ": obligations has an unknown field \"", field, "\" (the gateway could not enforce it)"]) if {
	some i, grant in data.tollgate.grants
	is_object(grant.obligations)
	some field, _ in grant.obligations
	not field in obligation_fields
}

problems contains concat("", [grant_label(i, grant), ": obligations.max_output_tokens must be a positive integer"]) if {
	some i, grant in data.tollgate.grants
	"max_output_tokens" in object.keys(grant.obligations)
	not positive_integer(grant.obligations.max_output_tokens)
}

problems contains concat("", [grant_label(i, grant), ": obligations.budgets must be an array of non-empty strings"]) if {
	some i, grant in data.tollgate.grants
	"budgets" in object.keys(grant.obligations)
	not non_empty_strings(grant.obligations.budgets)
}

problems contains "data.tollgate.blocked must be an array" if {
	blocked := data.tollgate.blocked
	not is_array(blocked)
}

problems contains concat("", ["blocked[", format_int(i, 10), "] must be an object with agents (a non-empty array of strings) and an optional reason"]) if {
	some i, block in data.tollgate.blocked
	not valid_block(block)
}

problems contains concat("", ["blocked[", format_int(i, 10), "]: agents[", format_int(j, 10), "] ", pattern_problem(pattern)]) if {
	some i, block in data.tollgate.blocked
	some j, pattern in block.agents
}

grant_label(i, grant) := concat("", ["grant ", format_int(i, 10), " (\"", grant.name, "\")"]) if {
	is_string(grant.name)
} else := concat("", ["grant ", format_int(i, 10)])

pattern_problem(pattern) := "must be a string" if {
	not is_string(pattern)
}

pattern_problem(pattern) := concat("", ["\"", pattern, "\" must start with spiffe://"]) if {
	is_string(pattern)
	not startswith(pattern, "spiffe://")
}

pattern_problem(pattern) := concat("", ["\"", pattern, "\" may use * only as a whole last segment: /* or /**"]) if {
	startswith(pattern, "spiffe://")
	contains(pattern, "*")
	not wildcard_at_end(pattern)
}

wildcard_at_end(pattern) if {
	endswith(pattern, "/*")
	not contains(trim_suffix(pattern, "*"), "*")
}

wildcard_at_end(pattern) if {
	endswith(pattern, "/**")
	not contains(trim_suffix(pattern, "**"), "*")
}

valid_block(block) if {
	is_object(block)
	every field, _ in block {
		field in block_fields
	}
	non_empty_string_array(block.agents)
	not "reason" in object.keys(block)
}

valid_block(block) if {
	is_object(block)
	every field, _ in block {
		field in block_fields
	}
	non_empty_string_array(block.agents)
	non_empty_string(block.reason)
}

non_empty_string(value) if {
	is_string(value)
	value != ""
}

string_array(value) if {
	is_array(value)
	every element in value {
		is_string(element)
	}
}

non_empty_string_array(value) if {
	string_array(value)
	count(value) > 0
}

non_empty_strings(value) if {
	is_array(value)
	every element in value {
		non_empty_string(element)
	}
}

positive_integer(value) if {
	is_number(value)
	value > 0
	value == round(value)
}
