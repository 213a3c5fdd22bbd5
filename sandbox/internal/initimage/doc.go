// Package initimage holds the sandbox's own program (../initprog), built
// for linux/amd64 and linux/arm64 and embedded compressed, and hands it
// out as a sealed, executable memory file. Starting that 2.4 MB program
// for each command's init, instead of the 54 MB amf binary, halves what
// a sandbox's start costs (docs/PERFORMANCE.md).
//
// The images are built by `go generate ./sandbox/internal/initimage`
// with a fixed toolchain configuration, so the build is reproducible;
// TestImagesAreBuiltFromThisSource rebuilds them and fails when an image
// differs from what this source builds, so a change to package child
// (or to the toolchain) that was not regenerated cannot ship.
package initimage

//go:generate go run ./gen
