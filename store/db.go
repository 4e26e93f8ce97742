// Package store is Pult's school domain and its encrypted persistence on SQLite, used by both the backend and the
// desktop app. Every record a person wrote is sealed with AES-256-GCM under its school's data key, which is
// wrapped by the master key; the record's identity is the associated data, so a packet moved to another record
// or altered by one byte does not open.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is an open Pult store: a single writer connection beside a pool of readers.
type DB struct {
	write *sql.DB
	read  *sql.DB
	keys  *keyring
	clock *Clock
	now   func() time.Time

	writeStmts stmtCache
	readStmts  stmtCache

	// replica is set when the store copies a server's school (AdoptSchool): local changes then go to the outbox.
	replica atomic.Bool

	// changed collects, per open write transaction, the schools whose records it wrote; after the commit the
	// listener hears of them (the sync hub wakes its connections).
	changedMu sync.Mutex
	changed   map[*sql.Tx]map[string]bool
	listener  atomic.Pointer[func(schoolID string)]

	// scope keeps what each teacher may see, for the changes feed (changes.go).
	scope scopeCache
	// txs is what the open write transaction remembers (records.go).
	txs txRecords

	mu      sync.RWMutex
	schools map[string]sealer // unwrapped school keys
	// newSealer makes the sealer of a school key; the benchmark swaps it for a plaintext one to measure the cost
	// of encryption alone.
	newSealer func(Key) (sealer, error)
}

// Option tunes how Open opens a store.
type Option func(*options)

type options struct {
	eraseDeleted bool
}

// EraseDeleted makes SQLite overwrite what is deleted with zeros (secure_delete) instead of leaving it in free
// pages: for a store on a device that can be lost, where pupils' data a teacher may no longer see is deleted
// (pruned, wiped) while the data key stays. It costs writes, so the server's store does without.
func EraseDeleted() Option { return func(o *options) { o.eraseDeleted = true } }

// Open opens (creating if needed) the store at path, runs pending migrations, and uses master to unwrap school
// keys.
func Open(ctx context.Context, path string, master Key, opts ...Option) (*DB, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	keys, err := newKeyring(master)
	if err != nil {
		return nil, err
	}
	// SQLite gives the WAL and shared-memory files the mode of the database file: create it readable by the
	// owner only, so none of the three is readable by other OS users.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	f.Close()
	// busy_timeout comes first so that every later pragma already waits instead of failing on a busy file.
	pragmas := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	writer := pragmas + "&_txlock=immediate"
	if o.eraseDeleted {
		writer += "&_pragma=secure_delete(1)"
	}
	write, err := sql.Open("sqlite", path+writer)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxLifetime(0)
	db := &DB{write: write, keys: keys, now: time.Now, schools: map[string]sealer{}, newSealer: newSealer}
	if err := db.migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", path+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open store readers %s: %w", path, err)
	}
	read.SetMaxOpenConns(max(4, runtime.NumCPU()))
	db.read = read
	db.writeStmts.db, db.readStmts.db = write, read
	if err := db.prepareWriter(ctx); err != nil {
		db.Close()
		return nil, err
	}
	node, err := db.nodeID(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	db.clock = NewClock(node)
	if err := db.loadReplica(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	var errs []error
	db.readStmts.close()
	db.writeStmts.close()
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	errs = append(errs, db.write.Close())
	return errors.Join(errs...)
}

// Node returns this store's node id, the tie-breaker of its clock stamps.
func (db *DB) Node() string { return db.clock.node }

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with its number", base)
		}
		if err := db.migrateOne(ctx, name, version); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) migrateOne(ctx context.Context, name string, version int) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
			return fmt.Errorf("check migration %d: %w", version, err)
		}
		if n > 0 {
			return nil
		}
		body, err := migrationFiles.ReadFile(name)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("apply migration %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, db.now().Unix()); err != nil {
			return fmt.Errorf("record migration %d: %w", version, err)
		}
		return nil
	})
}

func (db *DB) nodeID(ctx context.Context) (string, error) {
	var node string
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = 'node'`).Scan(&node)
		if errors.Is(err, sql.ErrNoRows) {
			node = strings.ReplaceAll(NewID(), "-", "")[16:]
			_, err = tx.ExecContext(ctx, `INSERT INTO meta (name, value) VALUES ('node', ?)`, node)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	return node, nil
}

// writeTx runs fn in an immediate transaction on the writer connection.
func (db *DB) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	err = fn(tx)
	if err == nil {
		if err = tx.Commit(); err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
	} else {
		tx.Rollback()
	}
	db.scope.end(tx)
	db.txs.end(tx)
	db.changedMu.Lock()
	schools := db.changed[tx]
	delete(db.changed, tx)
	db.changedMu.Unlock()
	if l := db.listener.Load(); err == nil && l != nil {
		for id := range schools {
			(*l)(id)
		}
	}
	return err
}

// noteChange remembers that tx wrote records of a school.
func (db *DB) noteChange(tx *sql.Tx, schoolID string) {
	db.changedMu.Lock()
	defer db.changedMu.Unlock()
	if db.changed == nil {
		db.changed = map[*sql.Tx]map[string]bool{}
	}
	if db.changed[tx] == nil {
		db.changed[tx] = map[string]bool{}
	}
	db.changed[tx][schoolID] = true
}

// OnChange sets the function that hears, after each commit, of every school whose records changed; nil stops it.
// It runs on the writer's goroutine: it must not block.
func (db *DB) OnChange(fn func(schoolID string)) {
	if fn == nil {
		db.listener.Store(nil)
		return
	}
	db.listener.Store(&fn)
}

// querier is what read helpers need: a reader pool or a write transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
