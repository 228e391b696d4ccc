package kubernetes_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsmcp/opsmcp/e2e/harness"
)

// parityReads are read-only kubectl commands (the cheat sheet's read-only
// part, against the harness fixtures). Each runs through k8s_kubectl and
// through the real kubectl of the API server's version, as the same
// identity; after ages, resource versions and masked values are
// normalised, the outputs must be the same or the command must be listed
// in testdata/parity_differs.txt with a reason. None may be refused.
var parityReads = []string{
	// get: tables, wide, labels, columns, sorting
	"get pods -n team-a", "get pods -n team-a -o wide", "get pods -n team-a --show-labels", "get pods -A", "get pods -A -o wide",
	"get po -n team-a --no-headers", "get pods -n team-a --show-kind", "get pods -n team-a -L app", "get pods -n team-a --sort-by .metadata.name",
	"get pods -n team-a --field-selector status.phase=Pending", "get pods -n team-a -l app=web", "get pods -n team-a -o name",
	"get pod logger -n team-a", "get pod logger -n team-a -o yaml", "get pod logger -n team-a -o json",
	"get pod logger -n team-a -o jsonpath={.spec.containers[*].name}", "get pod nope -n team-a --ignore-not-found", "get pod nope -n team-a",
	"get deploy -n team-a", "get deploy -n team-a -o wide", "get deployments.apps -n team-a", "get deploy web -n team-a", "get deploy/web -n team-a -o yaml",
	"get deploy/web -n team-a -o json", "get deploy -n team-a -o name", "get deploy -A", "get deploy -A --show-labels", "get deploy -n team-a -L app,tier",
	"get deploy web -n team-a -o jsonpath={.spec.replicas}", "get deploy -n team-a -o jsonpath={.items[*].spec.template.spec.containers[*].env}",
	"get deploy -n team-a -o go-template='{{range.items}}{{.metadata.name}}{{\"\\n\"}}{{end}}'",
	"get deploy -n team-a -o custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas,IMAGE:.spec.template.spec.containers[0].image",
	"get deploy -n team-b", "get deploy api -n team-b -o yaml", "get rs -n team-a", "get rs -n team-a -o wide", "get sts -n team-a",
	"get sts cache -n team-a -o yaml", "get sts -A -o wide", "get svc -n team-a", "get svc -A", "get cm -n team-a", "get cm app-config -n team-a -o yaml",
	"get cm -n bulk", "get cm -n bulk -l set=bulk -o name", "get cm -n bulk --sort-by .metadata.name", "get cm -n bulk --chunk-size 7",
	"get cm -n team-a -o custom-columns=NAME:.metadata.name,KEYS:.data", "get secrets -n team-a", "get secret db-creds -n team-a -o yaml",
	"get secret db-creds -n team-a -o jsonpath={.data.password}", "get secrets -n team-a -o name", "get secrets -A",
	"get ns", "get ns --show-labels", "get ns team-a -o yaml", "get ns -o name", "get nodes", "get nodes -o wide", "get node fake-node -o yaml",
	"get no --show-labels", "get priorityclasses", "get pc -o wide", "get priorityclass system-node-critical -o jsonpath={.value}",
	"get pc --sort-by .value", "get pc -o custom-columns=NAME:.metadata.name,VALUE:.value",
	"get events -n team-a", "get ev -A", "get events -n team-a --field-selector type=Warning", "get events -n team-a --sort-by .metadata.name",
	"get widgets -n team-a", "get wd -n team-a -o yaml", "get widgets -A", "get crd", "get crd widgets.example.com -o yaml",
	"get all -n team-a", "get all -n team-b", "get pods,deploy -n team-a", "get deploy,sts,svc -n team-a", "get sa -n team-a", "get roles -A",
	"get clusterrole view -o yaml", "get rolebindings -A", "get endpointslices -n team-a", "get pvc -A", "get pv", "get ingress -A",
	"get networkpolicies -A", "get jobs -A", "get cronjobs -A", "get ds -A", "get limitrange -A", "get quota -A", "get storageclass",
	"get apiservices", "get leases -n kube-node-lease", "get csr", "get --raw /version", "get --raw /healthz", "get --raw /readyz", "get --raw /livez",
	"get pods -A --sort-by .metadata.creationTimestamp", "get deploy -n team-a --sort-by .spec.replicas", "get pods -n team-b", "get events -n team-b",
	// describe
	"describe deploy web -n team-a", "describe deploy/web -n team-a", "describe deploy -n team-a", "describe pods -n team-a",
	"describe pod logger -n team-a", "describe pods -l app=web -n team-a", "describe node fake-node", "describe nodes", "describe ns team-a",
	"describe sts cache -n team-a", "describe secret db-creds -n team-a", "describe cm app-config -n team-a", "describe rs -n team-a",
	"describe widgets -n team-a", "describe pc system-node-critical", "describe deploy api -n team-b", "describe sa default -n team-a",
	"describe pod logger -n team-a --show-events=false",
	// logs
	"logs logger -n team-a -c app", "logs pod/logger -n team-a -c sidecar --tail 5", "logs logger -n team-a --all-containers",
	"logs logger -n team-a -c sidecar --tail 2 --prefix", "logs -l app=web -n team-a --tail 1", "logs deploy/api -n team-b --pod-running-timeout=2s",
	// events
	"events -n team-a", "events -A", "events -n team-a --types=Warning", "events -n team-a --for deploy/web", "events -n team-a -o yaml",
	// explain, discovery, cluster
	"explain pods", "explain pods.spec.containers", "explain deploy.spec.strategy", "explain pods.spec --recursive", "api-versions",
	"api-resources", "api-resources --namespaced=false", "api-resources --api-group=apps", "api-resources -o name", "api-resources --verbs=list -o wide",
	"cluster-info", "top pods -n team-a", "top nodes",
	// auth, rollout, version, config
	"auth can-i list pods -n team-a", "auth can-i create pods -n team-a", "auth can-i '*' '*'", "auth can-i get secrets -A", "auth can-i --list -n team-a",
	"rollout history deploy/web -n team-a", "rollout history deploy web -n team-a --revision 1", "rollout history sts/cache -n team-a",
	"rollout history deploy -n team-a", "rollout status deploy/api -n team-b --watch=false", "rollout status sts/cache -n team-a --watch=false",
	"version", "config current-context", "config get-contexts",
}

// parityRefused are commands kubectl runs that k8s_kubectl refuses by
// design, each a write, a session, a local file or a credential; every
// one must be refused with a message that names what it refuses.
var parityRefused = map[string]string{
	"delete pod logger -n team-a":                        "delete is refused",
	"apply -f deploy.yaml":                               "apply is refused",
	"edit deploy/web -n team-a":                          "edit is refused",
	"exec logger -n team-a -- sh":                        "exec is refused",
	"port-forward pod/logger 8080:80 -n team-a":          "port-forward is refused",
	"cp team-a/logger:/etc/passwd /tmp/x":                "cp is refused",
	"proxy":                                              "proxy is refused",
	"debug logger -n team-a":                             "debug is refused",
	"attach logger -n team-a":                            "attach is refused",
	"get pods -n team-a -w":                              "--watch is refused",
	"logs logger -n team-a -c app -f":                    "follow flag is refused",
	"get pods --kubeconfig /etc/kubernetes/admin.conf":   "kubeconfig flag is refused",
	"get pods -n team-a --token abc":                     "token flag is refused",
	"get pods -n team-a --as system:admin":               "the as flag is refused",
	"get pods -n team-a --server https://127.0.0.1:1":    "server flag is refused",
	"get -f pod.yaml":                                    "filename flag is refused",
	"get --raw /api/v1/namespaces/team-a/secrets":        "get --raw /api/v1/namespaces/team-a/secrets is refused",
	"rollout restart deploy/web -n team-a":               "rollout restart is refused",
	"scale deploy/web --replicas 3 -n team-a":            "scale is refused",
	"get pods -n team-a -o go-template-file=/etc/passwd": "reads a local file",
}

var (
	ageRe     = regexp.MustCompile(`\b(\d+(y|d|h|m|s)){1,2}\b|<invalid>`)
	rvRe      = regexp.MustCompile(`("?resourceVersion"?: ?)"\d+"`)
	maskedRe  = regexp.MustCompile(`\[MASKED:[a-z0-9-]+:[0-9a-f]+\]( \(\d+ bytes\))?`)
	b64Re     = regexp.MustCompile(`[A-Za-z0-9+/]{16,}={0,2}`)
	spaceRe   = regexp.MustCompile(`[ \t]+`)
	timeRe    = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z|(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d [+-]\d{4}`)
	sizeRe    = regexp.MustCompile(`\b\d+ bytes\b`)
	addressRe = regexp.MustCompile(`https://127\.0\.0\.1:\d+`)
)

// normalise makes two outputs of the same objects comparable: ages and
// times, resource versions, column padding, empty answers, and masked values (a
// placeholder on our side, the planted value or its base64 on kubectl's).
func normalise(s string, clear []string) string {
	// The binder's marker for an empty answer, where kubectl prints
	// nothing.
	if strings.TrimSpace(s) == "(no results)" {
		return ""
	}
	for _, p := range clear {
		if p == "" {
			continue
		}
		s = strings.ReplaceAll(s, base64.StdEncoding.EncodeToString([]byte(p)), "MASKED")
		s = strings.ReplaceAll(s, p, "MASKED")
	}
	s = b64Re.ReplaceAllStringFunc(s, func(m string) string {
		if d, err := base64.StdEncoding.DecodeString(m); err == nil && bytes.HasPrefix(d, []byte("[MASKED")) {
			return "MASKED"
		}
		return m
	})
	s = maskedRe.ReplaceAllString(s, "MASKED")
	// YAML quotes a value that starts with "[", as a placeholder does.
	s = strings.NewReplacer("'MASKED'", "MASKED", `"MASKED"`, "MASKED").Replace(s)
	s = timeRe.ReplaceAllString(s, "TIME")
	s = rvRe.ReplaceAllString(s, `${1}"RV"`)
	s = ageRe.ReplaceAllString(s, "AGE")
	s = sizeRe.ReplaceAllString(s, "N bytes")
	s = addressRe.ReplaceAllString(s, "https://127.0.0.1:PORT")
	s = spaceRe.ReplaceAllString(s, " ")
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// loadDiffers reads the checked-in list of known differences: one
// "command<TAB>reason" per line.
func loadDiffers(t *testing.T) map[string]string {
	f, err := os.Open("testdata/parity_differs.txt")
	require.NoError(t, err)
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cmd, reason, ok := strings.Cut(line, "\t")
		require.True(t, ok && strings.TrimSpace(reason) != "", "parity_differs.txt: %q needs a reason after a tab", line)
		out[cmd] = reason
	}
	return out
}

func TestKubectlParity(t *testing.T) {
	kubectl, err := harness.Kubectl()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(parityReads), 120)
	differsOK := loadDiffers(t)
	// Over 180 calls in a row: past the default per-user rate limit.
	s, _ := stdioSession(t, "--rate-limit", "0")
	clear := append(secrets.all(), secrets.LastApplied)
	var same, differs, refused []string
	var unexplained []string
	for _, line := range parityReads {
		words := splitWords(line)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", readerCfg}, words...)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		kerr := cmd.Run()
		cancel()
		r := call(t, s, "k8s_kubectl", map[string]any{"command": line})
		want := normalise(out.String()+errOut.String(), clear)
		got := normalise(r.Text, clear)
		switch {
		case r.IsError && kerr == nil:
			refused = append(refused, line)
			t.Errorf("refused, though kubectl runs it as a read: %s\n%s", line, r.Text)
		case r.IsError:
			// Both fail: the message must be kubectl's.
			if strings.Contains(r.Text, strings.TrimPrefix(strings.TrimSpace(errOut.String()), "error: ")) {
				same = append(same, line)
				continue
			}
			differs = append(differs, line)
			if differsOK[line] == "" {
				unexplained = append(unexplained, line)
				t.Errorf("differs (both failed): %s\n--- kubectl:\n%s\n--- k8s_kubectl:\n%s", line, errOut.String(), r.Text)
			}
		case got == want:
			same = append(same, line)
		default:
			differs = append(differs, line)
			if differsOK[line] == "" {
				unexplained = append(unexplained, line)
				t.Errorf("differs: %s\n--- kubectl (normalised):\n%s\n--- k8s_kubectl (normalised):\n%s", line, want, got)
			}
		}
	}
	for line, want := range parityRefused {
		r := call(t, s, "k8s_kubectl", map[string]any{"command": line})
		if !r.IsError || !strings.Contains(r.Text, want) {
			t.Errorf("%s: want a refusal naming %q, got %s", line, want, r.Text)
		}
	}
	var stale []string
	for line := range differsOK {
		if !contains(differs, line) {
			stale = append(stale, line)
		}
	}
	sort.Strings(stale)
	fmt.Fprintf(os.Stderr, "kubectl parity (%s): %d read commands: %d same, %d differ (%d listed with a reason), %d refused; %d writes and sessions refused by design\n",
		harness.KubectlVersion, len(parityReads), len(same), len(differs), len(differs)-len(unexplained), len(refused), len(parityRefused))
	if len(stale) > 0 {
		fmt.Fprintf(os.Stderr, "kubectl parity: listed as differing but now the same: %s\n", strings.Join(stale, "; "))
	}
}

// splitWords splits a command line as a shell would for the lines above:
// words apart at spaces, single quotes kept together and dropped.
func splitWords(line string) []string {
	var words []string
	var cur strings.Builder
	quoted, inWord := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

func contains(list []string, v string) bool {
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}
