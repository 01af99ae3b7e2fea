# Each demo agent against the tickets MCP server's tools, resources and prompts, allowed and denied,
# with the shipped data: what the gateway asks for a call, for each listed item, for server access
# (name ""), and for what the server asks of the agent (sampling) while a tool runs.
package tollgate.mcp_decision_matrix_test

import data.tollgate.authz
import data.tollgate.fixtures

tickets := "spiffe://ai.company.org/mcp/tickets"

agents := {
	"customer-support": fixtures.customer_support,
	"code-review": fixtures.code_review,
	"training": fixtures.training,
}

mcp_input(agent, operation) := {
	"source": agent,
	"target": operation.target,
	"method": "POST",
	"path": "/mcp/tickets",
	"source_id": fixtures.source_id(agent),
	"resource": {"kind": operation.kind, "server": "tickets", "name": operation.name, "action": operation.action, "method": operation.method},
	"request": {"protocol_version": "2025-11-25"},
	"now": "2026-12-04T19:00:00Z",
}

support := {"customer-support"}

operations := [
	# Server access (initialize, ping, the lists, the GET stream): may the caller list anything?
	{"target": tickets, "kind": "tool", "name": "", "action": "list", "method": "tools/list", "allowed": support},
	{"target": tickets, "kind": "resource", "name": "", "action": "list", "method": "resources/list", "allowed": support},
	{"target": tickets, "kind": "prompt", "name": "", "action": "list", "method": "prompts/list", "allowed": support},
	# Tools: called by name, and listed exactly when callable.
	{"target": tickets, "kind": "tool", "name": "search_tickets", "action": "call", "method": "tools/call", "allowed": support},
	{"target": tickets, "kind": "tool", "name": "get_ticket", "action": "call", "method": "tools/call", "allowed": support},
	{"target": tickets, "kind": "tool", "name": "draft_reply", "action": "call", "method": "tools/call", "allowed": support},
	{"target": tickets, "kind": "tool", "name": "delete_ticket", "action": "call", "method": "tools/call", "allowed": set()},
	{"target": tickets, "kind": "tool", "name": "unknown_tool", "action": "call", "method": "tools/call", "allowed": set()},
	# What the server asks of the agent while one of its tools runs.
	{"target": tickets, "kind": "tool", "name": "draft_reply", "action": "sampling", "method": "sampling/createMessage", "allowed": support},
	{"target": tickets, "kind": "tool", "name": "draft_reply", "action": "elicitation", "method": "elicitation/create", "allowed": set()},
	{"target": tickets, "kind": "tool", "name": "draft_reply", "action": "roots", "method": "roots/list", "allowed": set()},
	{"target": tickets, "kind": "tool", "name": "delete_ticket", "action": "sampling", "method": "sampling/createMessage", "allowed": set()},
	# Resources by URI, templates by their URI template.
	{"target": tickets, "kind": "resource", "name": "tickets://ticket/T-1001", "action": "read", "method": "resources/read", "allowed": support},
	{"target": tickets, "kind": "resource", "name": "tickets://ticket/{id}", "action": "read", "method": "resources/templates/list", "allowed": support},
	{"target": tickets, "kind": "resource", "name": "tickets://ticket/T-1001", "action": "subscribe", "method": "resources/subscribe", "allowed": support},
	{"target": tickets, "kind": "resource", "name": "tickets://internal/audit-log", "action": "read", "method": "resources/read", "allowed": set()},
	{"target": tickets, "kind": "resource", "name": "tickets://ticket/T-1001", "action": "write", "method": "resources/read", "allowed": set()},
	# Prompts, and completions of their arguments.
	{"target": tickets, "kind": "prompt", "name": "summarize_ticket", "action": "get", "method": "prompts/get", "allowed": support},
	{"target": tickets, "kind": "prompt", "name": "summarize_ticket", "action": "complete", "method": "completion/complete", "allowed": support},
	{"target": tickets, "kind": "prompt", "name": "escalation_email", "action": "get", "method": "prompts/get", "allowed": set()},
	# The same names on another MCP server: grants name their targets.
	{"target": "spiffe://ai.company.org/mcp/other", "kind": "tool", "name": "search_tickets", "action": "call", "method": "tools/call", "allowed": set()},
	{"target": "spiffe://ai.company.org/mcp/other", "kind": "tool", "name": "", "action": "list", "method": "initialize", "allowed": set()},
]

wrong_decisions contains concat("", [agent_name, " ", operation.action, " ", operation.kind, " \"", operation.name, "\" on ", operation.target, ": expected ", want_text, ", got ", got_text]) if {
	some operation in operations
	some agent_name, agent in agents
	want := agent_name in operation.allowed
	got := authz.decision.allow with input as mcp_input(agent, operation)
	got != want
	want_text := allow_text(want)
	got_text := allow_text(got)
}

allow_text(true) := "allow"

allow_text(false) := "deny"

test_every_agent_against_every_mcp_operation if {
	wrong := wrong_decisions
	print("wrong decisions:", wrong)
	count(wrong) == 0
}

test_matrix_has_both_outcomes if {
	some allowed in operations
	count(allowed.allowed) > 0
	some denied in operations
	count(denied.allowed) == 0
}

# A denial names the caller, the action, the tool and the server, and nothing of anyone's grants.
test_denied_tool_call_reason if {
	decision := authz.decision with input as mcp_input(fixtures.customer_support, {"target": tickets, "kind": "tool", "name": "delete_ticket", "action": "call", "method": "tools/call"})
	decision.allow == false
	decision.reasons == [concat("", ["no grant allows ", fixtures.customer_support, " to call tool \"delete_ticket\" on ", tickets])]
}

# Server access for an agent without any grant on the server is refused with the action alone.
test_denied_server_access_reason if {
	decision := authz.decision with input as mcp_input(fixtures.code_review, {"target": tickets, "kind": "tool", "name": "", "action": "list", "method": "initialize"})
	decision.allow == false
	decision.reasons == [concat("", ["no grant allows ", fixtures.code_review, " to list on ", tickets])]
}

test_allowed_tool_call_names_its_grant if {
	decision := authz.decision with input as mcp_input(fixtures.customer_support, {"target": tickets, "kind": "tool", "name": "search_tickets", "action": "call", "method": "tools/call"})
	decision.allow == true
	decision.reasons == ["allowed by grant customer-support-tickets"]
}
