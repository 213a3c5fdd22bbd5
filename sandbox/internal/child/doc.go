// Package child is what the sandbox runs in the processes it starts: the
// spawner that forks inits, the init that builds a confined command's
// root and becomes the command, and the holder of an id-mapping user
// namespace. The spawner and the inits are started from the sandbox's
// own program (../initprog, this package and its imports, embedded by
// ../initimage: after a change here, run `go generate
// ./sandbox/internal/initimage`), or, where that cannot run, from the
// program that imports the sandbox, re-executed (as runc does); the
// id-map holder, started rarely, always the latter. Either
// way this package keeps the processes' start cheap: it imports little,
// and its init function takes over the process before the packages of
// the rest of the program (the NATS server, Prometheus, the policy
// tables…) are initialised. Go
// initialises a package after everything it imports, and otherwise in
// the order of import paths, so a package with few dependencies is
// initialised early. Keep it so: an import here is paid by every
// confined command.
//
// The parent side (package sandbox) uses the exported names, which are
// the protocol between the two.
package child
