package mask

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// linearShapes are lines that once made masking superlinear: a unit
// repeated to fill a 64 KiB line. "password:password:…" gave every key
// a value running to the end of the line, and the repeat search compared
// each of them at each of their positions (cubic: 57 s at 64 KiB).
var linearShapes = []string{
	"password:", "authorization:", "cookie: ", "password: \"", "a=", "token ",
	"password: Qz1x%05d\n", "pass=%040d ", "[MASKED:x:01234567] password: x%06d ",
	"x-api-key: ", "secret_id=", "password%%3D", " --password ", "-----BEGIN RSA PRIVATE KEY-----\n",
	"http://aaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", "name: password\n", "variable \"x\" { sensitive = true\n",
	"password: aaaaaaaa%d\n", "password: \"ab\\\"", "<password>", "password => '", "ALTER USER x WITH PASSWORD '",
	"<a b=\"", "<password>x", "key=\"password\" ", "ENV ", "ENV password ", "sshpass -p", "password: !a ",
	"cGFzc3dvcmQ6IHF4N3NlY3JldFZhbDkg", "password: \"\\", "password=\"%d\\\" ",
	"\"kind\":\"Secret\",\"data\":{", "kind: Secret\ndata:\n", "---\nkind: Secret\n", "kind: Secret\ndata:\n  a: |\n   x\n",
}

// TestTextIsLinearOnHostileLines bounds each shape at 64 KiB by a time a
// linear masker meets many times over (tens of milliseconds, even under
// -race on a loaded machine), and a quadratic one misses by far.
func TestTextIsLinearOnHostileLines(t *testing.T) {
	m := New(testKey)
	for _, unit := range linearShapes {
		s := fill(unit, 64<<10)
		start := time.Now()
		m.Text(s)
		d := time.Since(start)
		assert.Less(t, d, 5*time.Second, "%q ×%d took %v", unit, len(s)/len(unit), d)
	}
}

func fill(unit string, size int) string {
	var sb strings.Builder
	for i := 0; sb.Len() < size; i++ {
		if strings.Contains(unit, "%") {
			fmt.Fprintf(&sb, unit, i)
		} else {
			sb.WriteString(unit)
		}
	}
	return sb.String()
}

// TestStructuredKeyValuePairs: a value is secret because of a sibling
// that names it, whatever the pair's field names ({key, value} as Helm,
// Consul and many APIs write it; {Name, Value} as Go marshals it), and a
// map key that itself carries a secret is masked like a value, without
// the placeholder's kind repeating it.
func TestStructuredKeyValuePairs(t *testing.T) {
	m := New(testKey)
	const s = "Qx7structSecret9"
	for _, in := range []any{
		map[string]any{"key": "password", "value": s},
		map[string]any{"Key": "DB_PASSWORD", "Value": s},
		map[string]any{"Name": "API_TOKEN", "Value": s},
		map[string]any{"name": "SMTP_PASSWORD", "value": s, "valueFrom": nil},
		map[string]any{"labels": map[string]any{"Authorization: Bearer " + s: "1"}},
		map[string]any{"password=" + s: "x"},
		map[string]any{"fields": map[string]any{"postgres://app:" + s + "@db/x": true}},
	} {
		out, n := m.Value(in)
		raw, _ := json.Marshal(out)
		assert.NotContains(t, string(raw), s, "%v", in)
		assert.NotContains(t, strings.ToLower(string(raw)), strings.ToLower(s[3:11]), "a part of it in a placeholder's kind: %s", raw)
		assert.GreaterOrEqual(t, n, 1)
	}
	// Pairs that are not secret stay readable.
	out, n := m.Value(map[string]any{"key": "region", "value": "eu-west-1", "labels": map[string]any{"app.kubernetes.io/name": "web"}})
	assert.Zero(t, n)
	raw, _ := json.Marshal(out)
	assert.Contains(t, string(raw), "eu-west-1")
	assert.Contains(t, string(raw), "app.kubernetes.io/name")
}

// TestMoreForms are shapes an attack on the masker found leaking: values
// with escaped quotes or no closing quote, source code (Go :=, Ruby and
// PHP =>), XML elements and attribute pairs, Go's rendering of an HTTP
// header map, SQL that sets a password, quoted and run-on command-line
// passwords, numbered keys, a password holding '@' in a URL, YAML tags,
// Dockerfile ENV and setx, short names (PW, dbpass), and a known form
// base64-encoded.
func TestMoreForms(t *testing.T) {
	m := New(testKey)
	const s = "Qx7secretVal9"
	b64 := func(v string) string { return base64.StdEncoding.EncodeToString([]byte(v)) }
	for _, in := range []string{
		`password: "abc\"` + s + `"`,
		`{"password":"x\"` + s + `"}`,
		`{"password":"x\\\"` + s + `"}`,
		`password="` + s,
		`password='` + s,
		`password := "` + s + `"`,
		`password => '` + s + `'`,
		`'password' => '` + s + `',`,
		`<password>` + s + `</password>`,
		`<Password>` + s + `</Password>`,
		`<ns:clientSecret>` + s + `</ns:clientSecret>`,
		`<add key="DbPassword" value="` + s + `"/>`,
		`<entry name="api_token" value="` + s + `" />`,
		`"Authorization": ["Bearer ` + s + `"]`,
		`map[Authorization:[Bearer ` + s + `] Accept:[*/*]]`,
		`"X-Api-Key": ["` + s + `"]`,
		`"X-Auth-Token":["` + s + `"]`,
		`ALTER USER app WITH PASSWORD '` + s + `';`,
		`ALTER ROLE app WITH ENCRYPTED PASSWORD '` + s + `'`,
		`CREATE USER 'x'@'%' IDENTIFIED BY '` + s + `';`,
		`CREATE USER x IDENTIFIED WITH mysql_native_password BY '` + s + `';`,
		`mysql -uroot -p'` + s + `' app`,
		`mysql -uroot -p"` + s + `" app`,
		`sshpass -p` + s + ` ssh host`,
		`password1=` + s,
		`Password123: ` + s,
		`postgres://user:p@ss` + s + `@host/db`,
		`secret: !!binary ` + s,
		"password: !vault |\n  " + s + "\n",
		`ENV DB_PASSWORD ` + s,
		`setx DB_PASSWORD ` + s,
		`redis-cli CONFIG SET requirepass ` + s,
		`requirepass ` + s,
		`DB_PW=` + s,
		`pw: ` + s,
		`DBPASS=` + s,
		`dbpass: ` + s,
		`config: ` + b64(`{"password":"`+s+`"}`),
		`echo ` + b64("postgres://app:"+s+"@db:5432/x") + ` | base64 -d`,
		`.dockerconfigjson: ` + b64(`{"auths":{"r":{"auth":"`+s+`"}}}`),
	} {
		out, _ := m.Text(in)
		assert.NotContains(t, out, s, "%q -> %q", in, out)
		assert.NotContains(t, out, s[3:], "%q -> %q", in, out)
	}
	v, _ := m.Value(map[string]any{"config": b64(`{"password":"` + s + `"}`)})
	raw, _ := json.Marshal(v)
	assert.NotContains(t, string(raw), b64(`{"password":"`+s+`"}`), "base64 of a known form in structured data")
}

// TestMoreFormsKeepWhatOperatorsNeed: the detectors added for
// TestMoreForms leave ordinary text alone.
func TestMoreFormsKeepWhatOperatorsNeed(t *testing.T) {
	m := New(testKey)
	for _, in := range []string{
		`<name>web</name><replicas>3</replicas>`,
		`<password-policy>strict</password-policy>`,
		`<add key="Region" value="eu-west-1"/>`,
		`map[Accept:[*/*] Content-Type:[application/json]]`,
		`ALTER USER app WITH LOGIN;`,
		`mysql -u root -p app`,
		`password policy: see https://wiki/x`,
		`x := compute(y)`,
		`for _, secret := range secrets {`,
		`root, secret := t.TempDir(), newSecret()`,
		`token := r.Header.Get("Authorization")`,
		`opts => { password => $password }`,
		`opts => { retries: 3 }`,
		`ENV PATH /usr/local/bin:$PATH`,
		`tag: !!str 1.0`,
		`sha256:` + base64.StdEncoding.EncodeToString([]byte("just a plain sentence, no secret in it")),
		`digest: MEUCIQDxYz3bmK8nYJ2vGq4XcT9p5Lr7s1AaBbCcDdEeFfGgHhIiJjKkLlMmNnOoPp==`,
	} {
		out, n := m.Text(in)
		assert.Equal(t, in, out)
		assert.Zero(t, n, in)
	}
}

// TestSecretManifests: a Secret's data is hidden however it arrives: as
// an item of a SecretList (the API leaves kind out of list items), and as
// text, the YAML or JSON of a manifest (a file in a repository, kubectl
// output in a log). A ConfigMap beside it stays readable.
func TestSecretManifests(t *testing.T) {
	m := New(testKey)
	list := map[string]any{"kind": "SecretList", "apiVersion": "v1", "items": []any{
		map[string]any{"metadata": map[string]any{"name": "x"}, "type": "Opaque", "data": map[string]any{"conf": "c2VjcmV0dmFsdWU="}},
	}}
	out, n := m.Value(list)
	raw, _ := json.Marshal(out)
	assert.NotContains(t, string(raw), "c2VjcmV0dmFsdWU=")
	assert.Equal(t, 1, n)
	assert.Contains(t, string(raw), `"conf"`, "key names stay")

	yaml := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  region: eu-west-1\n---\napiVersion: v1\ndata:\n  conf: c2VjcmV0dmFsdWU=\n  other: \"b3RoZXJzZWNyZXQ=\"\nkind: Secret\nmetadata:\n  name: x\ntype: Opaque\n---\napiVersion: v1\nkind: Secret\nstringData:\n  conf: plainsecretvalue\n  multi: |\n    line1secret\n    line2secret\n"
	got, _ := m.Text(yaml)
	for _, s := range []string{"c2VjcmV0dmFsdWU=", "b3RoZXJzZWNyZXQ=", "plainsecretvalue", "line1secret", "line2secret"} {
		assert.NotContains(t, got, s)
	}
	for _, keep := range []string{"region: eu-west-1", "conf:", "other:", "name: x", "type: Opaque"} {
		assert.Contains(t, got, keep)
	}
	for _, js := range []string{
		`{"apiVersion":"v1","data":{"conf":"c2VjcmV0dmFsdWU=","b":"b3RoZXJzZWNyZXQ="},"kind":"Secret"}`,
		`{"kind": "Secret", "stringData": {"conf": "plainsecretvalue"}}`,
	} {
		got, _ := m.Text(js)
		for _, s := range []string{"c2VjcmV0dmFsdWU=", "b3RoZXJzZWNyZXQ=", "plainsecretvalue"} {
			assert.NotContains(t, got, s, js)
		}
	}
	cm := `{"kind":"ConfigMap","data":{"region":"eu-west-1"}}`
	got, _ = m.Text(cm)
	assert.Equal(t, cm, got)
}

// TestSpaceSeparatedSettings: config formats that separate a key from its
// value by blanks (.netrc, redis.conf, sshd-like files, a key and a value
// alone on a line) hide the value when it is not a plain word.
func TestSpaceSeparatedSettings(t *testing.T) {
	m := New(testKey)
	const s = "Qx7secretVal9"
	for _, in := range []string{
		"machine git.example.com login ci password " + s,
		"machine git.example.com\n  login ci\n  password " + s + "\n",
		"PASSWORD\t" + s,
		"  password        " + s,
		"auth_token " + s,
	} {
		out, _ := m.Text(in)
		assert.NotContains(t, out, s, "%q -> %q", in, out)
	}
	for _, in := range []string{"password required", "Password changed", "token expired", "password_file /etc/app/pw.txt", "secret ./run/secret.key",
		"\tSecret []byte", "\tfirstToken    *time.Time", "\tapiKey string", "token int64"} {
		out, n := m.Text(in)
		assert.Equal(t, in, out)
		assert.Zero(t, n, in)
	}
}

// TestSwarmTokens: Docker Swarm join tokens and the unlock key, which the
// engine returns under plain keys (JoinTokens.Worker, UnlockKey), are
// credentials by their own shape.
func TestSwarmTokens(t *testing.T) {
	m := New(testKey)
	join := "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx"
	unlock := "SWMKEY-1-7c37Cc8654o6p38HnroywCi19pllOnGtbdZEgtKxZu8"
	v, _ := m.Value(map[string]any{"JoinTokens": map[string]any{"Worker": join, "Manager": join}, "UnlockKey": unlock})
	raw, _ := json.Marshal(v)
	assert.NotContains(t, string(raw), join)
	assert.NotContains(t, string(raw), unlock)
	out, _ := m.Text("docker swarm join --token " + join + " 10.0.0.1:2377\nUnlock key: " + unlock)
	assert.NotContains(t, out, join[10:])
	assert.NotContains(t, out, unlock[10:])
	assert.Contains(t, out, "10.0.0.1:2377")
}

// TestPlaceholderNextToASecretShieldsNothing: a well-formed placeholder
// planted inside or beside a value (or inside a key block) used to make
// the whole value count as masked already. Only the placeholder itself is
// left alone now; the rest of the value is masked.
func TestPlaceholderNextToASecretShieldsNothing(t *testing.T) {
	m := New(testKey)
	const s = "hunter2hunter2"
	const ph = "[MASKED:x:01234567]"
	for _, in := range []string{
		"password: " + ph + s,
		"password: " + s + ph,
		"Authorization: Bearer " + ph + s,
		"postgres://u:" + ph + s + "@db/x",
		"-----BEGIN RSA PRIVATE KEY-----\n" + ph + "\n" + s + "\n-----END RSA PRIVATE KEY-----",
		"token: \"" + ph + " " + s + "\"",
	} {
		out, _ := m.Text(in)
		assert.NotContains(t, out, s, "%q -> %q", in, out)
		assert.Contains(t, out, ph, "the placeholder itself stays whole")
		again, _ := m.Text(out)
		assert.Equal(t, out, again, "idempotent")
	}
}

// TestManyPlaceholdersStayLinear: subtracting placeholders from values is
// one sweep, not each value against each placeholder.
func TestManyPlaceholdersStayLinear(t *testing.T) {
	m := New(testKey)
	s := fill("password:[MASKED:x:01234567]", 64<<10)
	start := time.Now()
	m.Text(s)
	assert.Less(t, time.Since(start), 5*time.Second)
}

// TestLookAlikeKeys records a decision: ＰＡＳＳＷＯＲＤ (fullwidth) and
// pаssword (Cyrillic а) are keys no config format, shell or program reads
// as "password", so an operator's secret is never set under them, and
// they are not taken for secret keys (that would need Unicode folding of
// every key on every line). A secret of a known shape under them is
// masked by its shape all the same.
func TestLookAlikeKeys(t *testing.T) {
	m := New(testKey)
	const tok = "ghp_0123456789abcdefghijABCDEFGHIJ0123456789"
	for _, key := range []string{"ＰＡＳＳＷＯＲＤ", "pаssword", "pass\u200bword"} {
		out, _ := m.Text(key + ": " + tok)
		assert.NotContains(t, out, tok, key)
	}
	assert.False(t, SensitiveKey("ＰＡＳＳＷＯＲＤ"))
	assert.False(t, SensitiveKey("pаssword"))
}
