package migrate

import (
	"net/url"
	"testing"
)

func TestSameURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/account?tab=1", "./account?tab=1"},
		{"/a/b", "./b"},
		{"/a/", "./"},
		{"/", "./"},
		{"", "./"},
		{"/?q=x", "./?q=x"},
		{"/a/b:c", "./b:c"},
		{"/a/%2F%20x", "./%2F%20x"},
		{"/a/b?x=%26&y", "./b?x=%26&y"},
	} {
		u, err := url.Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		got := sameURL(u)
		if got != tc.want {
			t.Errorf("sameURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		// Resolved against the URL the browser asked for, behind a proxy
		// that strips a prefix, it is that URL again.
		asked, _ := url.Parse("https://example.com/prefix" + u.String())
		if u.Path == "" {
			asked, _ = url.Parse("https://example.com/prefix/")
		}
		if back := asked.ResolveReference(mustParse(t, got)); back.String() != asked.String() {
			t.Errorf("%q resolves to %q from %q", got, back, asked)
		}
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
