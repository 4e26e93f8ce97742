package store

import (
	"context"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	c := NewClock("node-a")
	wall := time.UnixMilli(1_800_000_000_000)
	c.now = func() time.Time { return wall }
	a := c.Now()
	b := c.Now()
	if !(a.String() < b.String()) {
		t.Fatalf("stamps in the same millisecond do not increase: %s, %s", a, b)
	}
	// Another node's stamp from a clock minutes ahead: this node's next edit must still sort after it.
	ahead := HLC{Wall: wall.Add(5 * time.Minute).UnixMilli(), Counter: 3, Node: "node-b"}
	c.Observe(ahead)
	next := c.Now()
	if !(next.String() > ahead.String()) {
		t.Errorf("after observing %s, next stamp %s does not sort after it", ahead, next)
	}
	parsed, err := ParseHLC(next.String())
	if err != nil || parsed != next {
		t.Errorf("ParseHLC(%s) = %v, %v", next, parsed, err)
	}
	if _, err := ParseHLC("garbage"); err == nil {
		t.Error("ParseHLC accepted garbage")
	}
}

// TestFieldClocks checks that a change stamps only the fields it changed, and that writing the same values again
// changes nothing (no new sequence number): what per-field merging in sync builds on.
func TestFieldClocks(t *testing.T) {
	ctx := context.Background()
	key, _ := NewKey()
	db, err := Open(ctx, t.TempDir()+"/pult.db", key)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := db.CreateSchool(ctx, "Schule")
	if err != nil {
		t.Fatal(err)
	}
	a := SchoolAdmin(s.ID)
	st, err := db.CreateStudent(ctx, a, Student{FirstName: "Anna", LastName: "Alt", Class: "4a"})
	if err != nil {
		t.Fatal(err)
	}
	load := func() *record {
		sl, err := db.schoolSealer(ctx, db.read, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		r, err := db.loadRecord(ctx, db.read, sl, s.ID, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	before := load()
	newName := "Neu"
	if _, err := db.UpdateStudent(ctx, a, st.ID, StudentPatch{LastName: &newName}); err != nil {
		t.Fatal(err)
	}
	after := load()
	if after.Clocks["lastName"] <= before.Clocks["lastName"] {
		t.Errorf("lastName clock did not advance: %s -> %s", before.Clocks["lastName"], after.Clocks["lastName"])
	}
	for _, f := range []string{"firstName", "class", "birthDate"} {
		if after.Clocks[f] != before.Clocks[f] {
			t.Errorf("unchanged field %s got a new stamp", f)
		}
	}
	if after.Seq <= before.Seq {
		t.Errorf("seq did not advance: %d -> %d", before.Seq, after.Seq)
	}
	if _, err := db.UpdateStudent(ctx, a, st.ID, StudentPatch{LastName: &newName}); err != nil {
		t.Fatal(err)
	}
	if again := load(); again.Seq != after.Seq {
		t.Errorf("writing the same values changed seq %d -> %d", after.Seq, again.Seq)
	}
}
