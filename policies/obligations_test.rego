package tollgate.obligations_test

import data.tollgate.authz
import data.tollgate.fixtures

grant(name, obligations) := {
	"name": name,
	"agents": [fixtures.customer_support],
	"targets": [fixtures.llm_proxy],
	"kind": "model",
	"names": ["demo-chat"],
	"actions": ["chat"],
	"obligations": obligations,
}

test_shipped_cap_for_customer_support if {
	decision := authz.decision with input as fixtures.llm_input(fixtures.customer_support, fixtures.chat("demo-chat"))
	decision.obligations == {"max_output_tokens": 4096}
}

test_the_smallest_cap_of_the_allowing_grants_wins if {
	grants := [grant("wide", {"max_output_tokens": 8192}), grant("narrow", {"max_output_tokens": 512}), grant("uncapped", {})]
	decision := authz.decision with input as fixtures.llm_input(fixtures.customer_support, fixtures.chat("demo-chat"))
		with data.tollgate.grants as grants
	decision.obligations == {"max_output_tokens": 512}
	decision.reasons == ["allowed by grant narrow", "allowed by grant uncapped", "allowed by grant wide"]
}

test_grants_that_do_not_apply_set_no_cap if {
	other := object.union(grant("other-model", {"max_output_tokens": 16}), {"names": ["gpt-4o"]})
	grants := [grant("wide", {"max_output_tokens": 8192}), other]
	decision := authz.decision with input as fixtures.llm_input(fixtures.customer_support, fixtures.chat("demo-chat"))
		with data.tollgate.grants as grants
	decision.obligations == {"max_output_tokens": 8192}
}

test_budgets_are_the_union_of_the_allowing_grants if {
	grants := [grant("a", {"budgets": ["team-support", "shared"]}), grant("b", {"budgets": ["shared", "chat-pool"]})]
	decision := authz.decision with input as fixtures.llm_input(fixtures.customer_support, fixtures.chat("demo-chat"))
		with data.tollgate.grants as grants
	decision.obligations == {"budgets": ["chat-pool", "shared", "team-support"]}
}

test_no_obligations_without_any if {
	decision := authz.decision with input as fixtures.llm_input(fixtures.training, fixtures.fine_tune("gpt-4o-mini"))
	decision.allow
	decision.obligations == {}
}

test_a_denied_request_carries_no_obligations if {
	decision := authz.decision with input as fixtures.llm_input(fixtures.customer_support, fixtures.chat("demo-chat"))
		with authz.deny as {"closed"}
	decision.obligations == {}
}
