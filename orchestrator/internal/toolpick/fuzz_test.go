package toolpick

import "testing"

// FuzzRank: any question and any tool text rank without a panic, into at
// most max distinct indexes of the given tools, and the same way twice.
func FuzzRank(f *testing.F) {
	f.Add("Which pod in the payments namespace is crash-looping?", "k8s_get", "List or get objects of any kind", 8)
	f.Add("Read file k8s/payments/ledger.yaml in repo platform/infra at main", "gitea_file", "A file's content at any ref", 2)
	f.Add("////a/b.yaml.yaml repositories ies ing ed s", "x_y-z", "ſK\u2028/", 0)
	f.Fuzz(func(t *testing.T, question, name, desc string, limit int) {
		docs := []Doc{{Name: name, Description: desc}, {Name: "k8s_events", Description: "Events in a namespace"}, {Name: name, Description: question}}
		got := Rank(question, docs, limit%5)
		if len(got) > max(0, limit%5) {
			t.Fatalf("%d offered for limit %d", len(got), limit%5)
		}
		seen := map[int]bool{}
		for _, i := range got {
			if i < 0 || i >= len(docs) || seen[i] {
				t.Fatalf("bad index %d in %v", i, got)
			}
			seen[i] = true
		}
		again := Rank(question, docs, limit%5)
		if len(again) != len(got) {
			t.Fatalf("ranked %v then %v", got, again)
		}
		for i := range got {
			if got[i] != again[i] {
				t.Fatalf("ranked %v then %v", got, again)
			}
		}
	})
}
