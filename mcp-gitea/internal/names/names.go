// Package names checks every caller value that reaches a Gitea URL or a
// git revision by Gitea's and git's own naming rules, before any request:
// owner and repository names, branch/tag/ref names, file paths, commit
// ids and issue numbers. A value these rules refuse cannot exist upstream,
// so refusing it loses nothing and keeps hostile input (".." segments,
// encoded separators, query or fragment tricks, control characters) away
// from URL building altogether.
package names

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Limits Gitea itself enforces (models/user: 40, models/repo: 100); refs
// and paths have no hard git limit, so these bound what one argument may
// carry.
const (
	MaxOwner = 40
	MaxRepo  = 100
	MaxRef   = 250
	MaxPath  = 4096
)

var (
	// Gitea's user and organisation names: ASCII letters, digits and
	// -._, starting with a letter or digit, no two specials in a row and
	// none at the end (modules/validation IsValidUsername).
	ownerRE = regexp.MustCompile(`^[0-9A-Za-z]+(?:[-._][0-9A-Za-z]+)*$`)
	// Gitea's repository names (alphaDashDot).
	repoRE = regexp.MustCompile(`^[-._0-9A-Za-z]+$`)
	hexRE  = regexp.MustCompile(`^[0-9a-fA-F]{4,64}$`)
)

// Owner checks a user or organisation name.
func Owner(s string) error {
	switch {
	case s == "":
		return errors.New("the owner is empty")
	case len(s) > MaxOwner:
		return fmt.Errorf("the owner is %d characters; Gitea allows at most %d", len(s), MaxOwner)
	case !ownerRE.MatchString(s):
		return errors.New("an owner is letters, digits and single - _ . between them (Gitea's user and organisation names)")
	}
	return nil
}

// Repo checks a repository name (without the owner).
func Repo(s string) error {
	lower := strings.ToLower(s)
	switch {
	case s == "":
		return errors.New("the repository name is empty")
	case len(s) > MaxRepo:
		return fmt.Errorf("the repository name is %d characters; Gitea allows at most %d", len(s), MaxRepo)
	case !repoRE.MatchString(s):
		return errors.New("a repository name is letters, digits, - _ and . only")
	case s == "." || s == ".." || s == "-":
		return fmt.Errorf("%q is reserved, not a repository name", s)
	}
	// Gitea reserves these suffixes: a wiki is "<repo>.wiki" on the git
	// side, and a name ending so would reach that other repository.
	for _, suf := range []string{".git", ".wiki", ".rss", ".atom"} {
		if strings.HasSuffix(lower, suf) {
			return fmt.Errorf("a repository name cannot end with %s", suf)
		}
	}
	return nil
}

// FullName splits and checks "owner/name" (a trailing ".git" is dropped,
// as in a clone URL).
func FullName(s string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(strings.TrimSuffix(s, ".git"), "/")
	if !ok || strings.Contains(name, "/") {
		return "", "", errors.New("use owner/name, e.g. ops/infra (see gitea_repos)")
	}
	if err := Owner(owner); err != nil {
		return "", "", err
	}
	if err := Repo(name); err != nil {
		return "", "", err
	}
	return owner, name, nil
}

// Ref checks a branch, tag or full ref name by git check-ref-format's
// rules (one-level names allowed, as branches are), or a commit id (hex),
// or HEAD; "%" is refused too. Revision syntax (main~2, HEAD^, @{1}) is not a ref name and is
// refused with the rest of what the rules forbid.
func Ref(s string) error {
	if s == "" {
		return errors.New("the ref is empty")
	}
	if len(s) > MaxRef {
		return fmt.Errorf("the ref is %d bytes; at most %d", len(s), MaxRef)
	}
	if !utf8.ValidString(s) {
		return errors.New("the ref is not valid UTF-8")
	}
	if s == "@" {
		return errors.New(`"@" is not a ref name`)
	}
	if strings.HasPrefix(s, "-") {
		return errors.New("a ref cannot start with -")
	}
	if strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.Contains(s, "//") {
		return errors.New("a ref cannot start or end with / or hold //")
	}
	if strings.HasSuffix(s, ".") {
		return errors.New("a ref cannot end with .")
	}
	if strings.Contains(s, "..") {
		return errors.New("a ref cannot hold .. (for a range use gitea_diff's base and head)")
	}
	if strings.Contains(s, "@{") {
		return errors.New("a ref cannot hold @{ (reflog syntax is not supported)")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return errors.New("a ref cannot hold control characters")
		}
		switch r {
		case ' ', '~', '^', ':', '?', '*', '[', '\\':
			return fmt.Errorf("a ref cannot hold %q (git check-ref-format); give a branch, tag or commit id", r)
		case '%':
			// Legal in git, but nothing may be decoded into a separator
			// or a dot segment on the way to Gitea.
			return errors.New("a ref cannot hold % (give the name as it is, not URL-encoded)")
		}
	}
	for _, c := range strings.Split(s, "/") {
		if strings.HasPrefix(c, ".") {
			return errors.New("a ref's components cannot start with .")
		}
		if strings.HasSuffix(c, ".lock") {
			return errors.New("a ref's components cannot end with .lock")
		}
	}
	return nil
}

// SHA checks a commit id: 4 to 64 hex digits (short, SHA-1 or SHA-256).
func SHA(s string) error {
	if !hexRE.MatchString(s) {
		return errors.New("a commit id is 4 to 64 hex digits (see gitea_commits)")
	}
	return nil
}

// Path checks a file or directory path inside a repository: relative,
// "/"-separated, no empty, "." or ".." segments, no control characters,
// no backslash and no "%" (so nothing can be decoded into a separator or
// a dot segment on the way).
func Path(s string) error {
	if s == "" {
		return errors.New("the path is empty")
	}
	if len(s) > MaxPath {
		return fmt.Errorf("the path is %d bytes; at most %d", len(s), MaxPath)
	}
	if !utf8.ValidString(s) {
		return errors.New("the path is not valid UTF-8")
	}
	if strings.HasPrefix(s, "/") {
		return errors.New("a path is relative to the repository root: drop the leading /")
	}
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f:
			return errors.New("a path cannot hold control characters")
		case r == '\\':
			return errors.New(`a path separates directories with /, not \`)
		case r == '%':
			return errors.New("a path cannot hold % (give the name as it is, not URL-encoded)")
		}
	}
	for _, seg := range strings.Split(strings.TrimSuffix(s, "/"), "/") {
		switch seg {
		case "":
			return errors.New("a path cannot hold empty segments (//)")
		case ".", "..":
			return fmt.Errorf("a path cannot hold %q segments", seg)
		}
	}
	return nil
}

// Number checks a pull request or issue number.
func Number(n int64) error {
	if n < 1 {
		return fmt.Errorf("%d is not a pull request or issue number: they start at 1", n)
	}
	return nil
}
