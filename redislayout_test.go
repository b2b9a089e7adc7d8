package sessions_test

import (
	"strings"
	"testing"

	"github.com/ginsessions/sessions"
)

// TestRedisKey checks which part of an id names its Redis key: the first 128
// bits of the digest, after the tag of a logged-in session's id as a hash
// tag; any other id is kept whole.
func TestRedisKey(t *testing.T) {
	digest := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		name, id, want string
	}{
		{"digest", digest, "session:" + digest[:32]},
		{"tagged", "u7." + digest, "session:{u7}" + digest[:32]},
		{"not a tag", "U7." + digest, "session:U7." + digest[:32]},
		{"too short", digest[:40], "session:" + digest[:40]},
		{"not hex", strings.Repeat("z", 64), "session:" + strings.Repeat("z", 64)},
		{"upper-case hex", strings.ToUpper(digest), "session:" + strings.ToUpper(digest)},
		{"empty", "", "session:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sessions.RedisKey("session:", tt.id); got != tt.want {
				t.Errorf("RedisKey(%q) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
}

// TestRedisUUIDForms saves UUIDs in every form uuid.Parse takes, and others:
// each loads back as it was saved.
func TestRedisUUIDForms(t *testing.T) {
	_, store := testStore(t, redisBackends[0].start(t))
	for _, u := range []string{
		"8c7f0a4e-5b8a-4c1e-9f44-3d2a1b0c9e8f",
		"8C7F0A4E-5B8A-4C1E-9F44-3D2A1B0C9E8F",
		"{8c7f0a4e-5b8a-4c1e-9f44-3d2a1b0c9e8f}",
		"urn:uuid:8c7f0a4e-5b8a-4c1e-9f44-3d2a1b0c9e8f",
		"8c7f0a4e5b8a4c1e9f443d2a1b0c9e8f",
		"not a uuid",
		"",
	} {
		id := newID(t)
		ch := change(true)
		ch.UUID = u
		mustNot(t, store.Save(t.Context(), id, ch), "save %q", u)
		rec, found, err := store.Load(t.Context(), id)
		if err != nil || !found || rec.UUID != u {
			t.Errorf("UUID %q loads back as %q (found %v, %v)", u, rec.UUID, found, err)
		}
	}
}
