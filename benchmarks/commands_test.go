package benchmarks

import (
	"bytes"
	"strconv"
	"strings"
)

// commandReader reads the commands a client sends, as RESP arrays of bulk
// strings, from the bytes it writes, however they are split into writes. It
// tells the commands the client sent from those Redis runs inside a
// transaction: what a client queues between MULTI and EXEC runs inside EXEC,
// whose time in INFO commandstats includes theirs, as a script's includes
// the commands it runs.
type commandReader struct {
	pending []byte
	inMulti bool
}

// containers are the commands that INFO commandstats counts by subcommand,
// as "client|setinfo".
var containers = map[string]bool{
	"client": true, "config": true, "script": true, "cluster": true, "command": true,
	"memory": true, "object": true, "function": true, "acl": true, "latency": true,
	"slowlog": true, "pubsub": true, "xinfo": true, "module": true,
}

// read takes the next bytes written and calls sent with the commandstats
// name of every complete command the client sent itself, that is, not
// queued in a transaction.
func (r *commandReader) read(p []byte, sent func(name string)) {
	r.pending = append(r.pending, p...)
	for {
		name, sub, n := nextCommand(r.pending)
		if n == 0 {
			break
		}
		r.pending = r.pending[n:]
		switch {
		case name == "multi":
			r.inMulti = true
		case name == "exec" || name == "discard":
			r.inMulti = false
		case r.inMulti:
			continue
		}
		if containers[name] && sub != "" {
			name += "|" + sub
		}
		sent(name)
	}
	if len(r.pending) == 0 {
		r.pending = r.pending[:0:0] // let a large buffer go
	}
}

// nextCommand parses the command at the start of b and returns its name and
// first argument in lower case and its length, or n == 0 when b does not yet
// hold a whole command.
func nextCommand(b []byte) (name, sub string, n int) {
	count, at, ok := readLength(b, 0, '*')
	if !ok {
		return "", "", 0
	}
	for i := 0; i < count; i++ {
		size, start, ok := readLength(b, at, '$')
		if !ok || start+size+2 > len(b) {
			return "", "", 0
		}
		switch i {
		case 0:
			name = strings.ToLower(string(b[start : start+size]))
		case 1:
			if containers[name] {
				sub = strings.ToLower(string(b[start : start+size]))
			}
		}
		at = start + size + 2
	}
	return name, sub, at
}

// readLength reads a RESP length line such as "*3\r\n" at b[at:] and returns
// the number and where the line ends.
func readLength(b []byte, at int, kind byte) (v, end int, ok bool) {
	if at >= len(b) || b[at] != kind {
		return 0, 0, false
	}
	eol := bytes.Index(b[at:], []byte("\r\n"))
	if eol < 0 {
		return 0, 0, false
	}
	v, err := strconv.Atoi(string(b[at+1 : at+eol]))
	if err != nil || v < 0 {
		return 0, 0, false
	}
	return v, at + eol + 2, true
}
