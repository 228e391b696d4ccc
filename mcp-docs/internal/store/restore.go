package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// RestoreSummary is what a restore brought back.
type RestoreSummary struct {
	Sources, Files, Chunks int
}

// indexTables are the tables every mcp-docs index has had since its first
// schema: a file without them is not one (another SQLite file, an empty
// one).
var indexTables = []string{"meta", "sources", "files", "chunks", "chunks_fts", "vectors"}

// Restore makes a new index file at to from the backup at from (a file
// `mcp-docs backup` wrote). It never overwrites: to must not exist, so a
// running server's index or a newer one cannot be lost to a mistyped
// path. The backup is opened read-only and checked whole (SQLite's
// integrity check, the index's tables) before anything is written; the
// copy is made beside to and renamed into place only once it opens as an
// index (older backups gain the columns added since), so a failed restore
// leaves nothing at to.
func Restore(ctx context.Context, from, to string) (RestoreSummary, error) {
	var sum RestoreSummary
	// The paths go into a SQLite URI: ? and # would start its options.
	for _, p := range []string{from, to} {
		if strings.ContainsAny(p, "?#") {
			return sum, fmt.Errorf("restore: path %q: use one without ? or #", p)
		}
	}
	if _, err := os.Lstat(to); err == nil {
		return sum, fmt.Errorf("restore: %s already exists: stop the server and move it aside first", to)
	} else if !errors.Is(err, os.ErrNotExist) {
		return sum, fmt.Errorf("restore: %w", err)
	}
	st, err := os.Stat(from)
	if err != nil {
		return sum, fmt.Errorf("restore: backup: %w", err)
	}
	if !st.Mode().IsRegular() {
		return sum, fmt.Errorf("restore: backup %s is not a regular file", from)
	}
	if err := checkBackup(ctx, from); err != nil {
		return sum, err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return sum, fmt.Errorf("restore: %w", err)
	}
	tmp := to + ".restoring"
	removeTmp := func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(tmp + suffix)
		}
	}
	removeTmp()
	defer removeTmp()
	// mode=ro keeps the backup as it is; VACUUM INTO writes only tmp.
	src, err := sql.Open("sqlite", "file:"+from+"?mode=ro")
	if err != nil {
		return sum, fmt.Errorf("restore: open backup %s: %w", from, err)
	}
	_, err = src.ExecContext(ctx, `VACUUM INTO ?`, tmp)
	src.Close()
	if err != nil {
		return sum, fmt.Errorf("restore: copy %s: %w", from, err)
	}
	s, err := OpenSQLite(tmp)
	if err != nil {
		return sum, fmt.Errorf("restore: %w", err)
	}
	err = s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM files), (SELECT count(*) FROM chunks)`).
		Scan(&sum.Sources, &sum.Files, &sum.Chunks)
	if cerr := s.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return sum, fmt.Errorf("restore: read the copy: %w", err)
	}
	if err := os.Rename(tmp, to); err != nil {
		return sum, fmt.Errorf("restore: %w", err)
	}
	return sum, nil
}

// checkBackup opens the backup read-only and refuses it unless SQLite
// finds it whole and it has the index's tables.
func checkBackup(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		return fmt.Errorf("restore: open backup %s: %w", path, err)
	}
	defer db.Close()
	notIndex := func(why string) error {
		return fmt.Errorf("restore: %s is not an mcp-docs index backup (%s)", path, why)
	}
	var verdict string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&verdict); err != nil {
		return notIndex(err.Error())
	}
	if verdict != "ok" {
		return notIndex("integrity check: " + verdict)
	}
	for _, table := range indexTables {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = ?`, table).Scan(&n); err != nil {
			return notIndex(err.Error())
		}
		if n == 0 {
			return notIndex("no " + table + " table")
		}
	}
	return nil
}
