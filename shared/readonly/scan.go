package readonly

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Scan reads every non-test Go file under root and returns the lines
// matching write (a call that would change the upstream) but not allowed,
// as "path:line: text", and how many files it read. Servers' tests use it
// to show that no write path exists in their source.
func Scan(root string, write, allowed *regexp.Regexp) ([]string, int, error) {
	var hits []string
	files := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		files++
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if write.MatchString(line) && (allowed == nil || !allowed.MatchString(line)) {
				hits = append(hits, fmt.Sprintf("%s:%d: %s", p, i+1, strings.TrimSpace(line)))
			}
		}
		return nil
	})
	return hits, files, err
}
