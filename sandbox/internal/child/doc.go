// Package child is what the sandbox runs in the processes it starts from
// its own binary: the spawner that forks inits, the init that builds a
// confined command's root and becomes the command, and the holder of an
// id-mapping user namespace. The sandbox re-executes the binary (as runc
// does) for each confined command, so this package keeps the processes'
// start cheap: it imports little, and its init function takes over the
// process before the packages of the rest of the program (the NATS
// server, Prometheus, the policy tables…) are initialised. Go
// initialises a package after everything it imports, and otherwise in
// the order of import paths, so a package with few dependencies is
// initialised early. Keep it so: an import here is paid by every
// confined command.
//
// The parent side (package sandbox) uses the exported names, which are
// the protocol between the two.
package child
