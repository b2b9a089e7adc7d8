package sessions_test

import (
	"strings"
	"testing"

	"github.com/ginsessions/sessions"
)

// TestRedisKey checks which part of an id names its Redis key: the first 128
// bits of the digest, after the tag of a logged-in session's id; any other
// id is kept whole.
func TestRedisKey(t *testing.T) {
	digest := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		name, id, want string
	}{
		{"digest", digest, "session:" + digest[:32]},
		{"tagged", "u7." + digest, "session:u7." + digest[:32]},
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
