package logfile

import (
	"bytes"
	"context"
	"io"
	"time"
)

// Span returns the times of the first and last lines of f that have one.
// A gzip file is streamed to its end only when it is at most maxGzip bytes.
// The times are metadata of the file as a whole, read from the lines'
// leading timestamps, which masking never changes.
func Span(ctx context.Context, f File, maxGzip int64) (first, last time.Time, err error) {
	rc, err := openText(ctx, f)
	if err != nil {
		return first, last, err
	}
	defer rc.Close()
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(ctxReader{ctx, rc}, head)
	first, _ = firstTime(head[:n], f.ModTime)
	if !f.Gzip {
		size := f.Size
		tail := make([]byte, min(size, 64<<10))
		if _, err := rc.file.ReadAt(tail, size-int64(len(tail))); err != nil && err != io.EOF {
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
		k, rerr := ctxReader{ctx, rc}.Read(buf)
		window = append(window, buf[:k]...)
		if len(window) > 128<<10 {
			window = append(window[:0], window[len(window)-64<<10:]...)
		}
		if rerr != nil {
			if ctx.Err() != nil {
				return first, last, ctx.Err()
			}
			break
		}
	}
	last, _, _ = lastTime(window, f.ModTime)
	return first, last, nil
}

// lookBack is how many lines firstTime and lastTime read to find a time.
const lookBack = 200

func firstTime(b []byte, ref time.Time) (time.Time, bool) {
	for i, pos := 0, 0; i < lookBack && pos < len(b); i++ {
		end := bytes.IndexByte(b[pos:], '\n')
		if end < 0 {
			end = len(b) - pos
		}
		if t, ok := stampTime(b[pos:pos+end], ref); ok {
			return t, true
		}
		pos += end + 1
	}
	return time.Time{}, false
}

// lastTime returns the time and level of the last line of b that has one.
func lastTime(b []byte, ref time.Time) (time.Time, Level, bool) {
	end := len(b)
	for i := 0; i < lookBack && end > 0; i++ {
		if b[end-1] == '\n' {
			end--
		}
		start := bytes.LastIndexByte(b[:end], '\n') + 1
		if t, lvl, ok := Stamp(b[start:end], ref); ok {
			return t, lvl, true
		}
		end = start
	}
	return time.Time{}, LevelNone, false
}
