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
