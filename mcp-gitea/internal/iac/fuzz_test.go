package iac

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzPaths are where a file's content may sit: each picks a parser.
var fuzzPaths = []string{"k8s/app.yaml", "main.tf", "Jenkinsfile", ".gitea/workflows/ci.yaml", "docker-compose.yml", "charts/x/Chart.yaml"}

const fuzzSecret = "Fz9-planted-Secret-Q7"

var knownKinds = map[string]bool{"manifest": true, "kustomization": true, "flux": true, "helm-chart": true, "terraform": true, "workflow": true, "jenkinsfile": true, "compose": true, "finding": true}

// FuzzAnalyzeFile feeds hostile content to every parser: no panic, each
// file done within its time limit (and well within the test's), items
// that point into the file, and a secret set in plain text under a
// secret-looking name never echoed.
func FuzzAnalyzeFile(f *testing.F) {
	f.Add(uint8(0), []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: a\n    image: busybox\n    env:\n    - name: DB_PASSWORD\n      value: hunter2\n"))
	f.Add(uint8(1), []byte("resource \"aws_db_instance\" \"x\" {\n  password = \"hunter2\"\n}\n"))
	f.Add(uint8(2), []byte("pipeline { stages { stage('Build') { steps { sh 'make' } } } }\n"))
	f.Add(uint8(3), []byte("jobs:\n  test:\n    runs-on: x\n    container:\n      image: golang\n    steps:\n    - uses: actions/checkout@v4\n"))
	f.Add(uint8(4), []byte("services:\n  db:\n    image: postgres\n    privileged: true\n    environment:\n      - POSTGRES_PASSWORD=pw\n"))
	f.Add(uint8(5), []byte("name: web\nversion: 0.1.0\ndependencies:\n- name: redis\n"))
	f.Add(uint8(0), []byte("a: &a [*a, *a]\nb: *a\n"))
	f.Add(uint8(1), []byte(strings.Repeat("{", 500)))
	f.Fuzz(func(t *testing.T, which uint8, content []byte) {
		p := fuzzPaths[int(which)%len(fuzzPaths)]
		check := func(b []byte, planted bool) {
			start := time.Now()
			items := AnalyzeFile(p, b)
			if d := time.Since(start); d > FileTimeout+time.Second {
				t.Fatalf("%s took %s", p, d)
			}
			lines := strings.Count(string(b), "\n") + 1
			for _, it := range items {
				if it.Path != p && !(strings.HasSuffix(it.Path, "values.yaml")) {
					t.Fatalf("item for another file: %+v", it)
				}
				if it.Rule == "not-analysed" {
					// limited keeps the server up; the fuzzer must still see
					// a parser that panics or crawls.
					t.Fatalf("%s: %s", p, it.Message)
				}
				if !knownKinds[it.Kind] {
					t.Fatalf("unknown kind: %+v", it)
				}
				if it.Line < 0 || it.Line > lines+1 {
					t.Fatalf("line %d of a %d-line file: %+v", it.Line, lines, it)
				}
				if planted && it.Kind == "finding" && strings.Contains(it.Message+strings.Join(it.Details, " "), fuzzSecret) {
					t.Fatalf("finding echoes the secret: %+v", it)
				}
			}
		}
		check(content, false)
		// The same content with a secret planted where each parser flags
		// it: the findings never carry it.
		if strings.Contains(string(content), fuzzSecret) {
			return
		}
		q := strconv.Quote(fuzzSecret)
		var planted string
		switch p {
		case "main.tf":
			planted = string(content) + "\nresource \"x\" \"y\" {\n  password = " + q + "\n}\n"
		case "docker-compose.yml":
			planted = "services:\n  s:\n    environment:\n      DB_PASSWORD: " + q + "\n" + "# " + strings.ReplaceAll(string(content), "\n", "\n# ") + "\n"
		default:
			planted = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: x:1\n    env:\n    - name: API_TOKEN\n      value: " + q + "\n---\n" + string(content)
		}
		check([]byte(planted), true)
	})
}
