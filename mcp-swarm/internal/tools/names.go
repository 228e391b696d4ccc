package tools

import (
	"fmt"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// maxName bounds a name or ID argument: the longest Docker names are
// node hostnames (253 bytes, a DNS name).
const maxName = 253

// nameOK reports whether v follows Docker's object name grammar,
// [a-zA-Z0-9][a-zA-Z0-9_.-]*, which also covers IDs and ID prefixes
// ([a-z0-9]). No '/', '%', '\\', space or control byte can pass, and since
// a name cannot start with '.', neither can a "." or ".." path segment:
// a value that passes is one path segment of a Docker API URL and nothing
// else.
func nameOK(v string) bool {
	if v == "" || len(v) > maxName || !alnum(v[0]) {
		return false
	}
	for i := 1; i < len(v); i++ {
		if c := v[i]; !alnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// idOK reports whether v is a swarm object ID or a prefix of one: up to
// 25 characters of [a-z0-9] (task IDs, which the engine takes by ID only).
func idOK(v string) bool {
	if v == "" || len(v) > 25 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// shown quotes a hostile argument for an error message, cut short so a
// megabyte of input does not come back as a megabyte of error.
func shown(v string) string {
	if len(v) > 64 {
		v = v[:64] + "…"
	}
	return fmt.Sprintf("%q", v)
}

// checkName validates a caller's name or ID of a swarm object (what: the
// argument, e.g. "service") before it reaches any Docker API URL or
// filter; see is the tool that lists valid values.
func checkName(what, v, see string) error {
	if nameOK(v) {
		return nil
	}
	return tool.Argf("%s %s is not a Docker name or ID: use letters, digits, '_', '.' and '-', starting with a letter or digit, at most %d characters, no '/' (see %s)", what, shown(v), maxName, see)
}

// checkTaskID validates a caller's task ID.
func checkTaskID(v string) error {
	if idOK(v) {
		return nil
	}
	return tool.Argf("task %s is not a task ID: use the id (up to 25 lowercase letters and digits, or a prefix) that swarm_tasks or swarm_service shows", shown(v))
}

// checkOptional validates v when it is set.
func checkOptional(what, v, see string) error {
	if v == "" {
		return nil
	}
	return checkName(what, v, see)
}
