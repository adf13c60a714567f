package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"
)

// bodyError is a refused request body and the status that says why.
type bodyError struct {
	code int
	msg  string
}

func (e *bodyError) Error() string { return e.msg }

// statusOf is the status for an error from readBody, checkJSONText or
// decodeStrict: theirs, or 400.
func statusOf(err error) int {
	var be *bodyError
	if errors.As(err, &be) {
		return be.code
	}
	return http.StatusBadRequest
}

// readBody reads a request body of at most limit bytes; a longer one is
// refused with 413, before anything is read when Content-Length says so.
// Every body the web layer reads goes through here.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	tooLarge := &bodyError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", limit)}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, &bodyError{http.StatusBadRequest, fmt.Sprintf("read request body: %s", err)}
	}
	return b, nil
}

// checkJSONText refuses a JSON body that is not valid UTF-8 or whose
// strings hold a \u escape of a lone UTF-16 surrogate: Go's decoder would
// silently turn either into U+FFFD, so a label or comment would not be what
// the client sent.
func checkJSONText(b []byte) error {
	if !utf8.Valid(b) {
		return &bodyError{http.StatusBadRequest, "request body is not valid UTF-8"}
	}
	if i := loneSurrogate(b); i >= 0 {
		return &bodyError{http.StatusBadRequest, fmt.Sprintf("request body is not valid UTF-8: lone surrogate escape %s at byte %d", b[i:i+6], i)}
	}
	return nil
}

// loneSurrogate returns the offset of the first \uXXXX escape of an
// unpaired UTF-16 surrogate inside a JSON string, or -1. Malformed JSON is
// left to the decoder.
func loneSurrogate(b []byte) int {
	in := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case !in:
			in = c == '"'
		case c == '"':
			in = false
		case c == '\\':
			if i+1 < len(b) && b[i+1] != 'u' {
				i++ // \" \\ \n …
				continue
			}
			r, ok := hex4(b, i+2)
			if !ok {
				return -1
			}
			switch {
			case r >= 0xdc00 && r <= 0xdfff:
				return i
			case r >= 0xd800 && r <= 0xdbff:
				if lo, ok := hex4(b, i+8); !ok || b[i+6] != '\\' || b[i+7] != 'u' || lo < 0xdc00 || lo > 0xdfff {
					return i
				}
				i += 6
			}
			i += 5
		}
	}
	return -1
}

// hex4 reads the four hex digits at b[i:], if they are there.
func hex4(b []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// decodeStrict decodes a JSON body of at most limit bytes, refusing unknown
// fields, trailing data, invalid UTF-8 and lone surrogates.
func decodeStrict(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	b, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	if err := checkJSONText(b); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON body: %w", err)
	}
	if dec.More() {
		return errors.New("invalid JSON body: trailing data")
	}
	return nil
}
