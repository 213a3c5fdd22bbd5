// Package reply reads a local model's reply: Parse takes the one shell
// command out of it, whatever shape the model gave it (the JSON asked
// for, a tool call printed as text, a fenced block, a bare line), and
// Text keeps only the prose of an answer. It is pure: no I/O, bounded
// work for any input.
package reply
