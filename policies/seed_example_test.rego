# The seed's example policy ("customer-support can query LLM but not train models"), verbatim but
# for Rego v1's `if`, and proof that the shipped decision agrees with it on the seed's own cases.
package tollgate.seed_example

import data.tollgate.authz

# --- the seed's rule ---
allow if {
	input.source == "spiffe://ai.company.org/agent/customer-support/v2"
	input.target == "spiffe://ai.company.org/service/llm-proxy"
	input.method == "POST"
	input.path == "/v1/chat/completions"
}

# --- its cases: DESIGN.md's example input, and the same agent creating a fine-tuning job ---
chat_input := {
	"source": "spiffe://ai.company.org/agent/customer-support/v2",
	"target": "spiffe://ai.company.org/service/llm-proxy",
	"method": "POST",
	"path": "/v1/chat/completions",
	"source_id": {
		"trust_domain": "ai.company.org", "path": "/agent/customer-support/v2",
		"segments": ["agent", "customer-support", "v2"], "auth": "x509-svid",
	},
	"resource": {"kind": "model", "name": "gpt-4o-mini", "provider": "openai", "action": "chat"},
	"request": {"stream": true, "max_tokens": 512},
	"now": "2026-12-04T19:00:00Z",
}

fine_tune_input := object.union(chat_input, {
	"path": "/v1/fine_tuning/jobs",
	"resource": {"kind": "model", "name": "gpt-4o-mini", "provider": "openai", "action": "fine_tune.create"},
	"request": {},
})

test_seed_rule_allows_customer_support_chat if {
	allow with input as chat_input
}

test_seed_rule_denies_customer_support_fine_tuning if {
	not allow with input as fine_tune_input
}

test_shipped_decision_agrees_with_the_seed_rule if {
	authz.decision.allow with input as chat_input
	not authz.decision.allow with input as fine_tune_input
}
