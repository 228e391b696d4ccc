package logfile

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// Tail returns the last n lines of f before pos (nil: the end), newest
// first, and whether earlier lines exist. A plain file is read backwards
// from its end; a gzip file has to be streamed.
func Tail(ctx context.Context, f File, n, maxLine int, before *Pos) ([]Match, bool, error) {
	hi := int64(-1)
	if before != nil {
		hi = before.Offset
	}
	if f.Gzip {
		ms, more, _, err := scanFile(ctx, f, Query{MaxLine: maxLine}, 0, hi, 1, n)
		return ms, more, err
	}
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, false, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, false, err
	}
	end := st.Size()
	if hi >= 0 && hi < end {
		end = hi
	}
	// Read back in growing chunks until n+1 line starts are in hand.
	start := end
	var chunk []byte
	for size := int64(64 << 10); ; size *= 2 {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		start = max(end-size, 0)
		chunk = make([]byte, end-start)
		if _, err := fh.ReadAt(chunk, start); err != nil && err != io.EOF {
			return nil, false, fmt.Errorf("read %s: %w", f.Path, err)
		}
		if start == 0 || bytes.Count(chunk, []byte{'\n'}) > n+1 {
			break
		}
	}
	// Drop a partial first line: it belongs to an earlier chunk.
	skip := 0
	if start > 0 {
		skip = bytes.IndexByte(chunk, '\n') + 1
	}
	first, err := countLines(ctx, fh, start+int64(skip))
	if err != nil {
		return nil, false, err
	}
	sc := scanner{q: Query{MaxLine: maxLine}, file: f, want: n}
	line := first + 1
	sc.block(chunk[skip:], start+int64(skip), &line)
	ms, more := sc.result()
	return ms, more || start+int64(skip) > 0 && len(ms) == n, nil
}

// countLines counts the newlines in the first n bytes of f, for line
// numbers when reading from the end.
func countLines(ctx context.Context, f *os.File, n int64) (int64, error) {
	buf := make([]byte, 1<<20)
	var lines, off int64
	for off < n {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		k := min(int64(len(buf)), n-off)
		got, err := f.ReadAt(buf[:k], off)
		lines += int64(bytes.Count(buf[:got], []byte{'\n'}))
		off += int64(got)
		if err != nil {
			if err == io.EOF {
				break
			}
			return 0, err
		}
	}
	return lines, nil
}

// Span returns the times of the first and last lines of f that have one.
// A gzip file is streamed to its end only when it is at most maxGzip bytes.
func Span(ctx context.Context, f File, maxGzip int64) (first, last time.Time, err error) {
	rc, err := open(f)
	if err != nil {
		return first, last, err
	}
	defer rc.Close()
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(rc, head)
	first, _ = firstTime(head[:n], f.ModTime)
	if !f.Gzip {
		fh := rc.(*os.File)
		size := f.Size
		tail := make([]byte, min(size, 64<<10))
		if _, err := fh.ReadAt(tail, size-int64(len(tail))); err != nil && err != io.EOF {
			return first, last, err
		}
		last, _, _ = lastTime(tail, f.ModTime)
		return first, last, nil
	}
	if f.Size > maxGzip {
		return first, last, nil
	}
	// Keep the last 64 KiB seen.
	window := append([]byte(nil), head[:n]...)
	buf := make([]byte, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			return first, last, err
		}
		k, rerr := rc.Read(buf)
		window = append(window, buf[:k]...)
		if len(window) > 128<<10 {
			window = append(window[:0], window[len(window)-64<<10:]...)
		}
		if rerr != nil {
			break
		}
	}
	last, _, _ = lastTime(window, f.ModTime)
	return first, last, nil
}
