package ollamatest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// Content types as Ollama's gin server sends them.
const (
	contentJSON   = "application/json; charset=utf-8"
	contentNDJSON = "application/x-ndjson"
	contentText   = "text/plain; charset=utf-8"
)

// writeJSON writes v as gin's c.JSON does: json.Marshal, no trailing
// newline.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"marshal response"}`)
	}
	w.Header().Set("Content-Type", contentJSON)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes Ollama's error body {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeText(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", contentText)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

// maxBody bounds what the fake reads of a request body.
const maxBody = 64 << 20

// decodeBody decodes the JSON body into v the way gin's ShouldBindJSON
// does, answering 400 with Ollama's message when it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(v)
	switch {
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "missing request body")
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}
