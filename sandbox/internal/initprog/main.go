// Command initprog is the sandbox's own small program: the spawner that
// forks inits and the init that builds a confined command's root and
// becomes the command (package child). The sandbox embeds it (package
// initimage) and starts it in those roles instead of re-executing the
// whole amf binary, whose
// start — a 54 MB program's runtime, its page faults and the package
// inits before child's — was most of what starting a sandbox cost.
package main

import (
	"fmt"
	"os"

	// Its init function takes the process over in each role and never
	// returns from one.
	_ "github.com/amf-os/amf/sandbox/internal/child"
)

func main() {
	fmt.Fprintln(os.Stderr, "amf-sandbox: this program is started by amf's sandbox, in one of its roles, and does nothing on its own")
	os.Exit(2)
}
