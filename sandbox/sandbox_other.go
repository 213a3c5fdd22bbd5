//go:build !linux

package sandbox

import (
	"context"
	"fmt"
	"runtime"
)

// MaybeInit does nothing where the namespace backend does not exist.
func MaybeInit() {}

// NamespaceRunner is unavailable outside Linux.
type NamespaceRunner struct{ *base }

// New reports that namespaces are a Linux feature.
func New(cfg Config) (*NamespaceRunner, error) {
	return nil, fmt.Errorf("%w: namespaces need Linux, this is %s", ErrUnsupported, runtime.GOOS)
}

// Name implements Runner.
func (n *NamespaceRunner) Name() string { return "namespace" }

// Run implements Runner.
func (n *NamespaceRunner) Run(context.Context, Spec, OutputFunc) (Result, error) {
	return Result{}, ErrUnsupported
}

// Close implements io.Closer.
func (n *NamespaceRunner) Close() error { return nil }

// MicroVMRunner is unavailable outside Linux.
type MicroVMRunner struct{ *base }

// NewMicroVM reports that the micro-VM backend is a Linux feature.
func NewMicroVM(cfg Config) (*MicroVMRunner, error) {
	return nil, fmt.Errorf("%w: micro-VMs need Linux, this is %s", ErrUnsupported, runtime.GOOS)
}

// Name implements Runner.
func (m *MicroVMRunner) Name() string { return "microvm" }

// Run implements Runner.
func (m *MicroVMRunner) Run(context.Context, Spec, OutputFunc) (Result, error) {
	return Result{}, ErrUnsupported
}

// Close implements io.Closer.
func (m *MicroVMRunner) Close() error { return nil }
