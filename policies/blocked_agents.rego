# Blocked agents: a switch for incidents, as data. Listing an agent in `data.tollgate.blocked` denies
# every request it makes, whatever its grants say, without editing or removing them:
#
#     "blocked": [{"agents": ["spiffe://ai.company.org/agent/code-review/*"],
#                  "reason": "suspended while incident INC-1234 is investigated"}]
#
# The reason is shown to the blocked caller itself, so it may explain the block but should name no
# one else. This is also the shipped example of a `deny` rule; operators add their own the same way.
package tollgate.authz

import data.tollgate.spiffe_id_patterns

deny contains concat("", [input.source, " is blocked: ", block_reason(block)]) if {
	some block in data.tollgate.blocked
	some agent in block.agents
	spiffe_id_patterns.matches(agent, input.source)
}

block_reason(block) := block.reason if {
	is_string(block.reason)
} else := "an operator blocked this identity"
