package tollgate.spiffe_id_patterns_test

import data.tollgate.spiffe_id_patterns

test_exact_pattern_matches_only_that_id if {
	spiffe_id_patterns.matches("spiffe://td.org/agent/a/v1", "spiffe://td.org/agent/a/v1")
	not spiffe_id_patterns.matches("spiffe://td.org/agent/a/v1", "spiffe://td.org/agent/a/v2")
	not spiffe_id_patterns.matches("spiffe://td.org/agent/a/v1", "spiffe://td.org/agent/a/v1/x")
	not spiffe_id_patterns.matches("spiffe://td.org/agent/a/v1", "spiffe://td.org/agent/a")
}

test_single_star_matches_exactly_one_more_segment if {
	spiffe_id_patterns.matches("spiffe://td.org/agent/a/*", "spiffe://td.org/agent/a/v1")
	not spiffe_id_patterns.matches("spiffe://td.org/agent/a/*", "spiffe://td.org/agent/a/v1/x")
	not spiffe_id_patterns.matches("spiffe://td.org/agent/a/*", "spiffe://td.org/agent/a")
	not spiffe_id_patterns.matches("spiffe://td.org/agent/a/*", "spiffe://td.org/agent/a/")
	not spiffe_id_patterns.matches("spiffe://td.org/agent/a/*", "spiffe://td.org/agent/ab/v1")
}

test_double_star_matches_one_or_more_segments if {
	spiffe_id_patterns.matches("spiffe://td.org/agent/**", "spiffe://td.org/agent/a")
	spiffe_id_patterns.matches("spiffe://td.org/agent/**", "spiffe://td.org/agent/a/v1")
	spiffe_id_patterns.matches("spiffe://td.org/agent/**", "spiffe://td.org/agent/a/b/c/d")
	not spiffe_id_patterns.matches("spiffe://td.org/agent/**", "spiffe://td.org/agent")
	not spiffe_id_patterns.matches("spiffe://td.org/agent/**", "spiffe://td.org/agent/")
	not spiffe_id_patterns.matches("spiffe://td.org/agent/**", "spiffe://td.org/agent//a")
	not spiffe_id_patterns.matches("spiffe://td.org/agent/**", "spiffe://td.org/agent/a/")
	not spiffe_id_patterns.matches("spiffe://td.org/agent/**", "spiffe://td.org/agents/a")
}

test_trust_domain_wide_pattern if {
	spiffe_id_patterns.matches("spiffe://td.org/**", "spiffe://td.org/agent/a/v1")
	not spiffe_id_patterns.matches("spiffe://td.org/**", "spiffe://td.org.evil/agent/a/v1")
	not spiffe_id_patterns.matches("spiffe://td.org/**", "spiffe://other.org/agent/a/v1")
}

test_wildcards_elsewhere_are_literal_and_match_no_spiffe_id if {
	not spiffe_id_patterns.matches("spiffe://td.org/agent/*/v1", "spiffe://td.org/agent/a/v1")
	not spiffe_id_patterns.matches("spiffe://td.org/agent/a*", "spiffe://td.org/agent/ab")
	not spiffe_id_patterns.matches("spiffe://*/agent/a/v1", "spiffe://td.org/agent/a/v1")
}
