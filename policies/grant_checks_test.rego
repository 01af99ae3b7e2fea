package tollgate.grant_checks_test

import data.tollgate.grant_checks

test_the_shipped_data_has_no_problems if {
	problems := grant_checks.problems
	print("problems:", problems)
	count(problems) == 0
}

test_mistakes_are_reported_by_grant_and_field if {
	grants := [
		{"name": "typo", "agent": ["spiffe://td.org/a"], "targets": ["spiffe://td.org/t"], "kind": "model", "actions": ["chat"]},
		{"name": "bad-patterns", "agents": ["td.org/a", "spiffe://td.org/*/a"], "targets": ["spiffe://td.org/t"], "kind": "models", "actions": []},
		{"name": "bad-obligations", "agents": ["spiffe://td.org/a/*"], "targets": ["spiffe://td.org/**"], "kind": "*", "actions": ["*"], "names": "gpt-4o", "obligations": {"max_output_tokens": 1.5, "budgets": [""], "max_cost": 1}},
		{"agents": ["spiffe://td.org/a"], "targets": ["spiffe://td.org/t"], "kind": "model", "actions": ["chat"]},
		{"name": "typo", "agents": ["spiffe://td.org/a"], "targets": ["spiffe://td.org/t"], "kind": "model", "actions": ["chat"]},
		"not-a-grant",
	]
	problems := grant_checks.problems with data.tollgate.grants as grants
		with data.tollgate.blocked as [{"agents": ["spiffe://td.org/x*"], "why": "?"}]
	expected := {
		"grant 0 (\"typo\") has an unknown field \"agent\"",
		"grant 0 (\"typo\"): agents must be a non-empty array of strings",
		"more than one grant is named \"typo\"",
		"grant 1 (\"bad-patterns\"): agents[0] \"td.org/a\" must start with spiffe://",
		"grant 1 (\"bad-patterns\"): agents[1] \"spiffe://td.org/*/a\" may use * only as a whole last segment: /* or /**",
		"grant 1 (\"bad-patterns\"): kind must be one of model, tool, resource, prompt, collection, admin or *",
		"grant 1 (\"bad-patterns\"): actions must be a non-empty array of strings",
		"grant 2 (\"bad-obligations\"): names must be an array of strings",
		"grant 2 (\"bad-obligations\"): obligations has an unknown field \"max_cost\" (the gateway could not enforce it)",
		"grant 2 (\"bad-obligations\"): obligations.max_output_tokens must be a positive integer",
		"grant 2 (\"bad-obligations\"): obligations.budgets must be an array of non-empty strings",
		"grant 3 needs a name (a non-empty string)",
		"grant 5 must be an object",
		"blocked[0] must be an object with agents (a non-empty array of strings) and an optional reason",
		"blocked[0]: agents[0] \"spiffe://td.org/x*\" may use * only as a whole last segment: /* or /**",
	}
	print("missing:", expected - problems)
	print("unexpected:", problems - expected)
	problems == expected
}

test_grants_must_be_an_array if {
	grant_checks.problems == {"data.tollgate.grants must be an array of grants"} with data.tollgate.grants as {"name": "x"}
}
