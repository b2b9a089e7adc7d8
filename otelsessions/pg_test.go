package otelsessions_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ginsessions/sessions/internal/pgtest"
	"github.com/ginsessions/sessions/pgstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgURL is the PostgreSQL server of the tests: PG_URL, or one that TestMain
// started; noPG says why there is none.
var pgURL, noPG string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var (
		stop func()
		err  error
	)
	pgURL, noPG, stop, err = pgtest.ForMain(pgtest.EnvURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	return m.Run()
}

// TestPostgres: the instruments and spans of a browse on PostgreSQL, and
// nothing secret in them; the cleaner's expiry events count as ended
// sessions.
func TestPostgres(t *testing.T) {
	if pgURL == "" {
		t.Skip("skipping the PostgreSQL test: " + noPG)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	var b [6]byte
	_, _ = rand.Read(b[:])
	table := "otel_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+pgx.Identifier{table}.Sanitize())
	})
	store, err := pgstore.New(ctx, pool, pgstore.WithTable(table))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })

	tel := newTelemetry(t)
	tokens := browse(t, tel.site(store))
	checkBrowse(t, tel, "postgres")
	if found := leaks(tel, tel.metrics(t), append(secretsOf(tokens), "ann")); len(found) > 0 {
		t.Errorf("secrets recorded:\n%s", strings.Join(found, "\n"))
	}
}
