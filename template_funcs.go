package sessions

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/render"
)

// Keys under which H and HTMLRender add the session to a template's data.
const (
	templateSessionKey   = "session"
	templateFlashesKey   = "flashes"
	templatePrincipalKey = "principal"
)

// FuncMap returns the template functions that Django templates have and Go
// templates lack, for html/template (engine.SetFuncMap, or Funcs before
// parsing). It returns a new map on every call, so callers may add to it.
//
// It holds:
//
//	pluralize  Django's pluralize filter, in its three forms:
//	           {{ .n | pluralize }}          "" for 1, "s" otherwise
//	           {{ .n | pluralize "es" }}     "" for 1, "es" otherwise
//	           {{ .n | pluralize "y,ies" }}  "y" for 1, "ies" otherwise
//
// pluralize takes any integer or floating-point type, numbers read back from
// the session or decoded from JSON (json.Number too), and strings holding a
// number; 1 and 1.0 are singular, everything else (0 included) is plural.
// A slice, array or map is singular when it holds one element. As in Django,
// anything else (nil, a string that is not a number, a struct) and a suffix
// with more than one comma print nothing.
func FuncMap() template.FuncMap {
	return template.FuncMap{
		"pluralize": pluralize,
	}
}

// pluralize receives the piped value last: {{ .n | pluralize "es" }} calls
// pluralize("es", n).
func pluralize(args ...any) (string, error) {
	suffix, value := "s", any(nil)
	switch len(args) {
	case 1:
		value = args[0]
	case 2:
		s, ok := args[0].(string)
		if !ok {
			return "", fmt.Errorf("sessions: pluralize: the suffix must be a string, got %T", args[0])
		}
		suffix, value = s, args[1]
	default:
		return "", fmt.Errorf("sessions: pluralize takes a value and an optional suffix, got %d arguments", len(args))
	}

	if !strings.Contains(suffix, ",") {
		suffix = "," + suffix
	}
	singular, plural, _ := strings.Cut(suffix, ",")
	if strings.Contains(plural, ",") {
		return "", nil
	}
	one, ok := isOne(value)
	if !ok {
		return "", nil
	}
	if one {
		return singular, nil
	}
	return plural, nil
}

// isOne reports whether v counts as one, and whether it can be counted at all,
// following Django: float(v) == 1 for numbers and numeric strings, len(v) == 1
// for containers.
func isOne(v any) (one, ok bool) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return false, false
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int() == 1, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint() == 1, true
	case reflect.Float32, reflect.Float64:
		return rv.Float() == 1, true
	case reflect.Bool:
		// Python's bool is an int: float(True) == 1.
		return rv.Bool(), true
	case reflect.String:
		return stringIsOne(rv.String())
	case reflect.Slice, reflect.Array, reflect.Map:
		return rv.Len() == 1, true
	}
	return false, false
}

// stringIsOne reads s as Python's float() does: surrounding spaces are
// allowed, hexadecimal is not, and a number too large for a float64 is still
// a number (infinity), just not one.
func stringIsOne(s string) (one, ok bool) {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "xX") {
		return false, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if !errors.As(err, &ne) || ne.Err != strconv.ErrRange {
			return false, false
		}
	}
	return f == 1, true
}

// H returns a new map holding data's entries plus three the session
// gives:
//
//	session    a snapshot of the session's values (map[string]any):
//	           {{ .session.num_visits }}
//	flashes    the flash messages ([]any), consumed as Session.Flashes
//	           does: {{ range .flashes }}<p>{{ . }}</p>{{ end }}
//	principal  the user the session is bound to by Login, "" when
//	           anonymous (Session.Principal): {{ with .principal }}Signed
//	           in as {{ . }}{{ end }}
//
// Values come back as Session.Get returns them: integral numbers are ints,
// so {{ .session.num_visits }} prints 3, not 3e+00, and a struct comes back
// as a map keyed by its JSON names, so a field tagged json:"name" is
// {{ .session.cart.name }}, not .Name. H is for engines whose HTML renderer
// HTMLRender cannot wrap:
//
//	c.HTML(http.StatusOK, "index.html", sessions.H(c, gin.H{"title": "Home"}))
//
// data is never modified and may be nil. An entry that data already has under
// "session", "flashes" or "principal" wins, and then the flashes are left
// unconsumed. On a route without the session middleware, "session" is an
// empty map, "flashes" nil and "principal" "".
func H(c *gin.Context, data gin.H) gin.H {
	return withSession(contextSession(c), data, true)
}

// contextSession finds the session of the request, or nil when the session
// middleware does not run on this route.
func contextSession(c *gin.Context) *Session {
	if s, ok := sessionFromWriter(c.Writer); ok {
		return s
	}
	s, _ := FromContext(c)
	return s
}

// withSession builds the template data for one render. s may be nil. The
// flashes are consumed when consume is set and left for a later page
// otherwise.
func withSession(s *Session, data map[string]any, consume bool) gin.H {
	out := make(gin.H, len(data)+3)
	for k, v := range data {
		out[k] = v
	}
	if _, ok := out[templatePrincipalKey]; !ok {
		principal := ""
		if s != nil {
			principal = s.Principal()
		}
		out[templatePrincipalKey] = principal
	}
	if _, ok := out[templateSessionKey]; !ok {
		values := map[string]any{}
		if s != nil {
			values = s.snapshot()
		}
		out[templateSessionKey] = values
	}
	if _, ok := out[templateFlashesKey]; !ok {
		var flashes []any
		switch {
		case s == nil:
		case consume:
			flashes = s.Flashes()
		default:
			flashes = s.peekFlashes()
		}
		out[templateFlashesKey] = flashes
	}
	return out
}

// HTMLRender wraps an engine's HTML renderer so that every c.HTML call whose
// data is a gin.H, a map[string]any or nil hands the template "session",
// "flashes" and "principal", as H does, with no change to the handlers:
//
//	r.LoadHTMLGlob("templates/*.html") // or LoadHTMLFiles, LoadHTMLFS, SetHTMLTemplate
//	r.HTMLRender = sessions.HTMLRender(r.HTMLRender)
//
// Set it after loading the templates, since loading replaces r.HTMLRender.
// It works in release and debug mode. In a template, {{ .session.greeting }}
// prints a value, as {{ request.session.greeting }} does in Django; a struct
// comes back as a map keyed by its JSON names ({{ .session.cart.name }} for
// a field tagged json:"name"); {{ .principal }} is the user who logged in,
// "" when anonymous, so a page can greet the user without the handler
// copying the name into the session or the data. Data of any other type, a struct say,
// is passed through unchanged. The handler's map is never modified.
//
// Gin calls the renderer without the request, so the session is looked up
// when the page is written, from the response writer that the middleware
// installs: the template sees the session as the handler left it. The
// flashes are consumed, and that consumption saved with the response, only
// when the template (or one it calls) reads "flashes", as Django's messages
// are marked used when iterated: a fragment that never shows them, or a
// template name that does not exist, leaves them for the next page.
// Gin's own renderers (release and debug mode) are inspected; with another
// renderer the flashes are consumed on every render, as H does.
func HTMLRender(inner render.HTMLRender) render.HTMLRender {
	if inner == nil {
		panic("sessions: HTMLRender needs the engine's renderer: load the templates (LoadHTMLGlob, LoadHTMLFiles, SetHTMLTemplate) before wrapping r.HTMLRender")
	}
	return htmlRender{inner: inner}
}

// htmlRender is the renderer HTMLRender returns.
type htmlRender struct {
	inner render.HTMLRender
}

// Instance defers the inner Instance call to Render time, when the response
// writer, and with it the session, is known. Gin's debug renderer parses the
// templates in Instance, so calling it only once per render also keeps debug
// mode from parsing them twice.
func (h htmlRender) Instance(name string, data any) render.Render {
	switch d := data.(type) {
	case nil:
		return sessionHTML{inner: h.inner, name: name}
	case gin.H:
		return sessionHTML{inner: h.inner, name: name, data: d}
	case map[string]any:
		return sessionHTML{inner: h.inner, name: name, data: d}
	}
	return h.inner.Instance(name, data)
}

// sessionHTML is one pending render of a template with the session added.
type sessionHTML struct {
	inner render.HTMLRender
	name  string
	data  map[string]any
}

// Render adds the session found behind w to the data and renders the inner
// template.
func (r sessionHTML) Render(w http.ResponseWriter) error {
	s, _ := sessionFromWriter(w)
	inst := r.inner.Instance(r.name, nil)
	page, ok := inst.(render.HTML)
	if !ok {
		return r.inner.Instance(r.name, withSession(s, r.data, true)).Render(w)
	}
	// Walking the template tree only matters when there are flashes to
	// hand over: not without a session, nor when the handler gave its own.
	_, given := r.data[templateFlashesKey]
	consume := s != nil && !given && readsFlashes(page.Template, page.Name)
	page.Data = withSession(s, r.data, consume)
	return page.Render(w)
}

// readsFlashes reports whether executing the template called name in t
// (t itself when name is "") may read the flashes: whether it, or a
// template it calls, names "flashes" anywhere. A missing template reads
// nothing.
func readsFlashes(t *template.Template, name string) bool {
	if t != nil && name != "" {
		t = t.Lookup(name)
	}
	if t == nil || t.Tree == nil {
		return false
	}
	seen := map[string]bool{}
	var walk func(n parse.Node) bool
	walk = func(n parse.Node) bool {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return false
			}
			return slices.ContainsFunc(n.Nodes, walk)
		case *parse.ActionNode:
			return walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return false
			}
			return slices.ContainsFunc(n.Cmds, func(c *parse.CommandNode) bool { return walk(c) })
		case *parse.CommandNode:
			return slices.ContainsFunc(n.Args, walk)
		case *parse.FieldNode:
			return slices.Contains(n.Ident, templateFlashesKey)
		case *parse.ChainNode:
			return slices.Contains(n.Field, templateFlashesKey) || walk(n.Node)
		case *parse.VariableNode:
			return slices.Contains(n.Ident, templateFlashesKey)
		case *parse.StringNode:
			return n.Text == templateFlashesKey // {{ index . "flashes" }}
		case *parse.IfNode:
			return walk(n.Pipe) || walk(n.List) || walk(n.ElseList)
		case *parse.RangeNode:
			return walk(n.Pipe) || walk(n.List) || walk(n.ElseList)
		case *parse.WithNode:
			return walk(n.Pipe) || walk(n.List) || walk(n.ElseList)
		case *parse.TemplateNode:
			if seen[n.Name] {
				return false
			}
			seen[n.Name] = true
			called := t.Lookup(n.Name)
			return walk(n.Pipe) || (called != nil && called.Tree != nil && walk(called.Tree.Root))
		}
		return false
	}
	return walk(t.Tree.Root)
}

// WriteContentType is what gin calls for a response without a body (204,
// 304), where the template is not executed: the session is left alone.
func (r sessionHTML) WriteContentType(w http.ResponseWriter) {
	r.inner.Instance(r.name, r.data).WriteContentType(w)
}
