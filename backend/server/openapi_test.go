package server_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// contract is the OpenAPI document as the server embeds it.
var contract = sync.OnceValues(func() (map[string]any, error) {
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	return doc, json.Unmarshal(raw, &doc)
})

func mustContract(tb testing.TB) map[string]any {
	tb.Helper()
	doc, err := contract()
	if err != nil {
		tb.Fatalf("openapi.json: %v", err)
	}
	return doc
}

// resolve follows a local $ref ("#/components/schemas/User") to what it names, or returns nil.
func resolve(doc map[string]any, ref string) map[string]any {
	var node any = doc
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		node = m[part]
	}
	m, _ := node.(map[string]any)
	return m
}

// deref returns a node, or what its $ref names.
func deref(doc, node map[string]any) map[string]any {
	for node != nil {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		node = resolve(doc, ref)
	}
	return nil
}

// operation returns the documented operation of a pattern such as "GET /api/v1/courses/{id}".
func operation(doc map[string]any, pattern string) map[string]any {
	method, path, _ := strings.Cut(pattern, " ")
	paths, _ := doc["paths"].(map[string]any)
	item, _ := paths[path].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	return op
}

var (
	uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	patterns    sync.Map // string → *regexp.Regexp
)

// conform lists how v breaks a JSON schema of the document. It knows the keywords the document uses.
func conform(doc, schema map[string]any, v any, at string) []string {
	schema = deref(doc, schema)
	if schema == nil {
		return []string{at + ": schema reference does not resolve"}
	}
	if alts, ok := schema["oneOf"].([]any); ok {
		matches := 0
		for _, alt := range alts {
			if len(conform(doc, alt.(map[string]any), v, at)) == 0 {
				matches++
			}
		}
		if matches != 1 {
			return []string{fmt.Sprintf("%s: %s matches %d of the oneOf alternatives, want 1", at, short(v), matches)}
		}
		return nil
	}
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, at+": "+fmt.Sprintf(format, args...)) }
	if c, ok := schema["const"]; ok && c != v {
		fail("%s, want %v", short(v), c)
	}
	if e, ok := schema["enum"].([]any); ok && !slices.Contains(e, v) {
		fail("%s is not one of %v", short(v), e)
	}
	if t, ok := schema["type"]; ok {
		types := []any{t}
		if list, ok := t.([]any); ok {
			types = list
		}
		if !slices.ContainsFunc(types, func(t any) bool { return hasType(v, t.(string)) }) {
			fail("%s is not of type %v", short(v), t)
			return bad
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		for _, r := range asList(schema["required"]) {
			if _, ok := v[r.(string)]; !ok {
				fail("%s lacks required %q", short(v), r)
			}
		}
		for k, val := range v {
			switch p, ok := props[k].(map[string]any); {
			case ok:
				bad = append(bad, conform(doc, p, val, at+"."+k)...)
			case schema["additionalProperties"] == false:
				fail("unexpected member %q", k)
			default:
				if extra, ok := schema["additionalProperties"].(map[string]any); ok {
					bad = append(bad, conform(doc, extra, val, at+"."+k)...)
				}
			}
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, item := range v {
				bad = append(bad, conform(doc, items, item, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
		if n, ok := schema["maxItems"].(float64); ok && float64(len(v)) > n {
			fail("%d items, want at most %v", len(v), n)
		}
	case string:
		if p, ok := schema["pattern"].(string); ok {
			re, _ := patterns.LoadOrStore(p, regexp.MustCompile(p))
			if !re.(*regexp.Regexp).MatchString(v) {
				fail("%q does not match %s", v, p)
			}
		}
		var err error
		switch schema["format"] {
		case "uuid":
			if !uuidPattern.MatchString(v) {
				err = fmt.Errorf("not a UUID")
			}
		case "date":
			_, err = time.Parse(time.DateOnly, v)
		case "date-time":
			_, err = time.Parse(time.RFC3339, v)
		}
		if err != nil {
			fail("%q is not a %v: %v", v, schema["format"], err)
		}
	case float64:
		if min, ok := schema["minimum"].(float64); ok && v < min {
			fail("%v is below %v", v, min)
		}
		if max, ok := schema["maximum"].(float64); ok && v > max {
			fail("%v is above %v", v, max)
		}
	}
	return bad
}

func hasType(v any, t string) bool {
	switch v := v.(type) {
	case nil:
		return t == "null"
	case bool:
		return t == "boolean"
	case string:
		return t == "string"
	case float64:
		return t == "number" || t == "integer" && v == math.Trunc(v)
	case []any:
		return t == "array"
	case map[string]any:
		return t == "object"
	}
	return false
}

// member walks nested objects by their keys; it returns nil where one is missing.
func member(node any, keys ...string) map[string]any {
	for _, k := range keys {
		m, _ := node.(map[string]any)
		node = m[k]
	}
	m, _ := node.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func short(v any) string {
	raw, _ := json.Marshal(v)
	if len(raw) > 120 {
		return string(raw[:120]) + "…"
	}
	return string(raw)
}

// documentedPattern returns the documented operation ("GET /api/v1/courses/{id}") that a request goes to, or ""
// when none does. Literal path segments win over parameters, as in the server's mux.
func documentedPattern(doc map[string]any, method, path string) string {
	best, bestParams := "", -1
	got := strings.Split(path, "/")
	for documented, item := range member(doc, "paths") {
		if member(item, strings.ToLower(method)) == nil {
			continue
		}
		want := strings.Split(documented, "/")
		if len(want) != len(got) {
			continue
		}
		params := 0
		for i := range want {
			if strings.HasPrefix(want[i], "{") {
				params++
			} else if want[i] != got[i] {
				params = -1
				break
			}
		}
		if params >= 0 && (bestParams < 0 || params < bestParams) {
			best, bestParams = method+" "+documented, params
		}
	}
	return best
}

// checkContract fails the test when an answer of a route is not documented as it is: its status, its content
// type and the shape of its JSON body.
func checkContract(t testing.TB, pattern string, res *http.Response, body []byte) {
	t.Helper()
	doc := mustContract(t)
	op := operation(doc, pattern)
	if op == nil {
		t.Errorf("contract: %s is not documented", pattern)
		return
	}
	responses, _ := op["responses"].(map[string]any)
	status := strconv.Itoa(res.StatusCode)
	r, ok := responses[status].(map[string]any)
	if !ok && res.StatusCode >= 500 {
		r, ok = responses["default"].(map[string]any)
	}
	if !ok {
		t.Errorf("contract: %s does not document status %s: %.200s", pattern, status, body)
		return
	}
	r = deref(doc, r)
	content, _ := r["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) > 0 {
			t.Errorf("contract: %s %s documents no body, got %.200s", pattern, status, body)
		}
		return
	}
	mediaType := strings.TrimSpace(strings.Split(res.Header.Get("Content-Type"), ";")[0])
	media, ok := content[mediaType].(map[string]any)
	if !ok {
		t.Errorf("contract: %s %s does not document Content-Type %q", pattern, status, mediaType)
		return
	}
	if mediaType != "application/json" {
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("contract: %s %s: body is not JSON: %v", pattern, status, err)
		return
	}
	for _, problem := range conform(doc, media["schema"].(map[string]any), v, "body") {
		t.Errorf("contract: %s %s: %s", pattern, status, problem)
	}
}

// TestOpenAPI: the served document is OpenAPI 3.1, documents every registered route and nothing else, and is
// consistent in itself.
func TestOpenAPI(t *testing.T) {
	s := MustServer(t, nil)
	c := s.client("browser")
	res, _, raw := c.send(t, c.newRequest(t, "GET", "/api/v1/openapi.json", nil))
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("the document is not JSON: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	if file := mustContract(t); fmt.Sprint(file) != fmt.Sprint(doc) {
		t.Error("the served document differs from openapi.json")
	}

	registered := s.srv.Patterns()
	t.Run("EveryRouteDocumented", func(t *testing.T) {
		for _, p := range registered {
			if operation(doc, p) == nil {
				t.Errorf("%s is registered but not documented", p)
			}
		}
	})
	t.Run("OnlyRoutesDocumented", func(t *testing.T) {
		for path, item := range doc["paths"].(map[string]any) {
			for method := range item.(map[string]any) {
				if p := strings.ToUpper(method) + " " + path; !slices.Contains(registered, p) {
					t.Errorf("%s is documented but not registered", p)
				}
			}
		}
	})
	t.Run("References", func(t *testing.T) {
		var walk func(node any, at string)
		walk = func(node any, at string) {
			switch n := node.(type) {
			case map[string]any:
				if ref, ok := n["$ref"].(string); ok && resolve(doc, ref) == nil {
					t.Errorf("%s: $ref %q does not resolve", at, ref)
				}
				for k, v := range n {
					walk(v, at+"/"+k)
				}
			case []any:
				for i, v := range n {
					walk(v, at+"/"+strconv.Itoa(i))
				}
			}
		}
		walk(doc, "#")
	})
	ids := map[string]string{}
	for _, p := range registered {
		op := operation(doc, p)
		if op == nil {
			continue
		}
		t.Run(p, func(t *testing.T) {
			method, path, _ := strings.Cut(p, " ")
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] != "" {
				t.Errorf("operationId %q is missing or also used by %s", id, ids[id])
			}
			ids[id] = p
			params := map[string]string{}
			for _, prm := range asList(op["parameters"]) {
				prm := deref(doc, prm.(map[string]any))
				params[prm["name"].(string)] = prm["in"].(string)
			}
			for _, m := range regexp.MustCompile(`\{(\w+)\}`).FindAllStringSubmatch(path, -1) {
				if params[m[1]] != "path" {
					t.Errorf("path parameter %s is not declared", m[1])
				}
			}
			responses, _ := op["responses"].(map[string]any)
			public := op["security"] != nil
			if _, ok := responses["401"]; !public && !ok {
				t.Error("a route that needs a session does not document 401")
			}
			if _, ok := responses["403"]; method != "GET" && strings.HasPrefix(path, "/api/") && !ok {
				t.Error("a write does not document 403 cross_origin")
			}
			_, hasBody := op["requestBody"]
			readsBody := slices.ContainsFunc(bodyRoutes, func(r bodyRoute) bool { return r.pattern == p })
			if hasBody != readsBody {
				t.Errorf("documents a request body: %t; reads one: %t", hasBody, readsBody)
			}
			if readsBody {
				for _, status := range []string{"400", "413", "415"} {
					if _, ok := responses[status]; !ok {
						t.Errorf("reads a body but does not document %s", status)
					}
				}
				body := deref(doc, member(op, "requestBody"))
				if schema := deref(doc, member(body, "content", "application/json", "schema")); schema["additionalProperties"] != false {
					t.Error("the request body schema allows unknown members")
				}
			}
			for status, r := range responses {
				schema := member(deref(doc, r.(map[string]any)), "content", "application/json", "schema")
				if ref, _ := schema["$ref"].(string); strings.HasSuffix(ref, "List") && status == "200" && (params["cursor"] != "query" || params["limit"] != "query") {
					t.Error("a list does not document the cursor and limit parameters")
				}
			}
		})
	}
}

// TestContractChecker shows the checker that every answer goes through can fail.
func TestContractChecker(t *testing.T) {
	doc := mustContract(t)
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/api/v1/students/import", "POST /api/v1/students/import"},
		{"PATCH", "/api/v1/students/0190a5e4-0000-7000-8000-000000000000", "PATCH /api/v1/students/{id}"},
		{"POST", "/api/v1/users/x/devices/approve", "POST /api/v1/users/{id}/devices/approve"},
		{"GET", "/", ""},
		{"PUT", "/api/v1/courses", ""},
	} {
		if got := documentedPattern(doc, tc.method, tc.path); got != tc.want {
			t.Errorf("%s %s goes to %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
	course := `{"id":"0190a5e4-0000-7000-8000-000000000000","name":"Klavier","subject":"","teacherId":"0190a5e4-0000-7000-8000-000000000001","teacherName":"T","studentCount":2}`
	for _, tc := range []struct {
		name, body string
		problems   bool
	}{
		{"AsDocumented", course, false},
		{"UnknownMember", strings.Replace(course, `"name"`, `"secret":1,"name"`, 1), true},
		{"MissingMember", strings.Replace(course, `"studentCount":2`, `"teacherName2":""`, 1), true},
		{"WrongType", strings.Replace(course, `"studentCount":2`, `"studentCount":"2"`, 1), true},
		{"NotAUUID", strings.Replace(course, `"0190a5e4-0000-7000-8000-000000000000"`, `"42"`, 1), true},
	} {
		var v any
		if err := json.Unmarshal([]byte(tc.body), &v); err != nil {
			t.Fatal(err)
		}
		if got := conform(doc, map[string]any{"$ref": "#/components/schemas/Course"}, v, "body"); (len(got) > 0) != tc.problems {
			t.Errorf("%s: problems %v, want some: %t", tc.name, got, tc.problems)
		}
	}
}
