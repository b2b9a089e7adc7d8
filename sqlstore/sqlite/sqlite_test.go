package sqlite_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ginsessions/sessions/sqlstore/sqlite"
)

// TestOpen: the file is created when missing, with the settings the store
// needs on every connection; a path with URI characters is a file name,
// and a folder that does not exist is an error from Open itself.
func TestOpen(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		wantErr bool
	}{
		{"plain", "sessions.db", false},
		{"URI characters", "odd?name#%20.db", false},
		{"missing folder", filepath.Join("missing", "sessions.db"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.file)
			db, err := sqlite.Open(path)
			if tt.wantErr {
				if err == nil {
					db.Close()
					t.Fatal("Open succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("the file was not created as named: %v", err)
			}
			for pragma, want := range map[string]string{"journal_mode": "wal", "busy_timeout": "5000", "synchronous": "1"} {
				var got string
				if err := db.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil || got != want {
					t.Fatalf("%s = %q (%v), want %q", pragma, got, err, want)
				}
			}
		})
	}
}
