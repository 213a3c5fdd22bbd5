package child

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDecodeFilterRefusesMalformedMessages: an init installs only whole
// instructions, within the kernel's limit, from a message that carried no
// descriptors and was not cut short; anything else is a clear error, not
// a filter.
func TestDecodeFilterRefusesMalformedMessages(t *testing.T) {
	ok := FilterMessage([]unix.SockFilter{{Code: 0x06, K: 0x7fff0000}})
	for _, tc := range []struct {
		name  string
		msg   []byte
		oobn  int
		flags int
		want  string
	}{
		{"empty", nil, 0, 0, "empty program"},
		{"partial instruction", ok[:5], 0, 0, "not whole instructions"},
		{"too long", make([]byte, (maxFilterInsns+1)*sockFilterSize), 0, 0, "more than 4096"},
		{"descriptors attached", ok, 16, 0, "descriptors attached"},
		{"truncated", ok, 0, unix.MSG_TRUNC, "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeFilter(tc.msg, tc.oobn, tc.flags)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("decodeFilter = %v, want an error saying %q", err, tc.want)
			}
		})
	}
	got, err := decodeFilter(ok, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(FilterMessage(got), ok) {
		t.Fatal("a decoded filter is not the one sent")
	}
}
