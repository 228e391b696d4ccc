package fsroot

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolve(t *testing.T) {
	root, out := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "in.log"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(out, "secret"), []byte("x"), 0o644))
	require.NoError(t, os.Symlink(filepath.Join(out, "secret"), filepath.Join(root, "escape")))
	require.NoError(t, os.Symlink(filepath.Join(root, "in.log"), filepath.Join(root, "alias")))
	require.NoError(t, os.Mkdir(filepath.Join(root, "dir"), 0o755))
	s, err := New("test roots", []string{root})
	require.NoError(t, err)
	real, _ := filepath.EvalSymlinks(filepath.Join(root, "in.log"))

	cases := []struct {
		path string
		want string // "" for an error
		err  error
		msg  string
	}{
		{"in.log", real, nil, ""},
		{"alias", real, nil, ""},
		{filepath.Join(root, "in.log"), real, nil, ""},
		{"escape", "", ErrOutside, "escape: outside the test roots ("},
		{"../" + filepath.Base(out) + "/secret", "", ErrOutside, ""},
		{filepath.Join(out, "secret"), "", ErrOutside, ""},
		{"dir/../../" + filepath.Base(out) + "/secret", "", ErrOutside, ""},
		{"nope", "", nil, "no such file under the test roots"},
		{"dir", "", nil, "not a regular file"},
	}
	for _, c := range cases {
		got, err := s.Resolve(c.path)
		if c.want != "" {
			require.NoError(t, err, c.path)
			assert.Equal(t, c.want, got, c.path)
			continue
		}
		require.Error(t, err, c.path)
		if c.err != nil {
			assert.ErrorIs(t, err, c.err, c.path)
		}
		if c.msg != "" {
			assert.Contains(t, err.Error(), c.msg, c.path)
		}
	}
	none, _ := New("test roots", nil)
	_, err = none.Resolve("x")
	assert.ErrorIs(t, err, ErrNoRoots)
	_, err = New("test roots", []string{filepath.Join(root, "in.log")})
	assert.ErrorContains(t, err, "not a directory")
}
