package tollgate.reasons_test

import data.tollgate.authz
import data.tollgate.fixtures

test_allow_names_the_grant if {
	decision := authz.decision with input as fixtures.llm_input(fixtures.customer_support, fixtures.chat("demo-chat"))
	decision.reasons == ["allowed by grant customer-support-chat"]
}

test_allow_by_several_grants_names_each_in_order if {
	list := {"method": "GET", "path": "/v1/models", "action": "list", "name": ""}
	decision := authz.decision with input as fixtures.llm_input(fixtures.code_review, list)
	decision.reasons == ["allowed by grant code-review-chat", "allowed by grant code-review-embed"]
}

test_deny_names_identity_action_model_and_target if {
	decision := authz.decision with input as fixtures.llm_input(fixtures.customer_support, fixtures.fine_tune("gpt-4o-mini"))
	decision == {
		"allow": false,
		"reasons": ["no grant allows spiffe://ai.company.org/agent/customer-support/v2 to fine_tune.create model \"gpt-4o-mini\" on spiffe://ai.company.org/service/llm-proxy"],
		"obligations": {},
	}
}

test_deny_without_a_model_leaves_the_model_out if {
	delete := {"method": "DELETE", "path": "/v1/files/file-abc", "action": "file.delete", "name": ""}
	decision := authz.decision with input as fixtures.llm_input(fixtures.training, delete)
	decision.reasons == ["no grant allows spiffe://ai.company.org/pipeline/training/job-abc to file.delete on spiffe://ai.company.org/service/llm-proxy"]
}

# The training pipeline may not chat; the reason must not reveal who may (customer-support,
# code-review) or which grants exist.
test_deny_reasons_reveal_no_other_grants if {
	decision := authz.decision with input as fixtures.llm_input(fixtures.training, fixtures.chat("demo-chat"))
	decision.reasons == ["no grant allows spiffe://ai.company.org/pipeline/training/job-abc to chat model \"demo-chat\" on spiffe://ai.company.org/service/llm-proxy"]
	every reason in decision.reasons {
		not contains(reason, "allowed by")
		not contains(reason, "customer-support")
		not contains(reason, "code-review")
		not contains(reason, "training-")
	}
}

test_incomplete_input_is_denied_with_a_reason if {
	decision := authz.decision with input as {"source": fixtures.customer_support}
	decision.allow == false
	contains(decision.reasons[0], "the policy input is incomplete")
	decision.obligations == {}
}

test_non_string_fields_are_denied_not_undefined if {
	chat := fixtures.llm_input(fixtures.customer_support, fixtures.chat("demo-chat"))
	decision := authz.decision with input as object.union(chat, {"resource": {"kind": "model", "name": 7, "action": "chat"}})
	decision.allow == false
	contains(decision.reasons[0], "the policy input is incomplete")
}
