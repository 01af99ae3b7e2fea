# The operators' extension points: extra allow rules, deny rules that override, blocked agents.
package tollgate.extensions_test

import data.tollgate.authz
import data.tollgate.fixtures

test_a_deny_rule_overrides_a_grant if {
	decision := authz.decision with input as fixtures.llm_input(fixtures.customer_support, fixtures.chat("demo-chat"))
		with authz.deny as {"chat is closed for maintenance"}
	decision == {"allow": false, "reasons": ["chat is closed for maintenance"], "obligations": {}}
}

test_a_deny_rule_overrides_an_extra_allow_rule if {
	decision := authz.decision with input as fixtures.llm_input(fixtures.training, fixtures.chat("demo-chat"))
		with authz.allow as true
		with authz.deny as {"b: second", "a: first"}
	decision == {"allow": false, "reasons": ["a: first", "b: second"], "obligations": {}}
}

test_an_extra_allow_rule_adds_to_the_grants if {
	decision := authz.decision with input as fixtures.llm_input(fixtures.training, fixtures.chat("demo-chat"))
		with authz.allow as true
	decision == {"allow": true, "reasons": ["allowed by a rule in package tollgate.authz"], "obligations": {}}
}

test_an_extra_allow_rule_can_give_its_reason if {
	decision := authz.decision with input as fixtures.llm_input(fixtures.training, fixtures.chat("demo-chat"))
		with authz.allow as true
		with authz.allow_reasons as {"allowed by the evaluation-run rule"}
	decision.reasons == ["allowed by the evaluation-run rule"]
}

test_a_blocked_agent_is_denied_despite_its_grants if {
	blocked := [{"agents": ["spiffe://ai.company.org/agent/customer-support/*"], "reason": "suspended during INC-1234"}]
	decision := authz.decision with input as fixtures.llm_input(fixtures.customer_support, fixtures.chat("demo-chat"))
		with data.tollgate.blocked as blocked
	decision == {
		"allow": false,
		"reasons": ["spiffe://ai.company.org/agent/customer-support/v2 is blocked: suspended during INC-1234"],
		"obligations": {},
	}
}

test_a_block_without_reason_still_explains if {
	blocked := [{"agents": [fixtures.customer_support]}]
	decision := authz.decision with input as fixtures.llm_input(fixtures.customer_support, fixtures.chat("demo-chat"))
		with data.tollgate.blocked as blocked
	decision.reasons == ["spiffe://ai.company.org/agent/customer-support/v2 is blocked: an operator blocked this identity"]
}

test_blocking_one_agent_leaves_the_others_alone if {
	blocked := [{"agents": ["spiffe://ai.company.org/agent/customer-support/*"], "reason": "suspended"}]
	authz.decision.allow with input as fixtures.llm_input(fixtures.code_review, fixtures.chat("demo-chat"))
		with data.tollgate.blocked as blocked
}

test_grants_are_data if {
	grants := [{
		"name": "everyone-demo",
		"agents": ["spiffe://ai.company.org/**"],
		"targets": [fixtures.llm_proxy],
		"kind": "*",
		"names": ["demo-*"],
		"actions": ["*"],
	}]
	decision := authz.decision with input as fixtures.llm_input(fixtures.training, fixtures.chat("demo-chat"))
		with data.tollgate.grants as grants
	decision == {"allow": true, "reasons": ["allowed by grant everyone-demo"], "obligations": {}}
	not authz.decision.allow with input as fixtures.llm_input(fixtures.training, fixtures.chat("gpt-4o"))
		with data.tollgate.grants as grants
}

test_name_patterns if {
	grants := [{
		"name": "patterns",
		"agents": [fixtures.customer_support],
		"targets": [fixtures.llm_proxy],
		"kind": "model",
		"names": ["gpt-4o*", "{claude-haiku,claude-sonnet}-4-5", "exact-model", "[bad-glob"],
		"actions": ["chat"],
	}]
	every name in ["gpt-4o", "gpt-4o-mini", "gpt-4o-2024-08-06", "claude-haiku-4-5", "claude-sonnet-4-5", "exact-model", "[bad-glob"] {
		authz.decision.allow with input as fixtures.llm_input(fixtures.customer_support, fixtures.chat(name))
			with data.tollgate.grants as grants
	}
	every name in ["gpt-4.1", "claude-opus-4-5", "exact-model-2", "xgpt-4o", "bad-glob"] {
		not authz.decision.allow with input as fixtures.llm_input(fixtures.customer_support, fixtures.chat(name))
			with data.tollgate.grants as grants
	}
}

test_no_grants_at_all_denies_everything if {
	not authz.decision.allow with input as fixtures.llm_input(fixtures.customer_support, fixtures.chat("demo-chat"))
		with data.tollgate.grants as []
}
