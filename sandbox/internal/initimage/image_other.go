//go:build !amd64 && !arm64

package initimage

// No image is built for this architecture: the sandbox re-executes its
// own binary.
var compressed []byte
