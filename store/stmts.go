package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// stmtCache keeps prepared statements of one pool: parsing SQL costs more than running a point query, so the
// hot queries are prepared once per connection instead of on every call.
type stmtCache struct {
	mu sync.Mutex
	db *sql.DB
	m  map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[query]; ok {
		return s, nil
	}
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = s
	return s, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.m {
		s.Close()
	}
	c.m = nil
}

// cached returns a statement prepared earlier, or nil.
func (c *stmtCache) cached(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[query]
}

// Hot queries of the record layer, prepared on the writer's one connection when the store opens: inside a
// transaction that connection is taken, so preparing there later would wait for itself.
const (
	qNextSeq    = `SELECT COALESCE(MAX(seq), 0) + 1 FROM records WHERE school_id = ?`
	qLoadRecord = `SELECT ` + recordColumns + ` FROM records WHERE id = ? AND school_id = ?`
	qListKind   = `SELECT ` + recordColumns + ` FROM records WHERE school_id = ? AND kind = ? AND deleted = 0 ORDER BY id`
	qListParent = `SELECT ` + recordColumns + ` FROM records WHERE school_id = ? AND kind = ? AND deleted = 0 AND parent_id = ? ORDER BY id`
	qPutRecord  = `INSERT INTO records (id, school_id, kind, scope_id, parent_id, seq, clocks, deleted, packet)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET scope_id = excluded.scope_id, parent_id = excluded.parent_id, seq = excluded.seq,
			clocks = excluded.clocks, deleted = excluded.deleted, packet = excluded.packet`
)

func (db *DB) prepareWriter(ctx context.Context) error {
	for _, q := range []string{qNextSeq, qLoadRecord, qListKind, qListParent, qPutRecord} {
		if _, err := db.writeStmts.get(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// prepared returns a prepared statement for query on q: the reader pool's own (prepared on first use), or, in a
// write transaction, the writer's statement bound to it. The caller does not close it.
func (db *DB) prepared(ctx context.Context, q querier, query string) (*sql.Stmt, error) {
	if tx, ok := q.(*sql.Tx); ok {
		s := db.writeStmts.cached(query)
		if s == nil {
			return nil, fmt.Errorf("statement not prepared for the writer: %.40s", query)
		}
		return db.txs.stmt(ctx, tx, s), nil
	}
	return db.readStmts.get(ctx, query)
}
