package safetensors

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON of a safetensors header, read a token at a time by the rules
// of RFC 8259, for safetensors_header.go: values are read where the format
// expects them, so nothing here builds a value of a type it does not know.

// headerParser reads a header's JSON from pos on.
type headerParser struct {
	text []byte
	pos  int
}

var errHeaderEnds = errors.New("header: the JSON ends early")

func (p *headerParser) syntaxError(format string, args ...any) error {
	return fmt.Errorf("header is not valid JSON: %s at byte %d", fmt.Sprintf(format, args...), p.pos)
}

func (p *headerParser) skipSpace() {
	for p.pos < len(p.text) && isSpace(p.text[p.pos]) {
		p.pos++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// peek is the next byte after whitespace.
func (p *headerParser) peek() (byte, error) {
	if p.skipSpace(); p.pos == len(p.text) {
		return 0, errHeaderEnds
	}
	return p.text[p.pos], nil
}

// value checks that a value starts at the next byte and returns that
// byte, so that a value of the wrong type is told from bad JSON. It reads
// a literal (null, true, false) whole, and nothing else.
func (p *headerParser) value() (byte, error) {
	b, err := p.peek()
	if err != nil {
		return 0, err
	}
	switch b {
	case '{', '[', '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return b, nil
	}
	for _, literal := range [...]string{"null", "true", "false"} {
		if b != literal[0] {
			continue
		}
		rest := p.text[p.pos:]
		if len(rest) < len(literal) && string(rest) == literal[:len(rest)] {
			return 0, errHeaderEnds
		}
		if len(rest) >= len(literal) && string(rest[:len(literal)]) == literal {
			p.pos += len(literal)
			return b, nil
		}
	}
	return 0, p.syntaxError("invalid character %q looking for a value", b)
}

// object reads the object whose '{' value has seen, calling member with
// each key to read the value that follows it.
func (p *headerParser) object(member func(key []byte) error) error {
	p.pos++
	if b, err := p.peek(); err != nil {
		return err
	} else if b == '}' {
		p.pos++
		return nil
	}
	for {
		b, err := p.peek()
		if err != nil {
			return err
		}
		if b != '"' {
			return p.syntaxError("invalid character %q looking for a key", b)
		}
		key, err := p.str()
		if err != nil {
			return err
		}
		if b, err := p.peek(); err != nil {
			return err
		} else if b != ':' {
			return p.syntaxError("invalid character %q after a key", b)
		}
		p.pos++
		if err := member(key); err != nil {
			return err
		}
		if b, err = p.peek(); err != nil {
			return err
		}
		p.pos++
		switch b {
		case ',':
		case '}':
			return nil
		default:
			p.pos--
			return p.syntaxError("invalid character %q after an object's value", b)
		}
	}
}

// array reads the array whose '[' value has seen, calling element to read
// each element.
func (p *headerParser) array(element func() error) error {
	p.pos++
	if b, err := p.peek(); err != nil {
		return err
	} else if b == ']' {
		p.pos++
		return nil
	}
	for {
		if err := element(); err != nil {
			return err
		}
		b, err := p.peek()
		if err != nil {
			return err
		}
		p.pos++
		switch b {
		case ',':
		case ']':
			return nil
		default:
			p.pos--
			return p.syntaxError("invalid character %q after an array element", b)
		}
	}
}

// members is at most how many members of the object at pos have a value
// that starts with first: those at its top level, counted without parsing,
// so that what the parser keeps of them is allocated once. Where the JSON
// is valid up to some point, the count covers every such member before it.
func (p *headerParser) members(first byte) int {
	n, depth := 0, 0
	for i := p.pos; i < len(p.text); i++ {
		switch p.text[i] {
		case '"':
			for i++; i < len(p.text) && p.text[i] != '"'; i++ {
				if p.text[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return n
			}
		case ':':
			if depth != 1 {
				continue
			}
			j := i + 1
			for j < len(p.text) && isSpace(p.text[j]) {
				j++
			}
			if j < len(p.text) && p.text[j] == first {
				n++
			}
		}
	}
	return n
}

// number reads a number and returns its text.
func (p *headerParser) number() ([]byte, error) {
	start := p.pos
	digits := func() bool {
		from := p.pos
		for p.pos < len(p.text) && isDigit(p.text[p.pos]) {
			p.pos++
		}
		return p.pos > from
	}
	bad := func() error {
		if p.pos == len(p.text) {
			return errHeaderEnds
		}
		return p.syntaxError("invalid character %q in a number", p.text[p.pos])
	}
	p.skip('-')
	if !p.skip('0') && !digits() {
		return nil, bad()
	}
	if p.skip('.') && !digits() {
		return nil, bad()
	}
	if p.skip('e') || p.skip('E') {
		if !p.skip('+') {
			p.skip('-')
		}
		if !digits() {
			return nil, bad()
		}
	}
	return p.text[start:p.pos], nil
}

// natural is the value of a JSON number's text, false unless it is an
// integer, not negative, that fits in 64 bits.
func natural(number []byte) (uint64, bool) {
	var v uint64
	for _, c := range number {
		if !isDigit(c) || v > (math.MaxUint64-uint64(c-'0'))/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// skip reads c if it is the next byte.
func (p *headerParser) skip(c byte) bool {
	if p.pos < len(p.text) && p.text[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// str reads the string whose '"' value has seen and returns its text: a
// slice of the header where it has no escapes, else a new copy.
func (p *headerParser) str() ([]byte, error) {
	p.pos++
	for start := p.pos; p.pos < len(p.text); p.pos++ {
		switch c := p.text[p.pos]; {
		case c == '"':
			p.pos++
			return p.text[start : p.pos-1], nil
		case c == '\\':
			return p.unescape(start)
		case c < 0x20:
			return nil, p.syntaxError("control character %q in a string", c)
		}
	}
	return nil, errHeaderEnds
}

// unescape decodes the string that starts at start, from its first
// escape at pos, into one allocation: no longer than its JSON, as no
// escape is shorter than what it stands for. A surrogate that is not half
// of a pair is refused, as the safetensors library (serde_json) does.
func (p *headerParser) unescape(start int) ([]byte, error) {
	end := p.pos
	for ; end < len(p.text) && p.text[end] != '"'; end++ {
		if p.text[end] == '\\' {
			end++
		}
	}
	if end >= len(p.text) {
		return nil, errHeaderEnds
	}
	text := append(make([]byte, 0, end-start), p.text[start:p.pos]...)
	for p.pos < end {
		c := p.text[p.pos]
		if c < 0x20 {
			return nil, p.syntaxError("control character %q in a string", c)
		}
		if c != '\\' {
			text = append(text, c)
			p.pos++
			continue
		}
		escape := p.text[p.pos+1] // before end: the loop above skipped it
		if i := strings.IndexByte(`"\/bfnrt`, escape); i >= 0 {
			text = append(text, "\"\\/\b\f\n\r\t"[i])
			p.pos += 2
			continue
		}
		r := p.hex4(p.pos, end)
		if escape != 'u' || r < 0 {
			return nil, p.syntaxError("invalid escape in a string")
		}
		if utf16.IsSurrogate(r) {
			r = utf16.DecodeRune(r, p.hex4(p.pos+6, end))
			if r == utf8.RuneError {
				return nil, p.syntaxError("a lone UTF-16 surrogate in a string")
			}
			p.pos += 6
		}
		text = utf8.AppendRune(text, r)
		p.pos += 6
	}
	p.pos = end + 1
	return text, nil
}

// hex4 is the code unit of the escape \uXXXX at i, which must end by end,
// or -1.
func (p *headerParser) hex4(i, end int) rune {
	if i+6 > end || p.text[i] != '\\' || p.text[i+1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range p.text[i+2 : i+6] {
		switch {
		case isDigit(c):
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
