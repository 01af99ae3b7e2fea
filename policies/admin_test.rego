# The admin API (resource kind "admin"): the platform team's operator may use it; agents may not.
package tollgate.admin_test

import data.tollgate.authz
import data.tollgate.fixtures

operator := "spiffe://ai.company.org/operator/platform-team"

admin_target := "spiffe://ai.company.org/service/tollgate-admin"

admin_input(source, name, action) := {
	"source": source,
	"target": admin_target,
	"method": "GET",
	"path": "/admin/v1/spend",
	"source_id": fixtures.source_id(source),
	"resource": {"kind": "admin", "name": name, "action": action},
	"request": {},
	"now": "2026-12-04T19:00:00Z",
}

test_the_operator_reviews_spend_and_audit_and_changes_budgets if {
	every request in [["spend", "read"], ["audit", "read"], ["audit", "export"], ["audit", "verify"], ["budgets", "read"], ["budgets", "write"], ["policy", "read"]] {
		decision := authz.decision with input as admin_input(operator, request[0], request[1])
		decision.allow
		decision.reasons == ["allowed by grant platform-team-admin"]
	}
}

test_agents_cannot_use_the_admin_api if {
	every agent in [fixtures.customer_support, fixtures.code_review, fixtures.training] {
		every request in [["spend", "read"], ["audit", "read"], ["budgets", "write"], ["policy", "read"]] {
			not authz.decision.allow with input as admin_input(agent, request[0], request[1])
		}
	}
}

test_an_agent_is_told_why if {
	decision := authz.decision with input as admin_input(fixtures.customer_support, "spend", "read")
	decision.reasons == [concat("", ["no grant allows ", fixtures.customer_support, " to read admin \"spend\" on ", admin_target])]
}

test_the_operator_identity_exactly if {
	every other in [
		"spiffe://ai.company.org/operator/platform-team/extra",
		"spiffe://ai.company.org/operator/other-team",
		"spiffe://evil.org/operator/platform-team",
	] {
		not authz.decision.allow with input as admin_input(other, "spend", "read")
	}
}

test_the_operator_grant_is_for_the_admin_api_only if {
	not authz.decision.allow with input as fixtures.llm_input(operator, fixtures.chat("demo-chat"))
	not authz.decision.allow with input as object.union(admin_input(operator, "spend", "read"), {"target": fixtures.llm_proxy})
	not authz.decision.allow with input as admin_input(operator, "unknown-area", "read")
}
