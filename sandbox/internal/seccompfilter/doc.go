// Package seccompfilter assembles the seccomp filter every sandboxed
// command runs under. The long-lived process assembles it once and hands
// the ready program to each init, which installs it itself; the init
// does not import this package, so neither the assembler nor its
// architecture tables are initialised in every confined command.
package seccompfilter
