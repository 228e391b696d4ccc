package tools

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/shared/tool"
)

// TestKubectlTemplateFilesAreNotRead: kubectl's printers read a local
// file for -o templatefile (go-template-file's other name) and quote it
// in their parse error; every output format that names a file is
// refused before anything runs, whatever it is called.
func TestKubectlTemplateFilesAreNotRead(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "local")
	require.NoError(t, os.WriteFile(secret, []byte("LOCALFILE-{{ .nope"), 0o600))
	api := newFakeAPI(t)
	s := api.server(t)
	for _, line := range []string{
		"get pod p -o templatefile --template=" + secret,
		"get pod p -o templatefile=" + secret,
		"get pod p -otemplatefile=" + secret,
		"get pod p --output=templatefile --template " + secret,
		"events -o templatefile=" + secret,
		"rollout history deploy/x -o templatefile=" + secret,
		"get pod p -o custom-columns-file=" + secret,
		"get pod p -o go-template-file --template=" + secret,
	} {
		api.reset()
		res, err := s.kubectl(t.Context(), callAs(t, "", "k8s_kubectl"), KubectlInput{Command: line})
		if res != nil {
			assert.NotContains(t, res.Text, "LOCALFILE", line)
		}
		require.Error(t, err, line)
		assert.NotContains(t, err.Error(), "LOCALFILE", line)
		assert.True(t, errors.Is(err, tool.ErrDenied), "%s: %v", line, err)
		assert.Empty(t, api.requests(), line)
	}
}

// runsWithin runs the command and fails when it has not returned in d:
// kubectl's printers cannot be stopped once they run, so a template that
// loops holds a core after the call's deadline.
func runsWithin(t *testing.T, s *Server, line string, d time.Duration) (*tool.Result, error) {
	t.Helper()
	type out struct {
		res *tool.Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := s.kubectl(t.Context(), callAs(t, "", "k8s_kubectl"), KubectlInput{Command: line})
		done <- out{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-time.After(d):
		t.Fatalf("%s: still running after %s", line, d)
		return nil, nil
	}
}

// TestKubectlTemplatesCannotLoop: a go-template runs in this process with
// no way to stop it, so templates that loop far past the data (a range
// over a number, a template calling itself, a range over the root inside
// a range) are refused before anything runs; templates that walk the
// object still work.
func TestKubectlTemplatesCannotLoop(t *testing.T) {
	api := newFakeAPI(t)
	s := api.server(t)
	for _, tpl := range []string{
		`{{range 1000000000000}}{{end}}`,
		`{{range $i := 1000000000000}}{{end}}`,
		`{{range len .metadata.name}}{{range 100000000000}}{{end}}{{end}}`,
		`{{define "r"}}{{range $.spec.containers}}{{template "r" $}}{{end}}{{end}}{{template "r" .}}`,
		`{{range .spec.containers}}{{template "output" $}}{{end}}`,
		`{{block "b" .}}{{range .spec.containers}}{{template "b" $}}{{end}}{{end}}`,
		`{{range .spec.containers}}{{range $.spec.containers}}{{range $.spec.containers}}{{end}}{{end}}{{end}}`,
		`{{$r := .}}{{range .spec.containers}}{{range $r.spec.containers}}{{end}}{{end}}`,
		`{{range len .spec.containers}}{{range .}}{{end}}{{end}}`,
		`{{$n := 1000000000000}}{{range $n}}{{end}}`,
		`{{with $n := 1000000000000}}{{range .}}{{end}}{{end}}`,
		`{{with 1000000000000}}{{range .}}{{end}}{{end}}`,
		`{{range .spec.containers}}{{with $}}{{range .spec.containers}}{{with $}}{{range .spec.containers}}{{end}}{{end}}{{end}}{{end}}{{end}}`,
		`{{range (.spec.containers)}}{{end}}`,
	} {
		for _, line := range []string{"get pod p -o go-template='" + tpl + "'", "get pod p -o template --template='" + tpl + "'",
			"get pod p --template='" + tpl + "'"} {
			api.reset()
			_, err := runsWithin(t, s, line, 10*time.Second)
			require.Error(t, err, line)
			assert.True(t, errors.Is(err, tool.ErrDenied), "%s: %v", line, err)
			assert.Empty(t, api.requests(), line)
		}
	}
	for _, tpl := range []string{
		`{{.metadata.name}}`,
		`{{range .spec.containers}}{{.name}}{{range .ports}}{{.containerPort}}{{end}}{{end}}`,
		`{{range $i, $c := .spec.containers}}{{$i}}={{$c.name}} {{end}}`,
		`{{with .metadata}}{{.namespace}}{{end}}`,
		`{{with index .metadata "name"}}{{.}}{{end}}`,
		`{{range .spec.containers}}{{with .name}}{{.}}{{end}}{{end}}`,
	} {
		res, err := runsWithin(t, s, "get pod p -o go-template='"+tpl+"'", 10*time.Second)
		require.NoError(t, err, tpl)
		assert.NotEmpty(t, res.Text, tpl)
	}
}

// repeatedUnion is a JSONPath step naming field k m times: each copy is
// walked on its own, so n such steps give m^n results.
func repeatedUnion(k string, m int) string {
	return "['" + strings.TrimSuffix(strings.Repeat(k+"','", m), "','") + "']"
}

// TestKubectlJSONPathCannotExplode: a JSONPath union that names the same
// field many times, step after step, multiplies the results (m^n) and
// every one is built in memory before anything prints; so do chained
// recursive descents. kubectl runs JSONPath for -o jsonpath, custom
// columns and --sort-by, and nothing stops it once it runs: these are
// refused before anything runs, and ordinary paths still work.
func TestKubectlJSONPathCannotExplode(t *testing.T) {
	api := newFakeAPI(t)
	s := api.server(t)
	bomb := repeatedUnion("spec", 300) + repeatedUnion("containers", 300) + "[*]" + repeatedUnion("name", 300)
	idx := ".spec.containers[0,-1,0,-1,0,-1,0,-1,0,-1,0,-1,0,-1,0,-1][0,-1,0,-1,0,-1,0,-1,0,-1,0,-1,0,-1,0,-1]"
	for _, line := range []string{
		`get pod p -o jsonpath="{` + bomb + `}"`,
		`get pod p -o jsonpath-as-json="{` + bomb + `}"`,
		`get pod p -o jsonpath --template="{` + bomb + `}"`,
		`get pod p -o custom-columns=X:{..spec..containers..name..x}`,
		`get pods --sort-by="{` + bomb + `}"`,
		`get pod p -o jsonpath={..spec..containers..name..x}`,
		`get pod p -o jsonpath="{` + idx + idx + `}"`,
		`get pod p -o jsonpath="{.spec.containers[?(@.name` + idx + idx + `)]}"`,
	} {
		api.reset()
		_, err := runsWithin(t, s, line, 10*time.Second)
		require.Error(t, err, line)
		assert.True(t, errors.Is(err, tool.ErrDenied), "%.80s: %v", line, err)
		assert.Empty(t, api.requests(), line)
	}
	for _, line := range []string{
		"get pod p -o jsonpath={.spec.containers[*].name}",
		`get pod p -o jsonpath="{.spec.containers[*]['name','image']}"`,
		"get pod p -o jsonpath={..name}",
		`get pod p -o jsonpath="{range .spec.containers[*]}{.name}{end}"`,
		"get pod p -o custom-columns=NAME:.metadata.name,C:.spec.containers[*].name",
		"get pods --sort-by=.metadata.name",
	} {
		_, err := runsWithin(t, s, line, 10*time.Second)
		require.NoError(t, err, line)
	}
}

// TestKubectlTemplatesCannotGrowExponentially: text/template's js doubles
// every backslash and printf can use one argument many times (%[1]s), so
// a template that feeds a computed value back into such a function, one
// statement after another, grows its string 2^n times in a few hundred
// characters (the process runs out of memory); so does a chain of nested
// calls. Refused before anything runs; ordinary printf, js and variables
// still work.
func TestKubectlTemplatesCannotGrowExponentially(t *testing.T) {
	api := newFakeAPI(t)
	s := api.server(t)
	doubling := `{{$a := js "\\"}}` + strings.Repeat(`{{$a := js $a}}`, 40) + `{{len $a}}`
	nested := strings.Repeat(`{{js (`, 1) + strings.Repeat(`js (`, 40) + `"\\"` + strings.Repeat(`)`, 41) + `}}`
	chain := `{{.metadata.name` + strings.Repeat(` | printf "%[1]s%[1]s%[1]s%[1]s"`, 30) + ` | len}}`
	for _, tpl := range []string{
		doubling,
		`{{$a := .metadata.name}}` + strings.Repeat(`{{$a = printf "%s%s" $a $a}}`, 40),
		`{{$a := print .metadata.name .metadata.name}}` + strings.Repeat(`{{$a := print $a $a}}`, 40),
		nested,
		chain,
		`{{.metadata.name | js | js | js | js | js | js | js | js}}`,
		`{{printf "%[1]s%[1]s%[1]s%[1]s" .metadata.name}}`,
		`{{printf "%*s" 999999 .metadata.name}}`,
		`{{printf "%0999999d" 1}}`,
		`{{printf (print "%0" "999999d") 1}}`,
		`{{call .x}}`,
		`{{range .spec.containers}}{{$y := print $ $ $ $}}{{end}}`,
		`{{$r := .}}{{range .spec.containers}}{{$y := printf "%v" $r}}{{end}}`,
	} {
		line := "get pod p -o go-template='" + tpl + "'"
		api.reset()
		_, err := runsWithin(t, s, line, 10*time.Second)
		require.Error(t, err, tpl)
		assert.True(t, errors.Is(err, tool.ErrDenied), "%.80s: %v", tpl, err)
		assert.Empty(t, api.requests(), tpl)
	}
	for _, tpl := range []string{
		`{{printf "%s\n" .metadata.name}}`,
		`{{.metadata.name | printf "%q"}}`,
		`{{js .metadata.name}} {{html .metadata.name}} {{urlquery .metadata.name}}`,
		`{{range $i, $c := .spec.containers}}{{printf "%d:%s" $i $c.name}}{{end}}`,
		`{{$n := .metadata.name}}{{range .spec.containers}}{{$n}}/{{.name}}{{end}}`,
		`{{$n := printf "%s/%s" .metadata.namespace .metadata.name}}{{$n}} {{len $n}}`,
		`{{if eq .kind "Pod"}}{{index .metadata "name"}}{{end}}`,
		`{{printf "%-20s%5d" .metadata.name 3}}`,
	} {
		res, err := runsWithin(t, s, "get pod p -o go-template='"+tpl+"'", 10*time.Second)
		require.NoError(t, err, tpl)
		assert.NotEmpty(t, res.Text, tpl)
	}
}

// TestOutputStopsItsWriterWhenCut: once kubectl's output is past the
// bound, a write fails, so a printer (a template printing the root for
// every item) stops instead of formatting on into a discarded buffer.
func TestOutputStopsItsWriterWhenCut(t *testing.T) {
	var b limitedBuffer
	_, err := b.Write(make([]byte, maxOutput))
	require.NoError(t, err)
	_, err = b.Write([]byte("x"))
	require.Error(t, err)
	assert.Contains(t, b.String(), "output cut")
}

// TestKubectlGlobalFlagsAreNotThere: klog's and the Go runtime's
// process-wide flags (log files, verbosity that prints request headers)
// and the short and combined spellings of refused flags are refused
// before any request.
func TestKubectlGlobalFlagsAreNotThere(t *testing.T) {
	api := newFakeAPI(t)
	s := api.server(t)
	for _, line := range []string{
		"get pods --log-file=/tmp/x", "get pods --log_file=/tmp/x", "get pods --logtostderr=false", "get pods --alsologtostderr",
		"get pods -v9", "get pods -v=9", "get pods --v=9", "get pods --vmodule=*=9", "get pods --log-dir=/tmp",
		"get pods --add-dir-header", "get pods --skip-headers", "get pods --one-output", "get pods --stderrthreshold=0",
		"get pods --cache-dir=/tmp/x", "get pods --profile=cpu", "get pods --profile-output=/tmp/p", "get pods --kuberc=/tmp/k",
		"get pods --match-server-version", "get pods --disable-compression", "get pods --warnings-as-errors",
		"get pods -s https://evil", "get pods --server=https://evil", "get pods -nweb -s=https://evil",
		"get pods --request-timeout=0", "get pods --insecure-skip-tls-verify", "get pods -wnweb", "get pods -nweb -w",
		"-nweb get pods --watch=true", "get pods --watch=1", "get pods -f=-", "get pods -k .", "get pods --kustomize=.",
		"get pods -R", "cluster-info dump --output-directory=/tmp/d", "get pods -o=go-template-file=/etc/passwd",
		"logs p -f=true", "logs p --follow=1", "events --watch", "top pod --watch", "get pods --output-watch-events",
		"get pods -- --raw /api/v1/secrets", "plugin list", "foo", "completion bash", "options",
	} {
		api.reset()
		_, err := s.kubectl(t.Context(), callAs(t, "", "k8s_kubectl"), KubectlInput{Command: line})
		assert.Error(t, err, line)
		assert.Empty(t, api.requests(), line)
	}
}

// TestKubectlSortByIsShort: kubectl parses --sort-by's path again for
// every comparison of two objects (n log n parses), so its length
// multiplies the work of sorting a long list; a path over 1 KiB is
// refused before anything runs.
func TestKubectlSortByIsShort(t *testing.T) {
	api := newFakeAPI(t)
	s := api.server(t)
	_, err := s.kubectl(t.Context(), callAs(t, "", "k8s_kubectl"), KubectlInput{Command: "get pods -A --sort-by=.metadata" + strings.Repeat(".labels", 200)})
	require.Error(t, err)
	assert.True(t, errors.Is(err, tool.ErrDenied), "%v", err)
	assert.Empty(t, api.requests())
	_, err = s.kubectl(t.Context(), callAs(t, "", "k8s_kubectl"), KubectlInput{Command: "get pods -A --sort-by=.metadata.creationTimestamp"})
	require.NoError(t, err)
}

// TestKubectlTemplatesBuildBoundedStrings: each {{$x := print .}} holds a
// copy of the whole answer (a list across namespaces can be tens of MiB)
// until the template ends, so a thousand of them, or one print of a
// thousand dots, asked for a thousand copies; what string building
// functions take, all calls together, is bounded.
func TestKubectlTemplatesBuildBoundedStrings(t *testing.T) {
	api := newFakeAPI(t)
	s := api.server(t)
	for _, tpl := range []string{
		strings.Repeat(`{{$a := print .}}`, 1000),
		`{{$a := print` + strings.Repeat(` .`, 1000) + `}}`,
		strings.Repeat(`{{$a := printf "%v" .spec}}`, 100),
		strings.Repeat(`{{js .}}`, 100),
		`{{printf}}`,
		`{{"x" | printf}}`,
	} {
		_, err := runsWithin(t, s, "get pod p -o go-template='"+tpl+"'", 10*time.Second)
		require.Error(t, err)
		assert.True(t, errors.Is(err, tool.ErrDenied), "%.60s: %v", tpl, err)
	}
	res, err := runsWithin(t, s, `get pod p -o go-template='{{printf "%s %s %s" .metadata.name .metadata.namespace .kind}} {{js .metadata.name}} {{print .kind}}'`, 10*time.Second)
	require.NoError(t, err)
	assert.Contains(t, res.Text, "p web Pod")
}
