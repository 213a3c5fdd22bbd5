package bridge

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/memory"
)

// confirmMemory is POST /v1/memories/{id}/confirm: a user vouches for a
// learned command, so every worker may reuse it without asking the model
// before it has worked twice. It needs the admin scope here and, on the
// bus, a credential allowed to publish on amf.api.memory.confirm.
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
	switch {
	case errors.Is(err, memory.ErrUnknownMemory):
		return fail(http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, client.ErrForbidden):
		return fail(http.StatusForbidden, "forbidden", "the bridge's credential may not confirm memories: issue it with the bridge role (`amf auth creds bridge`)")
	case err != nil:
		return fail(http.StatusServiceUnavailable, "unavailable", err.Error())
	}
	return c.JSON(http.StatusOK, m)
}
