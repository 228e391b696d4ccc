package parse

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// objStmLoopPDF keeps its page tree in an object stream that /Extends
// itself without holding it: the reader looks for the object in the
// stream, then in the one it extends, for ever. Nothing but a deadline
// stops that loop (it is inside the reader, not in the page tree).
func objStmLoopPDF() []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.5\n")
	off := map[int]int{}
	obj := func(n int, body string) {
		off[n] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	inner := "7 0 << /Type /Page >>"
	obj(5, fmt.Sprintf("<< /Type /ObjStm /N 1 /First 4 /Extends 5 0 R /Length %d >>\nstream\n%s\nendstream", len(inner), inner))
	var x bytes.Buffer
	entry := func(typ byte, a uint32, c uint16) {
		x.WriteByte(typ)
		binary.Write(&x, binary.BigEndian, a)
		binary.Write(&x, binary.BigEndian, c)
	}
	xrefAt := b.Len()
	entry(0, 0, 65535)          // 0
	entry(1, uint32(off[1]), 0) // 1 catalog
	entry(2, 5, 0)              // 2 pages: in object stream 5
	entry(0, 0, 0)              // 3
	entry(0, 0, 0)              // 4
	entry(1, uint32(off[5]), 0) // 5 the object stream
	entry(1, uint32(xrefAt), 0) // 6 the xref stream
	fmt.Fprintf(&b, "6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n", x.Len())
	b.Write(x.Bytes())
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", xrefAt)
	return b.Bytes()
}

// TestWorkerStopsReaderLoop: the loop inside the PDF reader is stopped
// by the worker's deadline, and the next file parses.
func TestWorkerStopsReaderLoop(t *testing.T) {
	if os.Getenv("OPSMCP_WRITE_TESTDATA") != "" {
		require.NoError(t, os.WriteFile(filepath.Join("testdata", "objstm-loop.pdf"), objStmLoopPDF(), 0o644))
	}
	w := testWorker(t, 256<<20, 2*time.Second)
	_, err := w.Parse(context.Background(), PDF, "objstm.pdf", objStmLoopPDF())
	require.Error(t, err)
	assert.True(t, IsTimeout(err), "%v", err)
	assert.Contains(t, err.Error(), "the parse worker was stopped")
	s, err := w.Parse(context.Background(), Markdown, "a.md", []byte("# A\n\nb\n"))
	require.NoError(t, err)
	assert.Len(t, s, 1)
}
