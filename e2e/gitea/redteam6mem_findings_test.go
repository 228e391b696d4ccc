package gitea_test

import "testing"

// TestRedteam6MemFile (red team): a repository holds a 6 MiB token-dense
// text file; one caller, then eight at once, read it whole, or 100 lines
// of it (which reads the whole file too, to mask it whole). They peaked
// at 221/848 and 100/516 MiB under a 512 MiB limit; gitea_file now reads
// at FileCost bytes of the memory for answers a byte (half the limit), so
// one such read runs at a time and the others are refused as busy.
func TestRedteam6MemFile(t *testing.T) {
	pushMemRepo(t, 6)
	memCalls(t, memLimitMiB*3/4, []memCase{
		{Tool: "gitea_file", Args: map[string]any{"repo": "ops/rt6mem", "path": "big.txt"}, Want: "password=[MASKED:password:"},
		{Tool: "gitea_file", Args: map[string]any{"repo": "ops/rt6mem", "path": "big.txt", "start_line": 50000, "end_line": 50100}, Want: "big 50000 password=[MASKED:password:"},
	})
}
