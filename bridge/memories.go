package bridge

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/memory"
)

// confirmMemory is POST /v1/memories/{id}/confirm: a user vouches for a
// learned command, so every worker may reuse it without asking the model
// before it has worked twice. It needs the admin scope here and, on the
// bus, a credential allowed to publish on amf.api.memory.confirm. The
// answer is the memory confirmed, its whole command; GET
// /v1/memories/{id} shows the same before.
func (s *Server) confirmMemory(c echo.Context) error {
	id := c.Param("id")
	by := "http"
	if rec, ok := c.Get(tokenKey).(tokens.Record); ok {
		by = "http:token " + rec.ID
		if rec.Name != "" {
			by += " (" + rec.Name + ")"
		}
	}
	m, err := s.Client.ConfirmMemory(c.Request().Context(), id, by)
	if err != nil {
		return memoryFail(err)
	}
	return c.JSON(http.StatusOK, m)
}

// memoryToConfirm is GET /v1/memories/{id}: the memory a confirmation of
// id would vouch for, as amf memory confirm shows it before asking: its
// whole command, instruction and owner, from an answer whose content is
// the id's (client.Client.MemoryToConfirm). It asks where a confirmation
// asks, which shows every owner's memories, so it needs the admin scope.
func (s *Server) memoryToConfirm(c echo.Context) error {
	m, _, err := s.Client.MemoryToConfirm(c.Request().Context(), c.Param("id"))
	if err != nil {
		return memoryFail(err)
	}
	return c.JSON(http.StatusOK, m)
}

// memoryFail is the HTTP answer to an error of ConfirmMemory or
// MemoryToConfirm.
func memoryFail(err error) error {
	switch {
	case errors.Is(err, memory.ErrUnknownMemory):
		return fail(http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, client.ErrForbidden):
		return fail(http.StatusForbidden, "forbidden", "the bridge's credential may not confirm memories: issue it with the bridge role (`amf auth creds bridge`)")
	}
	return fail(http.StatusServiceUnavailable, "unavailable", err.Error())
}

// memories is GET /v1/memories: the memories the token's tasks recall
// (its owner's and the shared ones; every owner's for read-all and admin
// tokens), as a worker's index answers them on the owner's subject.
// With ?q=… it searches ({"matches": […]}, best first; k, pool and distro
// as amf memory search takes them), without it lists the newest
// (?limit=N; {"memories": […], "total": N}). A memory whose content is
// not its id's is left out (memory.SearchOn), and "mismatched" then names
// the answers that held one.
func (s *Server) memories(c echo.Context) error {
	ctx := c.Request().Context()
	nc, names := s.Client.NC, s.Client.Names
	var err error
	intParam := func(name string) int {
		v := c.QueryParam(name)
		if v == "" || err != nil {
			return 0
		}
		n, perr := strconv.Atoi(v)
		if perr != nil {
			err = fmt.Errorf("%w: %s=%q is not a number", memory.ErrBadRequest, name, v)
		}
		return n
	}
	k, limit := intParam("k"), intParam("limit")
	var reply any
	if err == nil {
		if q := c.QueryParam("q"); q != "" {
			var rep memory.SearchReply
			rep, err = memory.SearchOn(ctx, nc, names, s.Client.MemorySearchSubject(ctx), memory.SearchRequest{
				Query: q, K: k, Pool: c.QueryParam("pool"), Distro: c.QueryParam("distro"),
			})
			reply = withMismatched(map[string]any{"matches": rep.Matches}, rep.Mismatched)
		} else {
			var rep bus.MemoryListReply
			rep, err = memory.ListOn(ctx, nc, names, s.Client.MemoryListSubject(ctx), limit)
			reply = withMismatched(map[string]any{"memories": rep.Memories, "total": rep.Total}, rep.Mismatched)
		}
	}
	switch {
	case errors.Is(err, memory.ErrBadRequest):
		return fail(http.StatusBadRequest, "bad_request", err.Error())
	case err != nil:
		return fail(http.StatusServiceUnavailable, "unavailable", err.Error())
	}
	return c.JSON(http.StatusOK, reply)
}

// withMismatched adds to a memory reply the answers that held memories
// whose content is not their id's, if any did.
func withMismatched(reply map[string]any, mismatched []bus.MismatchedAnswer) map[string]any {
	if len(mismatched) > 0 {
		reply["mismatched"] = mismatched
	}
	return reply
}
