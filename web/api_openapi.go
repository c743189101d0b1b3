package web

import (
	_ "embed"
	"net/http"
)

// openAPI documents every API route (Route.API); TestOpenAPIMatchesRoutes
// checks it against the routing table both ways.
//
//go:embed openapi.yaml
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPI)
}
