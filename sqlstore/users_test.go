package sqlstore_test

import (
	"testing"
	"time"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/sessionstest"
)

// login creates a session of principal, last seen at seen, alive until
// expires, and returns its id and UUID.
func login(t testing.TB, store sessions.Store, principal string, seen, expires time.Time) (id, uuid string) {
	t.Helper()
	id = sessionstest.NewID()
	uuid = "uuid-" + id[:12]
	ch := sessions.Change{New: true, Set: map[string]string{"a": "1"}, UUID: uuid,
		Created: seen, Saved: seen, Expires: expires,
		Principal: principal, IP: "192.0.2.7", UserAgent: "Browser/1.0"}
	if err := store.Save(testCtx(t), id, ch); err != nil {
		t.Fatalf("Save(New, %q): %v", principal, err)
	}
	return id, uuid
}
