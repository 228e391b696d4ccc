package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/config"
)

func parse(t *testing.T, env map[string]string, args ...string) Options {
	t.Helper()
	fs := config.NewFlagSet("t", "test")
	var o Options
	AddFlags(fs, &o, 8081)
	require.NoError(t, fs.Parse(args))
	require.NoError(t, config.FromEnv(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok }))
	return o
}

// TestAuditRequired: by default a call over HTTP fails when its audit
// line cannot be written, over stdio it does not; the flag and its
// environment variable override either.
func TestAuditRequired(t *testing.T) {
	cases := []struct {
		env  map[string]string
		args []string
		want bool
	}{
		{nil, []string{"--transport", "http"}, true},
		{nil, nil, false},
		{nil, []string{"--transport", "http", "--audit-required=false"}, false},
		{nil, []string{"--audit-required"}, true},
		{map[string]string{"OPSMCP_AUDIT_REQUIRED": "false", "OPSMCP_TRANSPORT": "http"}, nil, false},
		{map[string]string{"OPSMCP_AUDIT_REQUIRED": "true"}, nil, true},
	}
	for _, c := range cases {
		o := parse(t, c.env, c.args...)
		assert.Equal(t, c.want, o.AuditIsRequired(), "%v %v", c.env, c.args)
	}
	fs := config.NewFlagSet("t", "test")
	var o Options
	AddFlags(fs, &o, 8081)
	assert.ErrorContains(t, fs.Parse([]string{"--audit-required=maybe"}), "want true or false")
}

func TestSetDefault(t *testing.T) {
	fs := config.NewFlagSet("t", "test")
	var o Options
	AddFlags(fs, &o, 8081)
	require.NoError(t, SetDefault(fs, "rate-limit", "30"))
	assert.Equal(t, 30.0, o.RatePerMinute)
	assert.Equal(t, "30", fs.Lookup("rate-limit").DefValue)
	assert.False(t, fs.Changed("rate-limit"))
	// The environment still applies over the new default.
	require.NoError(t, config.FromEnv(fs, func(k string) (string, bool) { return "7", k == "OPSMCP_RATE_LIMIT" }))
	assert.Equal(t, 7.0, o.RatePerMinute)
	assert.Error(t, SetDefault(fs, "no-such-flag", "1"))
	assert.Error(t, SetDefault(fs, "rate-limit", "lots"))
}

// TestOIDCWithoutRoleMapWarns (issue 23): with neither --oidc-role-map nor
// --oidc-group-prefix, OIDC users get no roles and the server says so at
// start.
func TestOIDCWithoutRoleMapWarns(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": srv.URL, "jwks_uri": srv.URL + "/jwks"})
	})
	for _, c := range []struct {
		args []string
		warn bool
	}{
		{nil, true},
		{[]string{"--oidc-role-map", "platform=sre"}, false},
		{[]string{"--oidc-group-prefix", "opsmcp-"}, false},
	} {
		o := parse(t, nil, append([]string{"--transport", "http", "--oidc-issuer", srv.URL, "--oidc-audience", "opsmcp"}, c.args...)...)
		require.NoError(t, o.Check())
		var logs bytes.Buffer
		v, d, err := o.Auth(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)))
		require.NoError(t, err)
		assert.NotNil(t, v)
		assert.NotNil(t, d.UserTokens, "the OIDC verifier also checks delegated user tokens")
		assert.Equal(t, c.warn, bytes.Contains(logs.Bytes(), []byte("OIDC users get no roles")), "%v: %s", c.args, logs.String())
	}
}
