package names

import (
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFullName(t *testing.T) {
	for _, ok := range []string{"ops/infra", "OPS/Infra", "a/b", "a-b.c_d/x.y-z_", "ops/infra.git", "u1/.github", "o/_x"} {
		_, _, err := FullName(ok)
		assert.NoError(t, err, ok)
	}
	for _, bad := range []string{
		"", "ops", "ops/", "/infra", "ops/infra/x", "../etc/passwd", "ops/..", "ops/.", "ops/-",
		"ops/%2e%2e", "ops/infra%2Fx", "ops/in fra", "ops/infra?x=1", "ops/infra#x", "op\x00s/infra",
		"-ops/infra", "ops-/infra", "o..ps/infra", "o__ps/infra", "_ops/infra", "ops/infra.wiki", "ops/infra.WIKI",
		"ops/x.git.git", "ops/x.rss", "ops/x.atom", "öps/infra", "ops/infrä",
		strings.Repeat("o", 41) + "/x", "o/" + strings.Repeat("r", 101),
	} {
		_, _, err := FullName(bad)
		assert.Error(t, err, "%q", bad)
	}
	o, n, err := FullName("ops/infra.git")
	assert.NoError(t, err)
	assert.Equal(t, []string{"ops", "infra"}, []string{o, n})
}

func TestRef(t *testing.T) {
	for _, ok := range []string{"main", "feature/scale", "v1.0.0", "HEAD", "refs/heads/main", "refs/pull/1/head", "0123abcd", "release-2026.03", "a@b", "ünïcode"} {
		assert.NoError(t, Ref(ok), ok)
	}
	for _, bad := range []string{
		"", "@", "-x", "--upload-pack=x", "/main", "main/", "a//b", "main.", "a..b", "../../etc", "HEAD@{1}",
		"main~1", "HEAD^", "a:b", "a?b", "a*b", "a[b", `a\b`, "a b", "a\x00b", "a\nb", "a\x7fb",
		".hidden", "a/.b", "x.lock", "a/x.lock/b", "%2e%2e", strings.Repeat("r", 251),
	} {
		assert.Error(t, Ref(bad), "%q", bad)
	}
}

func TestPath(t *testing.T) {
	for _, ok := range []string{"README.md", "k8s/deployment.yaml", ".gitea/workflows/ci.yaml", "a b/c.txt", "dir/", "ü/x?#y"} {
		assert.NoError(t, Path(ok), ok)
	}
	for _, bad := range []string{
		"", "/etc/passwd", "../x", "a/../../b", "a/./b", ".", "..", "a//b", `a\..\b`, "a\x00b", "a\tb", "a\nb",
		"%2e%2e/x", "a%2Fb", "..%2f..", strings.Repeat("a/", 2049),
	} {
		assert.Error(t, Path(bad), "%q", bad)
	}
}

func TestSHAAndNumber(t *testing.T) {
	assert.NoError(t, SHA("0123456789abcdef0123456789abcdef01234567"))
	assert.NoError(t, SHA("ABCDEF1"))
	for _, bad := range []string{"", "abc", "xyz1234", "0123../..", "main", strings.Repeat("a", 65), "abcd.diff"} {
		assert.Error(t, SHA(bad), bad)
	}
	assert.NoError(t, Number(1))
	assert.Error(t, Number(0))
	assert.Error(t, Number(-3))
}

// escapedUnder is how the Gitea SDK puts a path into a URL (each segment
// escaped); an accepted path must stay under the prefix it is joined to,
// whatever the server decodes.
func escapedUnder(p string) bool {
	segs := strings.Split(p, "/")
	for i := range segs {
		segs[i] = url.PathEscape(segs[i])
	}
	u := "/api/v1/repos/o/r/raw/main/" + strings.Join(segs, "/")
	dec, err := url.PathUnescape(u)
	if err != nil {
		return false
	}
	return strings.HasPrefix(path.Clean(dec), "/api/v1/repos/o/r/raw/main/") || path.Clean(dec) == "/api/v1/repos/o/r/raw/main"
}

func FuzzPath(f *testing.F) {
	for _, s := range []string{"README.md", "k8s/a.yaml", "../x", "a/%2e%2e/b", "a\\..\\b", "dir/", "/abs", "a/./b", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Path(s) != nil {
			return
		}
		if strings.HasPrefix(s, "/") || strings.ContainsAny(s, "\\%\x00\n\r") {
			t.Fatalf("accepted %q", s)
		}
		for _, seg := range strings.Split(s, "/") {
			if seg == ".." || seg == "." {
				t.Fatalf("accepted a dot segment in %q", s)
			}
		}
		if !escapedUnder(s) {
			t.Fatalf("accepted %q, which leaves its URL prefix", s)
		}
	})
}

func FuzzRef(f *testing.F) {
	for _, s := range []string{"main", "feature/scale", "v1.0.0", "HEAD@{1}", "a..b", "-x", "x.lock", "refs/heads/main", "a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Ref(s) != nil {
			return
		}
		if strings.Contains(s, "..") || strings.ContainsAny(s, " ~^:?*[\\\x00\n\x7f") || strings.HasPrefix(s, "-") || strings.Contains(s, "@{") {
			t.Fatalf("accepted %q", s)
		}
		if !escapedUnder(s) {
			t.Fatalf("accepted %q, which leaves its URL prefix", s)
		}
	})
}

func FuzzFullName(f *testing.F) {
	for _, s := range []string{"ops/infra", "OPS/Infra.git", "../x", "a/b/c", "o/..", "o/x.wiki", "o--x/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		owner, name, err := FullName(s)
		if err != nil {
			return
		}
		if url.PathEscape(owner) != owner || url.PathEscape(name) != name {
			t.Fatalf("accepted %q: %q/%q need escaping", s, owner, name)
		}
		if name == "." || name == ".." || strings.Contains(owner+name, "/") || len(owner) > MaxOwner || len(name) > MaxRepo {
			t.Fatalf("accepted %q as %q/%q", s, owner, name)
		}
	})
}
