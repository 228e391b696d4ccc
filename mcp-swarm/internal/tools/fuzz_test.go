package tools

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"

	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/tool"
)

// FuzzNames: whatever passes the name and ID checks is one plain segment
// of a URL path: escaping, cleaning and decoding leave it as it is.
func FuzzNames(f *testing.F) {
	for _, s := range append([]string{"shop_web", shopWebID, "node-1.example.com", "a..b", "A", ""}, pathAttacks...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, ok := range []bool{nameOK(v), idOK(v)} {
			if !ok {
				continue
			}
			if url.PathEscape(v) != v {
				t.Fatalf("%q passes but needs escaping in a path", v)
			}
			if p := "/v1.41/services/" + v; path.Clean(p) != p {
				t.Fatalf("%q passes but changes the path when cleaned", v)
			}
			if u, err := url.PathUnescape(v); err != nil || u != v {
				t.Fatalf("%q passes but decodes to something else", v)
			}
			if strings.ContainsAny(v, "/\\%?#") || v == "." || v == ".." || len(v) > maxName {
				t.Fatalf("%q passes", v)
			}
		}
		if idOK(v) && !nameOK(v) {
			t.Fatalf("ID %q is not a name", v)
		}
	})
}

// outsideMark is what the file outside the compose root holds.
const outsideMark = "Outside-planted-Fz-4412"

// yamlKeys returns the text of every mapping key in content, for telling
// whether a planted word is a key (which errors may name) or a value
// (which they must not).
func yamlKeys(content string) string {
	var b strings.Builder
	dec := yaml.NewDecoder(strings.NewReader(content))
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if n == nil || depth > 64 {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i < len(n.Content); i += 2 {
				b.WriteString(n.Content[i].Value)
				b.WriteByte(0)
			}
		}
		for _, c := range n.Content {
			walk(c, depth+1)
		}
		walk(n.Alias, depth+1)
	}
	for i := 0; i < 16; i++ {
		var doc yaml.Node
		if dec.Decode(&doc) != nil {
			break
		}
		walk(&doc, 0)
	}
	return b.String()
}

// FuzzComposeLoad: compose content through swarm_compose's loader, with
// @OUTSIDE@ standing for a file outside the compose root and @FIFO@ for a
// FIFO outside it: no panic, the FIFO never opened (no read outside the
// root, proven by the file system), nothing of the outside file in the
// project or the error, and no value planted in the content quoted by an
// error.
func FuzzComposeLoad(f *testing.F) {
	seeds := []string{
		"services:\n  web:\n    image: local/busybox:latest\n    deploy: {replicas: 2}\n    ports: [\"8080:80\"]\n",
		"include:\n  - @OUTSIDE@\nservices: {}\n",
		"services:\n  web:\n    image: x\n    extends: {file: @OUTSIDE@, service: db}\n",
		"x-b: &b {file: @OUTSIDE@, service: db}\nservices:\n  web: {image: x, extends: {<<: *b}}\n",
		"services:\n  web: {image: x, env_file: [@OUTSIDE@]}\n",
		"services:\n  web: {image: x, label_file: @OUTSIDE@}\n",
		"services:\n  web:\n    image: x\n    ports: [\"Fz-planted-Value-91:80\"]\n",
		"services:\n  web:\n    image: x\n    environment: {A: Fz-planted-Value-91}\n    deploy: {replicas: Fz-planted-Value-91}\n",
		"services:\n  web:\n    image: x\n    extends: {file: 1, service: db}\n",
		"configs:\n  c: {file: ./app.conf}\nservices:\n  web: {image: x, configs: [c]}\n",
		"a: &a [*a]\n",
		"include: [@FIFO@]\nservices: {}\n",
		"services:\n  web: {image: x, extends: {file: @FIFO@, service: db}}\n",
		"services:\n  web: {image: x, env_file: @FIFO@}\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	base := f.TempDir()
	root := filepath.Join(base, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		f.Fatal(err)
	}
	outside := filepath.Join(base, "outside.yml")
	if err := os.WriteFile(outside, []byte("services:\n  db:\n    image: "+outsideMark+"\n    environment: {X: "+outsideMark+"}\nX="+outsideMark+"\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	fifo := filepath.Join(base, "outside.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, content string) {
		content = strings.NewReplacer("@OUTSIDE@", outside, "@FIFO@", fifo).Replace(content)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var (
			p   *types.Project
			err error
		)
		if opened(t, fifo, func() { p, err = loadCompose(ctx, &tool.Call{}, content, "compose.yaml", root, "shop") }) {
			t.Fatalf("the FIFO outside the root was opened")
		}
		if err != nil {
			msg := err.Error()
			if strings.Contains(msg, outsideMark) {
				t.Fatalf("the outside file came back in the error: %s", msg)
			}
			keys := strings.ToLower(yamlKeys(content))
			if !strings.Contains(keys, "planted") && strings.Contains(strings.ToLower(msg), "planted") {
				t.Fatalf("a value of the content came back in the error: %s", msg)
			}
			return
		}
		raw, _ := json.Marshal(p)
		if bytes.Contains(raw, []byte(outsideMark)) {
			t.Fatalf("the outside file was loaded: %s", raw)
		}
	})
}

// frame is one multiplexed log frame as the engine sends it.
func frame(stream byte, payload string) []byte {
	hdr := make([]byte, 8, 8+len(payload))
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
	return append(hdr, payload...)
}

// FuzzDemux: any byte stream from the engine parses into lines without
// a panic or a huge allocation; each line is one line of one stream.
func FuzzDemux(f *testing.F) {
	f.Add(frame(1, "2026-11-28T10:00:00.000000001Z com.docker.swarm.task.id=abc hello\n"))
	f.Add(append(frame(2, "2026-11-28T10:00:00Z warn\nsecond\n"), frame(1, "x")...))
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 'a'})
	f.Add([]byte("not a frame"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		lines, _, err := demux(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			if strings.Contains(l.Text, "\n") {
				t.Fatalf("a line holds a newline: %q", l.Text)
			}
			if l.Stream != "stdout" && l.Stream != "stderr" {
				t.Fatalf("stream %q", l.Stream)
			}
			if l.Time != "" {
				if _, err := time.Parse(time.RFC3339Nano, l.Time); err != nil {
					t.Fatalf("time %q", l.Time)
				}
			}
		}
	})
}

// FuzzMaskLines: a private key logged over several lines, amid any other
// lines, at any place, or with its header cut off by a tail (then at the
// start), never comes back in any line; every line returned comes from
// the input's task and stream.
func FuzzMaskLines(f *testing.F) {
	f.Add("starting\nready", uint8(1), false)
	f.Add("", uint8(0), true)
	f.Add("a: b\n-----END PRIVATE KEY-----\nx", uint8(2), false)
	f.Add("-----BEGIN RSA PRIVATE KEY-----\nline", uint8(0), false)
	f.Add("password=x\n\n\n", uint8(3), true)
	f.Fuzz(func(t *testing.T, text string, at uint8, orphan bool) {
		key := strings.Split(pemKey, "\n")
		other := strings.Split(text, "\n")
		var texts []string
		if orphan {
			texts = append(append(texts, key[1:]...), other...)
		} else {
			i := int(at) % (len(other) + 1)
			texts = append(append(append(texts, other[:i]...), key...), other[i:]...)
		}
		var lines []LogLine
		for i, s := range texts {
			lines = append(lines, LogLine{Time: time.Unix(int64(i), 0).UTC().Format(time.RFC3339Nano), Task: "t1", Stream: "stdout", Text: s})
			// Another task's stream interleaved (its own lines, not the
			// key's).
			if i < len(other) {
				lines = append(lines, LogLine{Task: "t2", Stream: "stderr", Text: other[i]})
			}
		}
		out := maskLines(&tool.Call{}, lines)
		for _, l := range out {
			if strings.Contains(l.Text, plantedPEM) {
				t.Fatalf("the key's body survived: %q", l.Text)
			}
			if !(l.Task == "t1" && l.Stream == "stdout" || l.Task == "t2" && l.Stream == "stderr") {
				t.Fatalf("line from nowhere: %+v", l)
			}
			if strings.Contains(l.Text, "\n") {
				t.Fatalf("a line holds a newline: %q", l.Text)
			}
		}
		if len(out) > len(lines) {
			t.Fatalf("%d lines out of %d", len(out), len(lines))
		}
	})
}

// FuzzCommandLine: a secret-named flag's value is hidden whatever the
// arguments around it, apart (--db-password x) or joined (--db-password=x),
// and a secret-named env value is always a placeholder.
func FuzzCommandLine(f *testing.F) {
	f.Add("sh -c 'sleep 3600' app", "--verbose", "DB_PASSWORD", "hunter2", false)
	f.Add("--x=", "", "API_TOKEN", "a b", true)
	f.Add("'", "\"", "db-password", "1234", false)
	f.Fuzz(func(t *testing.T, before, after, key, value string, joined bool) {
		c := &tool.Call{}
		secret := "Cmd-planted-" + value + "-Pw"
		args := strings.Fields(before)
		if joined {
			args = append(args, "--db-password="+secret)
		} else {
			args = append(args, "--db-password", secret)
		}
		args = append(args, strings.Fields(after)...)
		if got := cmdLine(c, args); strings.Contains(got, secret) {
			t.Fatalf("%q shown as %q", args, got)
		}
		if value != "" && mask.SensitiveKey(key) {
			if got := envValue(c, key, value); !placeholder(got) {
				t.Fatalf("%s=%q shown as %q", key, value, got)
			}
		}
	})
}
