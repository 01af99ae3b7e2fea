# Inputs shared by the policy tests: the three demo agents and a builder of DESIGN.md's input.
# (A _test.rego file, so it is never built into the bundle.)
package tollgate.fixtures

customer_support := "spiffe://ai.company.org/agent/customer-support/v2"

code_review := "spiffe://ai.company.org/agent/code-review/v1"

training := "spiffe://ai.company.org/pipeline/training/job-abc"

llm_proxy := "spiffe://ai.company.org/service/llm-proxy"

# The input the gateway sends for an LLM request of `agent`: `operation` has method, path, action
# and name (the model, or "" when no model is involved).
llm_input(agent, operation) := {
	"source": agent,
	"target": llm_proxy,
	"method": operation.method,
	"path": operation.path,
	"source_id": source_id(agent),
	"resource": {"kind": "model", "name": operation.name, "action": operation.action},
	"request": {},
	"now": "2026-12-04T19:00:00Z",
}

source_id(agent) := {
	"trust_domain": trust_domain,
	"path": path,
	"segments": array.slice(parts, 3, count(parts)),
	"auth": "x509-svid",
} if {
	parts := split(agent, "/")
	trust_domain := parts[2]
	path := substring(agent, count(concat("", ["spiffe://", trust_domain])), -1)
}

chat(name) := {"method": "POST", "path": "/v1/chat/completions", "action": "chat", "name": name}

fine_tune(name) := {"method": "POST", "path": "/v1/fine_tuning/jobs", "action": "fine_tune.create", "name": name}
