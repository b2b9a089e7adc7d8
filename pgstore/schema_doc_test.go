package pgstore

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocsShowTheSchema keeps docs/postgres.md's DDL the statements New
// runs for the default table, word for word, so that a table made by a
// migration from the docs is the table the store expects.
func TestDocsShowTheSchema(t *testing.T) {
	doc, err := os.ReadFile("../docs/postgres.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- schema -->\n```sql\n(.*?)\n```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/postgres.md has no <!-- schema --> sql block")
	}
	want := strings.Join(schemaSQL(table{name: defaultTable}), ";\n\n") + ";"
	if got := string(m[1]); got != want {
		t.Errorf("docs/postgres.md's DDL:\n%s\nwant, as New runs it:\n%s", got, want)
	}
}
