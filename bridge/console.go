package bridge

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed console
var consoleFiles embed.FS

// routeConsole serves the web console, a static page that uses the same
// public API as every other client.
func (s *Server) routeConsole(e *echo.Echo) {
	sub, _ := fs.Sub(consoleFiles, "console")
	h := http.FileServer(http.FS(sub))
	e.GET("/", echo.WrapHandler(h))
	e.GET("/console/*", echo.WrapHandler(http.StripPrefix("/console", h)))
}

// noFraming forbids every page of any other origin, same-site ones
// included, to show a response of the bridge in a frame: a page that
// framed the console could lay it invisibly under its own and have a
// logged-in user's clicks land on Cancel or Run. X-Frame-Options is for
// browsers that predate CSP frame-ancestors. The API answers get the
// headers too; no client frames them.
func noFraming(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		return next(c)
	}
}
