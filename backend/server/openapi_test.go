package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"pult/backend/server"
)

// TestOpenAPI holds the served OpenAPI document against the registered routes, both ways: no route undocumented,
// no documented route missing.
func TestOpenAPI(t *testing.T) {
	db := mustStore(t)
	srv := server.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), server.Config{})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	res, err := http.Get(ts.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	registered := map[string]bool{}
	for _, p := range srv.Patterns() {
		registered[p] = true
		if !documented[p] {
			t.Errorf("route %q is not in the OpenAPI document", p)
		}
	}
	var extra []string
	for op := range documented {
		if !registered[op] {
			extra = append(extra, op)
		}
	}
	sort.Strings(extra)
	for _, op := range extra {
		t.Errorf("the OpenAPI document names %q, which no route serves", op)
	}
	if len(registered) < 50 {
		t.Errorf("only %d routes registered; the table is not being recorded", len(registered))
	}
}
