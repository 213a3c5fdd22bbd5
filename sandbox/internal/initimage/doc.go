// Package initimage holds the sandbox's own program (../initprog), built
// for linux/amd64 and linux/arm64 and embedded compressed, and hands it
// out as a sealed, executable memory file. Starting that 2.4 MB program
// for each command's init, instead of the 54 MB amf binary, halves what
// a sandbox's start costs (docs/PERFORMANCE.md).
//
// The images are built by `go generate ./sandbox/internal/initimage`
// with every build input but the toolchain fixed, so the build is
// reproducible, and beside them a digest of those inputs (linux.inputs);
// TestImagesAreBuiltFromThisSource fails when the digest is not this
// source's and, under the images' toolchain, when an image differs from
// what this source builds, so a change to package child that was not
// regenerated cannot ship. The program is built by the toolchain that
// generated the images, not the one that builds amf: a Go release's
// fixes reach it when they are regenerated.
package initimage

//go:generate go run ./gen
