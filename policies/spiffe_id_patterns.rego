# SPIFFE ID patterns, as grants name agents and targets:
#   "spiffe://ai.company.org/agent/code-review/v1"   exactly this ID
#   "spiffe://ai.company.org/agent/code-review/*"    exactly one more path segment (.../v1, not .../v1/x)
#   "spiffe://ai.company.org/agent/**"               one or more further segments
# A "*" anywhere else is a literal character, and SPIFFE IDs never contain one, so such a pattern
# matches nothing (grant_checks.rego reports it). The part before the wildcard is compared as a
# string prefix ending in "/", so a pattern never reaches into another trust domain or a sibling
# path (".../agent/code-review/*" does not match ".../agent/code-review-evil/v1").
package tollgate.spiffe_id_patterns

matches(pattern, id) if {
	pattern == id
}

matches(pattern, id) if {
	endswith(pattern, "/*")
	rest := rest_after_prefix(trim_suffix(pattern, "*"), id)
	not contains(rest, "/")
}

matches(pattern, id) if {
	endswith(pattern, "/**")
	rest := rest_after_prefix(trim_suffix(pattern, "**"), id)
	not startswith(rest, "/")
	not endswith(rest, "/")
	not contains(rest, "//")
}

# The non-empty remainder of id after prefix (which ends in "/"); undefined if id does not start so.
rest_after_prefix(prefix, id) := rest if {
	startswith(id, prefix)
	rest := substring(id, count(prefix), -1)
	rest != ""
}
