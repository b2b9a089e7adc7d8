package sessions

import (
	"bufio"
	"errors"
	"iter"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
)

// sessionWriter wraps gin's response writer so that the session is saved,
// and its cookie set, just before the first byte of the response leaves:
// on Write, WriteString, WriteHeaderNow, Flush or Hijack. WriteHeader only
// records the status in gin, so it passes through. Who answers is the
// session's to know (see answer), so that the writers of a request that
// gin's HandleContext runs twice agree.
type sessionWriter struct {
	gin.ResponseWriter
	s *Session
}

var _ gin.ResponseWriter = (*sessionWriter)(nil)

var errResponseReplaced = errors.New("sessions: the response was replaced by the session error handler")

// commit saves the session once. It reports whether the handler's response
// was replaced by the error handler's, in which case the handler's own
// writes must be dropped.
func (w *sessionWriter) commit() (replaced bool) {
	s := w.s
	s.mu.Lock()
	if s.answer != answerHandler || s.sent {
		replaced = s.answer == answerReplaced
		s.mu.Unlock()
		return replaced
	}
	err := s.commit(w.ResponseWriter.Header(), w.ResponseWriter.Status())
	if err != nil {
		s.answer = answerErrorHandler
	}
	s.mu.Unlock()
	if err == nil {
		return false
	}
	w.replace(err)
	s.mu.Lock()
	s.answer = answerReplaced
	s.mu.Unlock()
	return true
}

// replace throws away the handler's headers and lets the error handler
// answer instead, so that a failed save never reaches the client as a
// success.
func (w *sessionWriter) replace(err error) {
	h := w.ResponseWriter.Header()
	for k := range h {
		delete(h, k)
	}
	c := w.s.gin
	w.s.mw.errorHandler(c, err)
	w.s.failed(err)
	c.Abort()
	if !w.ResponseWriter.Written() {
		if w.ResponseWriter.Status() < http.StatusBadRequest {
			w.ResponseWriter.WriteHeader(ErrorStatus(err))
		}
		w.ResponseWriter.WriteHeaderNow()
	}
}

// replaced reports whether the error handler has answered.
func (w *sessionWriter) replaced() bool {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.answer == answerReplaced
}

// WriteHeader records the status code; nothing is sent yet.
func (w *sessionWriter) WriteHeader(code int) {
	if w.replaced() {
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write commits the session, then writes the body.
func (w *sessionWriter) Write(b []byte) (int, error) {
	if w.commit() {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// WriteString commits the session, then writes the body.
func (w *sessionWriter) WriteString(s string) (int, error) {
	if w.commit() {
		return len(s), nil
	}
	return w.ResponseWriter.WriteString(s)
}

// WriteHeaderNow commits the session, then sends the headers.
func (w *sessionWriter) WriteHeaderNow() {
	if w.commit() {
		return
	}
	w.ResponseWriter.WriteHeaderNow()
}

// Flush commits the session, then flushes what was written.
func (w *sessionWriter) Flush() {
	w.commit()
	w.ResponseWriter.Flush()
}

// Hijack commits the session before handing over the connection, so a
// WebSocket upgrade carries the cookie.
func (w *sessionWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.commit() {
		return nil, nil, errResponseReplaced
	}
	return w.ResponseWriter.Hijack()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *sessionWriter) Unwrap() http.ResponseWriter {
	return w.ResponseWriter
}

// sessionFromWriter finds the session the middleware attached to a response
// writer, looking through writers that wrap it. With several middlewares it
// prefers the one under ContextKey.
func sessionFromWriter(w http.ResponseWriter) (*Session, bool) {
	var first *Session
	for sw := range sessionWriters(w) {
		if sw.s.mw.key == ContextKey {
			return sw.s, true
		}
		if first == nil {
			first = sw.s
		}
	}
	return first, first != nil
}

// sessionWriters yields the session writers in w and in the writers it
// wraps, outermost first.
func sessionWriters(w http.ResponseWriter) iter.Seq[*sessionWriter] {
	return func(yield func(*sessionWriter) bool) {
		for w != nil {
			if sw, ok := w.(*sessionWriter); ok && !yield(sw) {
				return
			}
			u, ok := w.(interface{ Unwrap() http.ResponseWriter })
			if !ok {
				return
			}
			w = u.Unwrap()
		}
	}
}
