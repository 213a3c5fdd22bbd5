package kernel

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
)

// Which NATS owners the account's revocations cover: a revoked key at any
// time (no credential is issued under a revoked key again), "*" only what
// acted before its time, and nobody else.
func TestRevocationsCoverTheirOwners(t *testing.T) {
	t.Parallel()
	const key = "UAREVOKEDKEY0000000000000000000000000000000000000000000"
	const other = "UAOTHERKEY000000000000000000000000000000000000000000000"
	now := time.Now()
	owner := bus.OwnerOfCredential(bus.CredentialID(key))
	for _, c := range []struct {
		name    string
		revoked map[string]time.Time
		owner   bus.Owner
		acted   time.Time
		want    string // in the reason; "" is not revoked
	}{
		{"its key", map[string]time.Time{key: now.Add(-time.Hour)}, owner, now, key},
		{"its key, before", map[string]time.Time{key: now.Add(time.Hour)}, owner, now.Add(-2 * time.Hour), key},
		{"another key", map[string]time.Time{other: now}, owner, now.Add(-time.Hour), ""},
		{"every credential, acted before", map[string]time.Time{"*": now}, owner, now.Add(-time.Minute), "every credential"},
		{"every credential, acted after", map[string]time.Time{"*": now}, owner, now.Add(time.Minute), ""},
		{"the installation", map[string]time.Time{"*": now, key: now}, "", now.Add(-time.Hour), ""},
		{"nothing revoked", nil, owner, now, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			why, err := revocations{}.ownerWhy(context.Background(), c.revoked, c.owner, c.acted)
			if err != nil {
				t.Fatal(err)
			}
			if (why == "") != (c.want == "") || !strings.Contains(why, c.want) {
				t.Fatalf("ownerWhy = %q, want one naming %q", why, c.want)
			}
		})
	}
}
