package bridge_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/schedule"
)

// One token making large schedules over HTTP is refused (429 quota,
// naming the limit and its setting) once they would take its bytes of
// the schedules store; another token still makes its own, and a delete
// makes room again.
func TestAttackScheduleBytesOverHTTP(t *testing.T) {
	for _, standalone := range []bool{false, true} {
		name := map[bool]string{false: "amf up", true: "amf bridge"}[standalone]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const limit = 512 << 10
			f := newOwnersFixture(t, standalone, func(s *api.Service) { s.Schedules.(*schedule.Store).OwnerBytes = limit })
			victim, _ := f.user(t, "submit,read")
			attacker, _ := f.user(t, "submit,read,cancel")
			body := func(id string) string {
				return `{"id":"` + id + `","command":"` + strings.Repeat("x", 8<<10) + `","pool":"nobody","schedule":"every 1h"}`
			}
			made := 0
			for ; ; made++ {
				if made == 100 {
					t.Fatalf("one token made %d schedules of 8 KiB with a quota of %d bytes", made, limit)
				}
				a := f.do(t, nil, "POST", "/v1/schedules", attacker, body(fmt.Sprintf("hog-%d", made)), nil)
				if a.status == http.StatusCreated {
					continue
				}
				if a.status != http.StatusTooManyRequests || a.code != "quota" || !strings.Contains(a.msg, "quota reached: schedule-bytes") || !strings.Contains(a.msg, "AMF_QUOTA_SCHEDULE_MIB") {
					t.Fatalf("past the quota: %d %s %q; want 429 quota naming the limit", a.status, a.code, a.msg)
				}
				break
			}
			if made == 0 {
				t.Fatal("the token's first schedule was refused")
			}
			f.body(t, "POST", "/v1/schedules", victim, body("victim-1"), http.StatusCreated, nil)
			f.body(t, "DELETE", "/v1/schedules/hog-0", attacker, "", http.StatusNoContent, nil)
			f.body(t, "POST", "/v1/schedules", attacker, body("hog-after-delete"), http.StatusCreated, nil)
		})
	}
}
