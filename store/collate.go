package store

import (
	"sync"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
)

// Names are sorted as a German reader expects ("Ärger" beside "Arbeit", not after "Zimmer"). A Collator keeps
// buffers, so one is shared under a lock.
var (
	collatorMu sync.Mutex
	collator   = collate.New(language.German, collate.IgnoreCase)
)

// collateLess orders names for people.
func collateLess(a, b string) bool {
	collatorMu.Lock()
	defer collatorMu.Unlock()
	if c := collator.CompareString(a, b); c != 0 {
		return c < 0
	}
	return a < b
}
