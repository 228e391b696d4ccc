package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"

	"database/sql/driver"

	"modernc.org/sqlite" // pure Go SQLite with FTS5: the images are static
)

// The path filter runs the same glob in SQL as in dense search.
func init() {
	var mu sync.Mutex
	cache := map[string]*regexp.Regexp{}
	sqlite.MustRegisterDeterministicScalarFunction("opsmcp_path_match", 2, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		glob, _ := args[0].(string)
		p, _ := args[1].(string)
		mu.Lock()
		re, ok := cache[glob]
		if !ok {
			var err error
			if re, err = globRE(glob); err != nil {
				mu.Unlock()
				return nil, err
			}
			if len(cache) > 1000 {
				clear(cache)
			}
			cache[glob] = re
		}
		mu.Unlock()
		return re.MatchString(p), nil
	})
}

// SQLite is the embedded store: one file (WAL mode) holding chunks, an
// FTS5 index for BM25, and vectors; dense search is exact, over vectors
// loaded into memory and refreshed when the file changes.
type SQLite struct {
	db   *sql.DB
	path string

	mu    sync.Mutex
	dense map[string]*denseIndex // by model
}

const schema = `
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB);
INSERT OR IGNORE INTO meta(key, value) VALUES ('generation', 0);
CREATE TABLE IF NOT EXISTS sources(name TEXT PRIMARY KEY, kind TEXT, version TEXT, indexed_at INTEGER, error TEXT, changed INTEGER, embedded INTEGER);
CREATE TABLE IF NOT EXISTS files(source TEXT, path TEXT, kind TEXT, version TEXT, hash TEXT, chunks INTEGER, indexed_at INTEGER, PRIMARY KEY(source, path));
CREATE TABLE IF NOT EXISTS chunks(id INTEGER PRIMARY KEY, cid TEXT UNIQUE, source TEXT, path TEXT, kind TEXT, version TEXT,
	heading TEXT, page INTEGER, ordinal INTEGER, text TEXT, hash TEXT);
CREATE INDEX IF NOT EXISTS chunks_file ON chunks(source, path, ordinal);
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks(hash);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, heading, path, content='chunks', content_rowid='id', tokenize='porter unicode61');
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
	INSERT INTO chunks_fts(rowid, text, heading, path) VALUES (new.id, new.text, new.heading, new.path);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
	INSERT INTO chunks_fts(chunks_fts, rowid, text, heading, path) VALUES ('delete', old.id, old.text, old.heading, old.path);
END;
CREATE TRIGGER IF NOT EXISTS chunks_au AFTER UPDATE OF text, heading, path ON chunks BEGIN
	INSERT INTO chunks_fts(chunks_fts, rowid, text, heading, path) VALUES ('delete', old.id, old.text, old.heading, old.path);
	INSERT INTO chunks_fts(rowid, text, heading, path) VALUES (new.id, new.text, new.heading, new.path);
END;
CREATE TABLE IF NOT EXISTS vectors(model TEXT, hash TEXT, dim INTEGER, vec BLOB, PRIMARY KEY(model, hash));
INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('rank', 'bm25(1.0, 2.0, 0.5)');
`

// OpenSQLite opens (creating if needed) the store at path.
func OpenSQLite(path string) (*SQLite, error) {
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: create schema: %w", path, err)
	}
	if err := migrate(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &SQLite{db: db, path: path, dense: map[string]*denseIndex{}}, nil
}

// columns added since the first schema, by table.
var added = []struct{ table, column, decl string }{
	{"files", "note", "TEXT NOT NULL DEFAULT ''"},
	{"sources", "skipped", "TEXT NOT NULL DEFAULT '[]'"},
}

// migrate adds the columns an older index file lacks.
func migrate(db *sql.DB) error {
	for _, a := range added {
		rows, err := db.Query(`SELECT name FROM pragma_table_info(?)`, a.table)
		if err != nil {
			return fmt.Errorf("read columns of %s: %w", a.table, err)
		}
		has := false
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err == nil && name == a.column {
				has = true
			}
		}
		rows.Close()
		if !has {
			if _, err := db.Exec(`ALTER TABLE ` + a.table + ` ADD COLUMN ` + a.column + ` ` + a.decl); err != nil {
				return fmt.Errorf("add column %s.%s: %w", a.table, a.column, err)
			}
		}
	}
	return nil
}

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

// MaskKey is the store's own key for masked placeholders, made once: the
// same secret masks to the same text on every run, so re-indexing does
// not see a change (and re-embed) where there is none.
func (s *SQLite) MaskKey(ctx context.Context) ([]byte, error) {
	var key []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'mask_key'`).Scan(&key)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read mask key: %w", err)
	}
	key = make([]byte, 32)
	rand.Read(key)
	if _, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO meta(key, value) VALUES ('mask_key', ?)`, key); err != nil {
		return nil, fmt.Errorf("store mask key: %w", err)
	}
	return s.MaskKey(ctx)
}

// Compact merges the keyword index's segments after writes: full
// rewrites it into one (after a large run), otherwise a bounded merge
// keeps query cost from growing with every small run.
func (s *SQLite) Compact(ctx context.Context, full bool) error {
	q := `INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('merge', 500)`
	if full {
		q = `INSERT INTO chunks_fts(chunks_fts) VALUES ('optimize')`
	}
	if _, err := s.db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("compact keyword index: %w", err)
	}
	return nil
}

// Backup writes a consistent copy of the store to dest while it serves
// (VACUUM INTO: a read transaction, so indexing only waits for the copy's
// own pages).
func (s *SQLite) Backup(ctx context.Context, dest string) error {
	if _, err := s.db.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	return nil
}

func (s *SQLite) bump(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE meta SET value = value + 1 WHERE key = 'generation'`)
	return err
}

func (s *SQLite) generation(ctx context.Context) (int64, error) {
	var g int64
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'generation'`).Scan(&g)
	return g, err
}

// Files implements Store.
func (s *SQLite) Files(ctx context.Context, source string) (map[string]File, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT path, kind, version, hash, chunks, indexed_at, note FROM files WHERE source = ?`, source)
	if err != nil {
		return nil, fmt.Errorf("list files of %s: %w", source, err)
	}
	defer rows.Close()
	out := map[string]File{}
	for rows.Next() {
		f := File{Source: source}
		var at int64
		if err := rows.Scan(&f.Path, &f.Kind, &f.Version, &f.Hash, &f.Chunks, &at, &f.Note); err != nil {
			return nil, err
		}
		f.Indexed = time.Unix(0, at)
		out[f.Path] = f
	}
	return out, rows.Err()
}

// PutFile implements Store.
func (s *SQLite) PutFile(ctx context.Context, f File, chunks []Chunk) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM chunks WHERE source = ? AND path = ?`, f.Source, f.Path); err != nil {
		return fmt.Errorf("replace %s: %w", f.Path, err)
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO chunks(cid, source, path, kind, version, heading, page, ordinal, text, hash) VALUES (?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, c := range chunks {
		if _, err := ins.ExecContext(ctx, c.ID, c.Source, c.Path, c.Kind, c.Version, strings.Join(c.Heading, "\x1f"), c.Page, c.Ordinal, c.Text, c.Hash); err != nil {
			return fmt.Errorf("insert chunk %d of %s: %w", c.Ordinal, f.Path, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO files(source, path, kind, version, hash, chunks, indexed_at, note) VALUES (?,?,?,?,?,?,?,?)`,
		f.Source, f.Path, f.Kind, f.Version, f.Hash, len(chunks), f.Indexed.UnixNano(), f.Note); err != nil {
		return err
	}
	if err := s.bump(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// DeleteFile implements Store.
func (s *SQLite) DeleteFile(ctx context.Context, source, path string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM chunks WHERE source = ? AND path = ?`, source, path); err != nil {
		return fmt.Errorf("delete %s: %w", path, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM files WHERE source = ? AND path = ?`, source, path); err != nil {
		return err
	}
	if err := s.bump(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// SetVersion implements Store.
func (s *SQLite) SetVersion(ctx context.Context, source, path, version string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE chunks SET version = ? WHERE source = ? AND path = ?`, version, source, path); err != nil {
		return fmt.Errorf("set version of %s: %w", path, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE files SET version = ? WHERE source = ? AND path = ?`, version, source, path); err != nil {
		return err
	}
	if err := s.bump(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Unembedded implements Store.
func (s *SQLite) Unembedded(ctx context.Context, model string, limit int) ([]Pending, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.hash, min(c.text) FROM chunks c
		WHERE NOT EXISTS (SELECT 1 FROM vectors v WHERE v.model = ? AND v.hash = c.hash) GROUP BY c.hash LIMIT ?`, model, limit)
	if err != nil {
		return nil, fmt.Errorf("find chunks to embed: %w", err)
	}
	defer rows.Close()
	var out []Pending
	for rows.Next() {
		var p Pending
		if err := rows.Scan(&p.Hash, &p.Text); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PutVectors implements Store. Vectors are stored unit length, so the
// dot product is the cosine.
func (s *SQLite) PutVectors(ctx context.Context, model string, vecs map[string][]float32) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO vectors(model, hash, dim, vec) VALUES (?,?,?,?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for h, v := range vecs {
		if _, err := ins.ExecContext(ctx, model, h, len(v), encodeVec(Normalize(v))); err != nil {
			return fmt.Errorf("store vector: %w", err)
		}
	}
	if err := s.bump(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Normalize returns v scaled to unit length (a zero vector stays zero).
func Normalize(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if sum == 0 {
		return out
	}
	inv := float32(1 / math.Sqrt(sum))
	for i, x := range v {
		out[i] = x * inv
	}
	return out
}

func encodeVec(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVec(b []byte, into []float32) {
	for i := range into {
		into[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
}

// PutSource implements Store.
func (s *SQLite) PutSource(ctx context.Context, src Source) error {
	skipped, err := json.Marshal(append([]string{}, src.Skipped...))
	if err != nil {
		return fmt.Errorf("record source %s: %w", src.Name, err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT OR REPLACE INTO sources(name, kind, version, indexed_at, error, changed, embedded, skipped) VALUES (?,?,?,?,?,?,?,?)`,
		src.Name, src.Kind, src.Version, src.Indexed.UnixNano(), src.Error, src.Changed, src.Embedded, string(skipped))
	if err != nil {
		return fmt.Errorf("record source %s: %w", src.Name, err)
	}
	return nil
}

// Sources implements Store.
func (s *SQLite) Sources(ctx context.Context) ([]Source, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.name, s.kind, s.version, s.indexed_at, s.error, s.changed, s.embedded, s.skipped,
		(SELECT count(*) FROM files f WHERE f.source = s.name), (SELECT coalesce(sum(chunks), 0) FROM files f WHERE f.source = s.name)
		FROM sources s ORDER BY s.name`)
	if err != nil {
		return nil, fmt.Errorf("list sources: %w", err)
	}
	defer rows.Close()
	var out []Source
	for rows.Next() {
		var src Source
		var at int64
		var skipped string
		if err := rows.Scan(&src.Name, &src.Kind, &src.Version, &at, &src.Error, &src.Changed, &src.Embedded, &skipped, &src.Files, &src.Chunks); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(skipped), &src.Skipped); err != nil {
			return nil, fmt.Errorf("source %s: skipped files: %w", src.Name, err)
		}
		src.Indexed = time.Unix(0, at)
		out = append(out, src)
	}
	return out, rows.Err()
}

const chunkCols = `c.id, c.cid, c.source, c.path, c.kind, c.version, c.heading, c.page, c.ordinal, c.text, c.hash`

func scanChunk(sc interface{ Scan(...any) error }, extra ...any) (int64, Chunk, error) {
	var c Chunk
	var rowid int64
	var heading string
	dest := append([]any{&rowid, &c.ID, &c.Source, &c.Path, &c.Kind, &c.Version, &heading, &c.Page, &c.Ordinal, &c.Text, &c.Hash}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return 0, c, err
	}
	if heading != "" {
		c.Heading = strings.Split(heading, "\x1f")
	}
	return rowid, c, nil
}

// stopWords match nearly every chunk and say nothing about it; a query
// of only such words keeps them.
var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be by can do does for from has have how i in is it its of on or
		our should the this to we what when where which who why will with you your`) {
		stopWords[w] = true
	}
}

// Terms are the words of a query as FTS5 sees them; the keyword search
// ORs them (BM25 ranks chunks with more and rarer terms first).
func Terms(query string) []string {
	words := strings.FieldsFunc(strings.ToLower(query), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	seen := map[string]bool{}
	var out []string
	for _, w := range words {
		if stopWords[w] && len(words) > 1 {
			continue
		}
		if !seen[w] && len(out) < 32 {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// Keyword implements Store. The FTS5 part ranks first (headings weigh
// twice the text, paths half) and only the best few hundred rows are
// joined and filtered, so a common word does not make every chunk row
// load; a filter that leaves fewer than k widens the window.
func (s *SQLite) Keyword(ctx context.Context, query string, f Filter, k int) ([]Hit, error) {
	terms := Terms(query)
	if len(terms) == 0 {
		return nil, nil
	}
	terms, all, err := s.selective(ctx, terms)
	if err != nil {
		return nil, err
	}
	match := `"` + strings.Join(terms, `" OR "`) + `"`
	if all {
		// Only common words: chunks holding all of them, a far smaller
		// set than any one of them; OR again if too few do.
		hits, err := s.keyword(ctx, `"`+strings.Join(terms, `" AND "`)+`"`, f, k)
		if err != nil || len(hits) >= k {
			return hits, err
		}
	}
	return s.keyword(ctx, match, f, k)
}

// keyword runs one FTS5 match expression.
func (s *SQLite) keyword(ctx context.Context, match string, f Filter, k int) ([]Hit, error) {
	where, args := sqlFilter(f)
	window := k
	if where != "" {
		window = max(k*20, 200)
	}
	for {
		q := `SELECT ` + chunkCols + `, -r.rank FROM (SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?) r
			JOIN chunks c ON c.id = r.rowid WHERE 1=1` + where + ` ORDER BY r.rank LIMIT ?`
		rows, err := s.db.QueryContext(ctx, q, append(append([]any{match, window}, args...), k)...)
		if err != nil {
			return nil, fmt.Errorf("keyword search: %w", err)
		}
		var out []Hit
		for rows.Next() {
			var h Hit
			if _, h.Chunk, err = scanChunk(rows, &h.Score); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		// Enough hits, or the window already held every match.
		if len(out) >= k || where == "" || window >= 1<<20 {
			return out, nil
		}
		window *= 8
	}
}

// commonShare is the share of chunks above which a query word is too
// common to be worth scoring (its IDF is near zero).
const commonShare = 0.05

// selective drops the query words that occur in more than commonShare of
// the chunks, when rarer ones remain: scoring every chunk that holds a
// common word costs time in proportion to the index and barely moves the
// ranking, as Lucene's common-terms query reasons. When every word is
// common, all are kept and all says so (the caller then asks for chunks
// holding all of them).
func (s *SQLite) selective(ctx context.Context, terms []string) (keep []string, all bool, err error) {
	if len(terms) < 2 {
		return terms, false, nil
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM chunks`).Scan(&total); err != nil {
		return nil, false, err
	}
	if total < 1000 {
		return terms, false, nil
	}
	type df struct {
		term string
		n    int
	}
	var dfs []df
	for _, t := range terms {
		// FTS5 tokenizes (and stems) the word itself; counting stops once
		// the word is known to be common, so this costs at most
		// commonShare of the index per word.
		limit := int(commonShare*float64(total)) + 1
		var n int
		err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT ?)`,
			`"`+t+`"`, limit).Scan(&n)
		if err != nil {
			return nil, false, fmt.Errorf("term statistics: %w", err)
		}
		dfs = append(dfs, df{t, n})
	}
	for _, d := range dfs {
		if float64(d.n) <= commonShare*float64(total) {
			keep = append(keep, d.term)
		}
	}
	if len(keep) > 0 {
		return keep, false, nil
	}
	return terms, true, nil
}

// sqlFilter is f as SQL conditions on chunks c.
func sqlFilter(f Filter) (string, []any) {
	var w strings.Builder
	var args []any
	if f.Source != "" {
		w.WriteString(" AND c.source = ?")
		args = append(args, f.Source)
	}
	if f.Kind != "" {
		w.WriteString(" AND c.kind = ?")
		args = append(args, f.Kind)
	}
	if f.Version != "" {
		w.WriteString(" AND (c.version = ? OR c.version GLOB ?)")
		args = append(args, f.Version, globEscape(f.Version)+"*")
	}
	if f.Path != "" {
		w.WriteString(" AND opsmcp_path_match(?, c.path)")
		args = append(args, f.Path)
	}
	return w.String(), args
}

func globEscape(s string) string {
	r := strings.NewReplacer("*", "[*]", "?", "[?]", "[", "[[]")
	return r.Replace(s)
}

// Get implements Store.
func (s *SQLite) Get(ctx context.Context, id string) (Chunk, error) {
	_, c, err := scanChunk(s.db.QueryRowContext(ctx, `SELECT `+chunkCols+` FROM chunks c WHERE c.cid = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("chunk %s: %w", id, ErrNotFound)
	}
	return c, err
}

// Chunks implements Store.
func (s *SQLite) Chunks(ctx context.Context, source, path string, from, to int) ([]Chunk, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+chunkCols+` FROM chunks c WHERE c.source = ? AND c.path = ? AND c.ordinal BETWEEN ? AND ? ORDER BY c.ordinal`, source, path, from, to)
	if err != nil {
		return nil, fmt.Errorf("chunks of %s: %w", path, err)
	}
	defer rows.Close()
	var out []Chunk
	for rows.Next() {
		_, c, err := scanChunk(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Dense implements Store.
func (s *SQLite) Dense(ctx context.Context, model string, vec []float32, f Filter, k int) ([]Hit, error) {
	idx, err := s.denseFor(ctx, model)
	if err != nil {
		return nil, err
	}
	match, err := f.Matcher()
	if err != nil {
		return nil, err
	}
	if idx.dim > 0 && len(vec) != idx.dim {
		return nil, fmt.Errorf("query vector has %d dimensions, the index of %s has %d", len(vec), model, idx.dim)
	}
	top := idx.search(Normalize(vec), k, func(i int) bool {
		m := idx.meta[i]
		return match(idx.strs[m.source], idx.strs[m.path], idx.strs[m.kind], idx.strs[m.version])
	})
	out := make([]Hit, 0, len(top))
	for _, t := range top {
		_, c, err := scanChunk(s.db.QueryRowContext(ctx, `SELECT `+chunkCols+` FROM chunks c WHERE c.id = ?`, idx.rowids[t.i]))
		if errors.Is(err, sql.ErrNoRows) {
			continue // deleted since the index was loaded
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Hit{Chunk: c, Score: float64(t.score)})
	}
	return out, nil
}

// denseFor returns model's in-memory vectors, reloaded when the store's
// generation moved (this process or an indexer wrote).
func (s *SQLite) denseFor(ctx context.Context, model string) (*denseIndex, error) {
	gen, err := s.generation(ctx)
	if err != nil {
		return nil, fmt.Errorf("dense search: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if idx := s.dense[model]; idx != nil && idx.gen == gen {
		return idx, nil
	}
	// Sized first: growing one flat array of a million vectors by append
	// would hold two or three copies at once.
	var n, dim int
	err = s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(max(v.dim), 0) FROM chunks c JOIN vectors v ON v.hash = c.hash AND v.model = ?`, model).Scan(&n, &dim)
	if err != nil {
		return nil, fmt.Errorf("count vectors of %s: %w", model, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT c.id, c.source, c.path, c.kind, c.version, v.dim, v.vec FROM chunks c JOIN vectors v ON v.hash = c.hash AND v.model = ?`, model)
	if err != nil {
		return nil, fmt.Errorf("load vectors of %s: %w", model, err)
	}
	defer rows.Close()
	idx := &denseIndex{gen: gen, intern: map[string]uint32{}, vecs: make([]float32, 0, n*dim), rowids: make([]int64, 0, n), meta: make([]chunkMeta, 0, n)}
	for rows.Next() {
		var id int64
		var source, path, kind, version string
		var rowDim int
		var blob []byte
		if err := rows.Scan(&id, &source, &path, &kind, &version, &rowDim, &blob); err != nil {
			return nil, err
		}
		if idx.dim == 0 {
			idx.dim = rowDim
		}
		if rowDim != idx.dim || len(blob) != 4*rowDim {
			continue // a vector of another size: the model changed under the same name
		}
		at := len(idx.vecs)
		if cap(idx.vecs) >= at+rowDim {
			idx.vecs = idx.vecs[:at+rowDim]
		} else {
			idx.vecs = append(idx.vecs, make([]float32, rowDim)...)
		}
		decodeVec(blob, idx.vecs[at:])
		idx.rowids = append(idx.rowids, id)
		idx.meta = append(idx.meta, chunkMeta{idx.str(source), idx.str(path), idx.str(kind), idx.str(version)})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.dense[model] = idx
	return idx, nil
}
