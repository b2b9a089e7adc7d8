package benchmarks

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	gcspg "github.com/gin-contrib/sessions/postgres"
	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions/internal/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/lib/pq"
)

// postgresURL is the PostgreSQL server every PostgreSQL benchmark talks to:
// BENCH_PG_URL (or PG_URL), or one started by TestMain. It is empty when
// there is none, and noPostgres then says why.
var (
	postgresURL string
	noPostgres  string
)

// startPostgres finds or starts the server for TestMain and returns what
// stops it.
func startPostgres() (stop func(), err error) {
	postgresURL, noPostgres, stop, err = pgtest.ForMain("BENCH_PG_URL", pgtest.EnvURL)
	return stop, err
}

// needPostgres returns the server's URL, or skips tb with a message that
// says how to get one. Under CI=true TestMain has already failed instead.
func needPostgres(tb testing.TB) string {
	tb.Helper()
	if postgresURL == "" {
		tb.Skip("skipping the PostgreSQL systems: " + noPostgres)
	}
	return postgresURL
}

// pgWire counts, over the connections it dials, the round trips (a burst of
// writes followed by a read, as wire does for Redis) and the statements
// executed: the Execute and simple Query messages of PostgreSQL's protocol,
// whatever the driver, so a BEGIN or a COMMIT counts as one too.
type pgWire struct {
	trips, statements atomic.Int64
}

func (w *pgWire) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &pgConn{Conn: c, wire: w}, nil
}

// Dial and DialTimeout make pgWire a lib/pq Dialer.
func (w *pgWire) Dial(network, addr string) (net.Conn, error) {
	return w.DialContext(context.Background(), network, addr)
}

func (w *pgWire) DialTimeout(network, addr string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return w.DialContext(ctx, network, addr)
}

// pgConn follows the messages the client sends: a type byte and a length
// (which counts itself), but for the first message, the startup, which has
// no type byte. Like countedConn, one goroutine uses it at a time.
type pgConn struct {
	net.Conn
	wire    *pgWire
	sending bool
	started bool    // past the startup message
	header  [5]byte // the header being read
	have    int     // bytes of header read
	skip    int     // bytes of the current message's body still to come
}

func (c *pgConn) Write(p []byte) (int, error) {
	if !c.sending {
		c.sending = true
		c.wire.trips.Add(1)
	}
	c.follow(p)
	return c.Conn.Write(p)
}

func (c *pgConn) Read(p []byte) (int, error) {
	c.sending = false
	return c.Conn.Read(p)
}

// follow reads the message boundaries in p, counting statements.
func (c *pgConn) follow(p []byte) {
	for len(p) > 0 {
		if c.skip > 0 {
			n := min(c.skip, len(p))
			c.skip -= n
			p = p[n:]
			continue
		}
		size := 5
		if !c.started {
			size = 4
		}
		n := copy(c.header[c.have:size], p)
		c.have += n
		p = p[n:]
		if c.have < size {
			return
		}
		length := int(binary.BigEndian.Uint32(c.header[size-4 : size]))
		if c.started && (c.header[0] == 'E' || c.header[0] == 'Q') {
			c.wire.statements.Add(1)
		}
		c.started = true
		c.have = 0
		c.skip = length - 4
	}
}

// newPostgresEnv is the environment of a PostgreSQL system: no Redis, a
// counter on the wire to PostgreSQL.
func newPostgresEnv(tb testing.TB) *redisEnv {
	needPostgres(tb)
	return &redisEnv{pg: &pgWire{}}
}

// pgPoolSize is the pools' size, alike for every system, as poolSize is
// for Redis.
const pgPoolSize = 10

// pgxPool is a pgx pool that dials through env's counter.
func pgxPool(tb testing.TB, env *redisEnv) *pgxpool.Pool {
	cfg, err := pgxpool.ParseConfig(needPostgres(tb))
	if err != nil {
		tb.Fatal(err)
	}
	cfg.MaxConns = pgPoolSize
	cfg.ConnConfig.DialFunc = env.pg.DialContext
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// gin-contrib/sessions' postgres store is antonlindstrom/pgstore on
// database/sql and lib/pq; it keeps its table, http_sessions, itself.
func mountGinContribPostgres(tb testing.TB, r *gin.Engine, env *redisEnv) handlers {
	return mountGinContrib(r, ginContribPostgresStore(tb, env))
}

func ginContribPostgresStore(tb testing.TB, env *redisEnv) gcspg.Store {
	connector, err := pq.NewConnector(needPostgres(tb))
	if err != nil {
		tb.Fatal(err)
	}
	connector.Dialer(env.pg)
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(pgPoolSize)
	db.SetMaxIdleConns(pgPoolSize)
	tb.Cleanup(func() { db.Close() })
	store, err := gcspg.NewStore(db, []byte("benchmark-secret"))
	if err != nil {
		tb.Fatal(err)
	}
	return store
}

func mountSCSPostgres(tb testing.TB, r *gin.Engine, env *redisEnv) handlers {
	return mountSCS(r, scsPostgresStore(tb, env))
}

// scsPostgresStore is scs's pgxstore on a table made as its README says;
// its cleaner is off, as the memory store's is.
func scsPostgresStore(tb testing.TB, env *redisEnv) *pgxstore.PostgresStore {
	pool := pgxPool(tb, env)
	const table = "scs_sessions"
	schema := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %[1]s (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL);
CREATE INDEX IF NOT EXISTS %[1]s_expiry_idx ON %[1]s (expiry)`, table)
	if _, err := pool.Exec(context.Background(), schema); err != nil {
		tb.Fatal(err)
	}
	return pgxstore.NewWithConfig(pool, pgxstore.Config{TableName: table})
}
