package kube

// The memory, in bytes, one byte of an API server's answer takes while a
// call holds it (shared/memory). AnswerCost: read, masked (decoded and encoded again),
// decoded by kubectl's or client-go's code and printed. A 30 MiB list of
// ConfigMaps read with k8s_kubectl get -o name peaked at 253 MiB RSS
// (docs/benchmarks.md).
const AnswerCost = 8

// DocumentCost is AnswerCost for a command that prints the answer as one
// document (-o json or yaml, a JSONPath or Go template over it): on a
// 24 MB list those peaked at 262-365 MiB against 225-237 for -o name.
const DocumentCost = 12

// TemplateCopyCost is what each value a Go template's string building
// functions take adds to DocumentCost: each may be a copy of the whole
// answer ({{print . . . .}} on a 30 MiB list peaked 504 MiB higher).
const TemplateCopyCost = 5

// ColumnCost is what each custom column adds to DocumentCost: kubectl
// holds every cell until its tabwriter flushes, and a column may copy
// every object's largest value (40 columns of a 3 MB list: 479 MiB).
const ColumnCost = 4

// JSONPathActionCost is what each {action} of a JSONPath adds to
// DocumentCost: each finds its results over the whole answer (200 actions
// over a 3 MB list: 224 MiB, eight such calls 588 MiB).
const JSONPathActionCost = 1

// CopyCost is the memory one byte of a copy the Guard makes of an answer
// (the merge of one list per namespace) takes: a limited caller's -A list
// of 24 MB peaked 73 MiB above the same list read at once.
const CopyCost = 3

// MemoryCosts and MemoryNarrow complete the refusal of an answer too large
// for the memory for answers (shared/memory).
const (
	MemoryCosts  = ", more with -o json or yaml, and per column, JSONPath node or template copy"
	MemoryNarrow = " (a selector, a namespace, fewer columns; --tail or --since for logs)"
)
