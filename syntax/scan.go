package syntax

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/nngen/nngen/ir"
)

type tokenKind uint8

const (
	endOfLine tokenKind = iota // every line's last token; also the zero token
	identifier
	number
	punctuation // one of ( ) [ ] , = + - * /
	quoted      // "sum" or 'sum', as Python writes a keyword's word; text holds the word
)

type token struct {
	kind tokenKind
	text string
	pos  ir.Pos
}

func (t token) is(punct string) bool { return t.kind == punctuation && t.text == punct }

// String describes the token as messages show what was found.
func (t token) String() string {
	switch t.kind {
	case endOfLine:
		return "end of line"
	case quoted:
		return "the string " + quote(t.text)
	}
	return quote(t.text)
}

const byteOrderMark = "\uFEFF"

// scanLine splits one line, without its '\n', into tokens ending with an
// endOfLine token. After a lexical error it returns the tokens before it, so
// that the caller can still see what the line meant to define.
func scanLine(file string, lineNo int, line []byte) ([]token, *Error) {
	var toks []token
	i := 0
	if lineNo == 1 && bytes.HasPrefix(line, []byte(byteOrderMark)) {
		i = len(byteOrderMark) // editors on Windows may add one; it means nothing
	}
	end := len(line)
	for i < len(line) {
		c := line[i]
		pos := ir.Pos{File: file, Line: lineNo, Col: i + 1}
		start := i
		var kind tokenKind
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
			continue
		case c == '#':
			if j := firstInvalidByte(line[i:]); j >= 0 {
				return toks, badCharacter(file, lineNo, line, i+j)
			}
			end = i
			i = len(line)
			continue
		case isLetter(c):
			i = nameEnd(line, i)
			kind = identifier
		case c == '-' && len(toks) > 0 && endsOperand(toks[len(toks)-1]):
			i++ // a - b subtracts; -1 after ( , = or an operator is a number
			kind = punctuation
		case startsNumber(line[i:]):
			i = numberEnd(line, i)
			text := string(line[start:i])
			if !validNumber(text) {
				return toks, &Error{pos, "bad number " + quote(text)}
			}
			if _, err := strconv.ParseFloat(text, 64); err != nil {
				return toks, &Error{pos, "number " + quote(text) + " is out of range"}
			}
			kind = number
		case c == '"' || c == '\'':
			j := bytes.IndexByte(line[i+1:], c)
			if j < 0 {
				return toks, &Error{pos, fmt.Sprintf("string not terminated: add the closing %c", c)}
			}
			if k := firstInvalidByte(line[i+1 : i+1+j]); k >= 0 {
				return toks, badCharacter(file, lineNo, line, i+1+k)
			}
			toks = append(toks, token{quoted, string(line[i+1 : i+1+j]), pos})
			i += j + 2
			continue
		case bytes.IndexByte([]byte("()[],=+-*/"), c) >= 0:
			i++
			kind = punctuation
		default:
			return toks, badCharacter(file, lineNo, line, i)
		}
		toks = append(toks, token{kind, string(line[start:i]), pos})
	}
	if end == len(line) && end > 0 && line[end-1] == '\r' {
		end-- // a CRLF line ends where the CR is
	}
	return append(toks, token{endOfLine, "", ir.Pos{File: file, Line: lineNo, Col: end + 1}}), nil
}

// endsOperand reports whether t can end an operand, so that a '-' after it
// is a subtraction.
func endsOperand(t token) bool {
	return t.kind == identifier || t.kind == number || t.is(")") || t.is("]")
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

// startsNumber: a digit, or '.' or '-' that leads to one (.5, -1, -.5).
func startsNumber(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) > 0 && b[0] == '.' {
		b = b[1:]
	}
	return len(b) > 0 && isDigit(b[0])
}

// numberEnd takes everything that could belong to a number, so that "3x" or
// "1.2.3" is one bad number rather than a number followed by a puzzle.
func numberEnd(line []byte, i int) int {
	i++ // the first byte, possibly '-'
	for i < len(line) {
		c := line[i]
		exponentSign := (c == '+' || c == '-') && (line[i-1] == 'e' || line[i-1] == 'E')
		if !isLetter(c) && !isDigit(c) && c != '.' && !exponentSign {
			break
		}
		i++
	}
	return i
}

// validNumber accepts decimal numbers: -?(d+(.d*)?|.d+)([eE][+-]?d+)?
func validNumber(s string) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(s) && isDigit(s[i]) {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	n := digits()
	if i < len(s) && s[i] == '.' {
		i++
		n += digits()
	}
	if n == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// firstInvalidByte is the offset of the first NUL or invalid UTF-8 byte in
// b, or -1. Comments may hold any text but NUL, as long as it is UTF-8.
func firstInvalidByte(b []byte) int {
	if utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		return -1
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == 0 || r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

func badCharacter(file string, lineNo int, line []byte, i int) *Error {
	pos := ir.Pos{File: file, Line: lineNo, Col: i + 1}
	r, size := utf8.DecodeRune(line[i:])
	switch {
	case r == 0:
		return &Error{pos, "invalid NUL character"}
	case r == utf8.RuneError && size == 1:
		return &Error{pos, "invalid UTF-8 encoding"}
	case r < utf8.RuneSelf && unicode.IsPrint(r):
		return &Error{pos, fmt.Sprintf("unexpected character %q", r)}
	case unicode.IsLetter(r):
		return &Error{pos, fmt.Sprintf("unexpected character %#U; names use ASCII letters, digits and _", r)}
	}
	return &Error{pos, fmt.Sprintf("unexpected character %#U", r)}
}

// nameEnd is where the name starting at line[i] ends. A name may have
// dotted parts, as state_dict names do: ln.weight, and layers.0
// (nn.ModuleList's, nn.Sequential's), a part of digits alone.
func nameEnd(line []byte, i int) int {
	digits := false // the part is a number
	for i < len(line) {
		switch c := line[i]; {
		case isDigit(c), isLetter(c) && !digits:
		case c == '.' && i+1 < len(line) && (isLetter(line[i+1]) || isDigit(line[i+1])):
			digits = isDigit(line[i+1])
		default:
			return i
		}
		i++
	}
	return i
}
