package harness

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
)

// TinyGGUF writes a tiny llama model with random weights to path: a byte
// vocabulary (<unk>, <s>, </s> and the 256 byte tokens), embedding size
// 32, one layer. No weights can be downloaded here; this model makes real
// Ollama serve real requests whose text is gibberish but whose protocol,
// tool calls (with a format schema) and streaming are the real thing.
func TinyGGUF(path string, seed uint64) error {
	const (
		embd   = 32
		ffn    = 64
		heads  = 4
		layers = 1
	)
	var tokens []string
	var types []int32
	tokens = append(tokens, "<unk>", "<s>", "</s>")
	types = append(types, 2, 3, 3)
	for b := 0; b < 256; b++ {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", b))
		types = append(types, 6)
	}
	vocab := len(tokens)
	scores := make([]float32, vocab)

	w := &ggufWriter{}
	kv := []func(){
		func() { w.kvString("general.architecture", "llama") },
		func() { w.kvString("general.name", "opsmcp-tiny") },
		func() { w.kvU32("llama.context_length", 2048) },
		func() { w.kvU32("llama.embedding_length", embd) },
		func() { w.kvU32("llama.block_count", layers) },
		func() { w.kvU32("llama.feed_forward_length", ffn) },
		func() { w.kvU32("llama.attention.head_count", heads) },
		func() { w.kvU32("llama.attention.head_count_kv", heads) },
		func() { w.kvU32("llama.rope.dimension_count", embd/heads) },
		func() { w.kvF32("llama.attention.layer_norm_rms_epsilon", 1e-5) },
		func() { w.kvU32("llama.vocab_size", uint32(vocab)) },
		func() { w.kvString("tokenizer.ggml.model", "llama") },
		func() { w.kvStrings("tokenizer.ggml.tokens", tokens) },
		func() { w.kvF32s("tokenizer.ggml.scores", scores) },
		func() { w.kvI32s("tokenizer.ggml.token_type", types) },
		func() { w.kvU32("tokenizer.ggml.unknown_token_id", 0) },
		func() { w.kvU32("tokenizer.ggml.bos_token_id", 1) },
		func() { w.kvU32("tokenizer.ggml.eos_token_id", 2) },
		func() { w.kvBool("tokenizer.ggml.add_bos_token", true) },
		func() { w.kvBool("tokenizer.ggml.add_eos_token", false) },
	}
	type tensor struct {
		name string
		dims []uint64
		norm bool
	}
	tensors := []tensor{
		{"token_embd.weight", []uint64{embd, uint64(vocab)}, false},
		{"output_norm.weight", []uint64{embd}, true},
		{"output.weight", []uint64{embd, uint64(vocab)}, false},
	}
	for l := 0; l < layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		tensors = append(tensors,
			tensor{p + "attn_norm.weight", []uint64{embd}, true},
			tensor{p + "attn_q.weight", []uint64{embd, embd}, false},
			tensor{p + "attn_k.weight", []uint64{embd, embd}, false},
			tensor{p + "attn_v.weight", []uint64{embd, embd}, false},
			tensor{p + "attn_output.weight", []uint64{embd, embd}, false},
			tensor{p + "ffn_norm.weight", []uint64{embd}, true},
			tensor{p + "ffn_gate.weight", []uint64{embd, ffn}, false},
			tensor{p + "ffn_up.weight", []uint64{embd, ffn}, false},
			tensor{p + "ffn_down.weight", []uint64{ffn, embd}, false},
		)
	}

	const align = 32
	w.raw([]byte("GGUF"))
	w.u32(3)
	w.u64(uint64(len(tensors)))
	w.u64(uint64(len(kv)))
	for _, f := range kv {
		f()
	}
	var offset uint64
	sizes := make([]uint64, len(tensors))
	for i, t := range tensors {
		n := uint64(1)
		for _, d := range t.dims {
			n *= d
		}
		sizes[i] = n * 4
		w.str(t.name)
		w.u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			w.u64(d)
		}
		w.u32(0) // F32
		w.u64(offset)
		offset += sizes[i]
		offset = (offset + align - 1) / align * align
	}
	w.pad(align)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i, t := range tensors {
		n := sizes[i] / 4
		for k := uint64(0); k < n; k++ {
			v := float32(1)
			if !t.norm {
				v = float32(rng.Float64()*0.2 - 0.1)
			}
			w.u32(math.Float32bits(v))
		}
		w.pad(align)
	}
	return os.WriteFile(path, w.buf.Bytes(), 0o644)
}

// ggufWriter writes GGUF v3 (little endian) into a buffer.
type ggufWriter struct{ buf bytes.Buffer }

// GGUF metadata value types.
const (
	ggufU32    = 4
	ggufI32    = 5
	ggufF32    = 6
	ggufBool   = 7
	ggufString = 8
	ggufArray  = 9
)

func (w *ggufWriter) raw(b []byte) { w.buf.Write(b) }
func (w *ggufWriter) u32(v uint32) { binary.Write(&w.buf, binary.LittleEndian, v) }
func (w *ggufWriter) u64(v uint64) { binary.Write(&w.buf, binary.LittleEndian, v) }
func (w *ggufWriter) str(s string) { w.u64(uint64(len(s))); w.buf.WriteString(s) }
func (w *ggufWriter) pad(align int) {
	for w.buf.Len()%align != 0 {
		w.buf.WriteByte(0)
	}
}
func (w *ggufWriter) kvString(k, v string) { w.str(k); w.u32(ggufString); w.str(v) }
func (w *ggufWriter) kvU32(k string, v uint32) {
	w.str(k)
	w.u32(ggufU32)
	w.u32(v)
}
func (w *ggufWriter) kvF32(k string, v float32) {
	w.str(k)
	w.u32(ggufF32)
	w.u32(math.Float32bits(v))
}
func (w *ggufWriter) kvBool(k string, v bool) {
	w.str(k)
	w.u32(ggufBool)
	if v {
		w.buf.WriteByte(1)
	} else {
		w.buf.WriteByte(0)
	}
}
func (w *ggufWriter) kvStrings(k string, vs []string) {
	w.str(k)
	w.u32(ggufArray)
	w.u32(ggufString)
	w.u64(uint64(len(vs)))
	for _, v := range vs {
		w.str(v)
	}
}
func (w *ggufWriter) kvF32s(k string, vs []float32) {
	w.str(k)
	w.u32(ggufArray)
	w.u32(ggufF32)
	w.u64(uint64(len(vs)))
	for _, v := range vs {
		w.u32(math.Float32bits(v))
	}
}
func (w *ggufWriter) kvI32s(k string, vs []int32) {
	w.str(k)
	w.u32(ggufArray)
	w.u32(ggufI32)
	w.u64(uint64(len(vs)))
	for _, v := range vs {
		w.u32(uint32(v))
	}
}
