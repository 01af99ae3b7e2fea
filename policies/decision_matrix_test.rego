# Each demo agent against each LLM endpoint and action, allowed and denied, with the shipped data.
package tollgate.decision_matrix_test

import data.tollgate.authz
import data.tollgate.fixtures

agents := {
	"customer-support": fixtures.customer_support,
	"code-review": fixtures.code_review,
	"training": fixtures.training,
}

# `allowed` names the agents the shipped grants let through; every other agent must be denied.
operations := [
	{"method": "POST", "path": "/v1/chat/completions", "action": "chat", "name": "demo-chat", "allowed": {"customer-support", "code-review"}},
	{"method": "POST", "path": "/v1/chat/completions", "action": "chat", "name": "gpt-4o-mini", "allowed": {"customer-support", "code-review"}},
	{"method": "POST", "path": "/v1/responses", "action": "chat", "name": "gpt-4.1-mini", "allowed": {"customer-support", "code-review"}},
	{"method": "POST", "path": "/v1/responses", "action": "chat", "name": "gpt-4.1", "allowed": {"customer-support", "code-review"}},
	{"method": "POST", "path": "/v1/messages", "action": "chat", "name": "claude-haiku-4-5", "allowed": {"customer-support", "code-review"}},
	{"method": "POST", "path": "/v1/messages", "action": "chat", "name": "claude-sonnet-4-5", "allowed": {"customer-support", "code-review"}},
	{"method": "POST", "path": "/v1/chat/completions", "action": "chat", "name": "gpt-4o", "allowed": {"customer-support", "code-review"}},
	{"method": "POST", "path": "/v1/chat/completions", "action": "chat", "name": "unlisted-model", "allowed": set()},
	{"method": "POST", "path": "/v1/chat/completions", "action": "chat", "name": "demo-embed", "allowed": set()},
	{"method": "POST", "path": "/v1/embeddings", "action": "embed", "name": "demo-embed", "allowed": {"code-review", "training"}},
	{"method": "POST", "path": "/v1/embeddings", "action": "embed", "name": "text-embedding-3-small", "allowed": {"code-review", "training"}},
	{"method": "POST", "path": "/v1/embeddings", "action": "embed", "name": "text-embedding-3-large", "allowed": {"code-review", "training"}},
	{"method": "POST", "path": "/v1/embeddings", "action": "embed", "name": "demo-chat", "allowed": set()},
	{"method": "GET", "path": "/v1/models", "action": "list", "name": "", "allowed": {"customer-support", "code-review"}},
	{"method": "GET", "path": "/v1/models", "action": "list", "name": "demo-chat", "allowed": {"customer-support", "code-review"}},
	{"method": "GET", "path": "/v1/models", "action": "list", "name": "claude-sonnet-4-5", "allowed": {"customer-support", "code-review"}},
	{"method": "GET", "path": "/v1/models", "action": "list", "name": "demo-embed", "allowed": {"code-review"}},
	{"method": "GET", "path": "/v1/models", "action": "list", "name": "text-embedding-3-small", "allowed": {"code-review"}},
	{"method": "GET", "path": "/v1/models", "action": "list", "name": "unlisted-model", "allowed": set()},
	{"method": "POST", "path": "/v1/files", "action": "file.upload", "name": "", "allowed": {"training"}},
	{"method": "GET", "path": "/v1/files", "action": "file.list", "name": "", "allowed": {"training"}},
	{"method": "GET", "path": "/v1/files/file-abc", "action": "file.read", "name": "", "allowed": {"training"}},
	{"method": "GET", "path": "/v1/files/file-abc/content", "action": "file.read", "name": "", "allowed": {"training"}},
	{"method": "DELETE", "path": "/v1/files/file-abc", "action": "file.delete", "name": "", "allowed": set()},
	{"method": "POST", "path": "/v1/fine_tuning/jobs", "action": "fine_tune.create", "name": "gpt-4o-mini", "allowed": {"training"}},
	{"method": "POST", "path": "/v1/fine_tuning/jobs", "action": "fine_tune.create", "name": "gpt-4o-mini-2024-07-18", "allowed": {"training"}},
	{"method": "POST", "path": "/v1/fine_tuning/jobs", "action": "fine_tune.create", "name": "gpt-4.1-mini", "allowed": {"training"}},
	{"method": "POST", "path": "/v1/fine_tuning/jobs", "action": "fine_tune.create", "name": "demo-chat", "allowed": {"training"}},
	{"method": "POST", "path": "/v1/fine_tuning/jobs", "action": "fine_tune.create", "name": "", "allowed": {"training"}},
	{"method": "POST", "path": "/v1/fine_tuning/jobs", "action": "fine_tune.create", "name": "gpt-4o", "allowed": set()},
	{"method": "POST", "path": "/v1/fine_tuning/jobs", "action": "fine_tune.create", "name": "claude-haiku-4-5", "allowed": set()},
	{"method": "GET", "path": "/v1/fine_tuning/jobs", "action": "fine_tune.list", "name": "", "allowed": {"training"}},
	{"method": "GET", "path": "/v1/fine_tuning/jobs/ftjob-abc", "action": "fine_tune.read", "name": "", "allowed": {"training"}},
	{"method": "GET", "path": "/v1/fine_tuning/jobs/ftjob-abc/events", "action": "fine_tune.read", "name": "", "allowed": {"training"}},
	{"method": "POST", "path": "/v1/fine_tuning/jobs/ftjob-abc/cancel", "action": "fine_tune.cancel", "name": "", "allowed": set()},
	{"method": "POST", "path": "/v1/batches", "action": "batch.create", "name": "", "allowed": {"training"}},
	{"method": "GET", "path": "/v1/batches", "action": "batch.list", "name": "", "allowed": {"training"}},
	{"method": "GET", "path": "/v1/batches/batch_abc", "action": "batch.read", "name": "", "allowed": {"training"}},
	{"method": "POST", "path": "/v1/batches/batch_abc/cancel", "action": "batch.cancel", "name": "", "allowed": set()},
]

wrong_decisions contains concat("", [agent_name, " ", operation.action, " \"", operation.name, "\" on ", operation.path, ": expected ", want_text, ", got ", got_text]) if {
	some operation in operations
	some agent_name, agent in agents
	want := agent_name in operation.allowed
	got := authz.decision.allow with input as fixtures.llm_input(agent, operation)
	got != want
	want_text := allow_text(want)
	got_text := allow_text(got)
}

allow_text(true) := "allow"

allow_text(false) := "deny"

test_every_agent_against_every_operation if {
	wrong := wrong_decisions
	print("wrong decisions:", wrong)
	count(wrong) == 0
}

# The matrix has both outcomes for each agent, so it cannot pass by allowing or denying everything.
test_matrix_covers_allow_and_deny_for_each_agent if {
	every agent_name, _ in agents {
		some allowed in operations
		agent_name in allowed.allowed
		some denied in operations
		not agent_name in denied.allowed
	}
}

# The three sentences of the brief, spelt out.
test_customer_support_chats_but_may_not_train if {
	authz.decision.allow with input as fixtures.llm_input(fixtures.customer_support, fixtures.chat("demo-chat"))
	not authz.decision.allow with input as fixtures.llm_input(fixtures.customer_support, fixtures.fine_tune("gpt-4o-mini"))
}

test_code_review_chats_and_embeds if {
	authz.decision.allow with input as fixtures.llm_input(fixtures.code_review, fixtures.chat("demo-chat"))
	authz.decision.allow with input as fixtures.llm_input(fixtures.code_review, {"method": "POST", "path": "/v1/embeddings", "action": "embed", "name": "demo-embed"})
}

test_training_trains_but_may_not_chat if {
	authz.decision.allow with input as fixtures.llm_input(fixtures.training, fixtures.fine_tune("gpt-4o-mini"))
	not authz.decision.allow with input as fixtures.llm_input(fixtures.training, fixtures.chat("demo-chat"))
}

test_another_job_of_the_training_pipeline_is_granted_too if {
	authz.decision.allow with input as fixtures.llm_input("spiffe://ai.company.org/pipeline/training/job-xyz", fixtures.fine_tune("gpt-4o-mini"))
}

test_nested_or_lookalike_identities_are_denied if {
	every agent in [
		"spiffe://ai.company.org/agent/customer-support/v2/extra",
		"spiffe://ai.company.org/agent/customer-support",
		"spiffe://ai.company.org/agent/customer-support-evil/v2",
		"spiffe://evil.org/agent/customer-support/v2",
		"spiffe://ai.company.org.evil.org/agent/customer-support/v2",
	] {
		not authz.decision.allow with input as fixtures.llm_input(agent, fixtures.chat("demo-chat"))
	}
}

test_another_target_is_denied if {
	chat := fixtures.llm_input(fixtures.customer_support, fixtures.chat("demo-chat"))
	not authz.decision.allow with input as object.union(chat, {"target": "spiffe://ai.company.org/service/other-proxy"})
}

test_another_resource_kind_is_denied if {
	chat := fixtures.llm_input(fixtures.customer_support, fixtures.chat("demo-chat"))
	tool := object.union(chat, {"resource": {"kind": "tool", "server": "files", "name": "demo-chat", "action": "chat"}})
	not authz.decision.allow with input as tool
}
