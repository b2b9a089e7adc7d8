package sqlstore

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"sync"
	"time"
)

// maxPrepared bounds the statements a store keeps prepared. The texts are
// few: the fixed ones, and an update's, which depends only on how many
// keys a change sets, deletes and increments (the keys are arguments).
// Past the bound, a statement is sent without being kept.
const maxPrepared = 128

// prepared keeps the store's statements prepared, so that the database
// parses each text once per connection rather than at every request:
// database/sql prepares a *sql.Stmt again on each connection it runs on,
// and again after a reconnection.
type prepared struct {
	db *sql.DB
	// retryDeadlocks is set on MySQL, where InnoDB may pick one of two
	// statements that lock the same index ranges (a login and a deletion
	// of the user's sessions) as a deadlock's victim, and roll it back.
	retryDeadlocks bool
	mu             sync.Mutex
	stmts          map[string]*sql.Stmt
}

// deadlockTries is how many times a statement chosen as a deadlock's
// victim is run in all. It was rolled back whole, so running it again
// applies it once. Many concurrent writes of one row (a hundred increments
// of one session at once) can make InnoDB pick the same statement several
// times in a row.
const deadlockTries = 20

// maxDeadlockWait bounds againAfterDeadlock's wait before one try.
const maxDeadlockWait = 32 * time.Millisecond

// againAfterDeadlock reports whether the try'th run of a statement or
// transaction, which failed with err, is to run again: when InnoDB chose
// it as a deadlock's victim and it has tries left. It first waits a random
// time that grows with each try (below 1, 2, 4… ms, at most
// maxDeadlockWait), so that the
// transactions that met do not meet again at once, as many concurrent
// writes of one row do when each run follows the last at once.
func againAfterDeadlock(ctx context.Context, try int, err error) bool {
	if try >= deadlockTries || !isDeadlock(err) {
		return false
	}
	t := time.NewTimer(rand.N(min(time.Millisecond<<min(try-1, 10), maxDeadlockWait)))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// stmt returns the prepared statement of query, preparing it when it is new.
// It returns nil and no error when the cache is full: the caller then sends
// query as it is.
func (p *prepared) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	p.mu.Lock()
	st, full := p.stmts[query], len(p.stmts) >= maxPrepared
	p.mu.Unlock()
	if st != nil || full {
		return st, nil
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if other := p.stmts[query]; other != nil { // prepared meanwhile
		st.Close()
		return other, nil
	}
	if p.stmts == nil {
		p.stmts = map[string]*sql.Stmt{}
	}
	p.stmts[query] = st
	return st, nil
}

func (p *prepared) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	for try := 1; ; try++ {
		var res sql.Result
		if st == nil {
			res, err = p.db.ExecContext(ctx, query, args...)
		} else {
			res, err = st.ExecContext(ctx, args...)
		}
		if err == nil || !p.retryDeadlocks || !againAfterDeadlock(ctx, try, err) {
			return res, err
		}
	}
}

func (p *prepared) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return p.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// scanRow runs a query for one row and scans it into dest; it returns
// sql.ErrNoRows when there is none.
func (p *prepared) scanRow(ctx context.Context, query string, args []any, dest ...any) error {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return err
	}
	if st == nil {
		return p.db.QueryRowContext(ctx, query, args...).Scan(dest...)
	}
	return st.QueryRowContext(ctx, args...).Scan(dest...)
}

// warm prepares the statements of queries that a transaction will run,
// before it begins: preparing takes a connection of the pool, which may
// have no other than the transaction's (sqlite.Open keeps one).
func (p *prepared) warm(ctx context.Context, queries ...string) error {
	for _, q := range queries {
		if q == "" {
			continue
		}
		if _, err := p.stmt(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// inTx returns query's statement for tx when it is prepared (see warm),
// or nil.
func (p *prepared) inTx(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	p.mu.Lock()
	st := p.stmts[query]
	p.mu.Unlock()
	if st == nil {
		return nil
	}
	return tx.StmtContext(ctx, st)
}

// txExec runs a statement in tx, prepared when warm prepared it.
func (p *prepared) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := p.inTx(ctx, tx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// txQuery runs a query in tx, prepared when warm prepared it.
func (p *prepared) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if st := p.inTx(ctx, tx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}

// txScanRow is scanRow in tx.
func (p *prepared) txScanRow(ctx context.Context, tx *sql.Tx, query string, args []any, dest ...any) error {
	if st := p.inTx(ctx, tx, query); st != nil {
		return st.QueryRowContext(ctx, args...).Scan(dest...)
	}
	return tx.QueryRowContext(ctx, query, args...).Scan(dest...)
}

// close closes every statement; the store is closed.
func (p *prepared) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for q, st := range p.stmts {
		st.Close()
		delete(p.stmts, q)
	}
}
