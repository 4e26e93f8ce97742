package server_test

import (
	"net/http"
	"strconv"
	"testing"
)

type changesPage struct {
	Changes []struct {
		ID   string `json:"id"`
		Kind string `json:"kind"`
		Seq  int64  `json:"seq"`
	} `json:"changes"`
}

// changeIDs pages through the change feed as a client sees it.
func changeIDs(tb testing.TB, h *harness, c *client) map[string]bool {
	tb.Helper()
	ids := map[string]bool{}
	after := int64(0)
	for {
		p := decodeJSON[changesPage](tb, mustDo(tb, c, "GET", "/api/v1/changes?limit=3&after="+strconv.FormatInt(after, 10), nil, http.StatusOK))
		if len(p.Changes) == 0 {
			return ids
		}
		for _, ch := range p.Changes {
			if ch.Seq <= after {
				tb.Fatalf("change %s has seq %d after cursor %d", ch.ID, ch.Seq, after)
			}
			ids[ch.ID] = true
		}
		after = p.Changes[len(p.Changes)-1].Seq
	}
}

// The change feed carries exactly the records of the user's scope: never another teacher's course, never
// another school's data.
func TestChangesScope(t *testing.T) {
	h := MustHarness(t)
	t1 := changeIDs(t, h, h.t1)
	for _, k := range []string{"$course1", "$lesson1", "$s1", "$s2"} {
		if !t1[h.ids[k]] {
			t.Errorf("T1 does not receive %s of their own course", k)
		}
	}
	for _, k := range []string{"$course2", "$s3", "$s4", "$courseB", "$sB"} {
		if t1[h.ids[k]] {
			t.Errorf("T1 receives %s, which is not theirs", k)
		}
	}
	t2 := changeIDs(t, h, h.t2)
	for _, k := range []string{"$course1", "$lesson1", "$s1"} {
		if t2[h.ids[k]] {
			t.Errorf("T2 receives %s of T1's course", k)
		}
	}
	b := changeIDs(t, h, h.adminB)
	for _, k := range []string{"$course1", "$course2", "$lesson1", "$s1", "$s4"} {
		if b[h.ids[k]] {
			t.Errorf("school B's admin receives %s of school A", k)
		}
	}
	if !b[h.ids["$courseB"]] || !b[h.ids["$sB"]] {
		t.Error("school B's admin does not receive school B's records")
	}
	for _, q := range []string{"after=-1", "after=x", "limit=0", "limit=1001", "limit=y"} {
		if st, code, _ := do(t, h.t1, "GET", "/api/v1/changes?"+q, nil); st != http.StatusUnprocessableEntity || code != "validation_failed" {
			t.Errorf("?%s: %d %s, want 422 validation_failed", q, st, code)
		}
	}
	if st, code, _ := do(t, h.anon, "GET", "/api/v1/changes", nil); st != http.StatusUnauthorized || code != "unauthenticated" {
		t.Errorf("anonymous: %d %s", st, code)
	}
}
