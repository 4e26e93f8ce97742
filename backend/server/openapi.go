package server

import (
	_ "embed"
	"net/http"
)

// openAPI is the API's contract. A test fails when a registered route is missing from it, or it names a route
// that does not exist.
//
//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(openAPI)
}
