package serve

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheck(t *testing.T) {
	ok := Options{Transport: "http", Listen: "127.0.0.1:8081", MaxOutputBytes: DefaultMaxOutputBytes}
	assert.NoError(t, ok.Check())
	cases := []struct {
		mod  func(o *Options)
		want string
	}{
		{func(o *Options) { o.Listen = "0.0.0.0:8081" }, "refusing to listen on 0.0.0.0:8081 without auth"},
		{func(o *Options) { o.Transport = "grpc" }, "use stdio or http"},
		{func(o *Options) { o.TLSCert = "c.pem" }, "--tls-cert and --tls-key go together"},
		{func(o *Options) { o.MaxOutputBytes = 10 }, "use at least 1024"},
		{func(o *Options) { o.OIDCIssuer = "https://id.example" }, "--oidc-issuer needs --oidc-audience"},
		{func(o *Options) { o.Listen = "8081" }, "want host:port"},
		{func(o *Options) { o.OIDCRoleMap = []string{"sre"} }, `--oidc-role-map "sre": want group=role`},
		{func(o *Options) { o.Delegates = []string{"oidc:"} }, `--delegates "oidc:": name a user`},
		{func(o *Options) { o.MaxBodyBytes = 100 }, "--max-body-bytes 100: use at least 1024"},
	}
	for _, c := range cases {
		o := ok
		c.mod(&o)
		assert.ErrorContains(t, o.Check(), c.want)
	}
	o := ok
	o.Listen, o.InsecureNoAuth = "0.0.0.0:8081", true
	assert.NoError(t, o.Check(), "explicitly insecure")
	o.InsecureNoAuth, o.AuthTokens = false, "tokens"
	assert.NoError(t, o.Check(), "with auth")
}
