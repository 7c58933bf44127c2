package syntax

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/nngen/nngen/ir"
)

// A .nn file holds one statement per line; each kind has a type holding its
// tokens, named after its keyword.
type (
	networkStmt struct{ keyword, name token }  // network NAME
	batchStmt   struct{ keyword, size token }  // batch N
	dtypeStmt   struct{ keyword, dtype token } // dtype float64
	// inputStmt is input NAME[N, ...]: one sample's shape; input
	// NAME[N, ...] int declares integers (token ids).
	inputStmt struct {
		keyword, name token
		sizes         []token
		dtype         token // int, or none (kind 0) for the model's floats
	}
	// paramStmt is param NAME[N, ...] = ones: a parameter used in
	// expressions; or, with the keyword buffer, a buffer (not trained).
	paramStmt struct {
		keyword, name token
		sizes         []token
		init          token
	}
	outputStmt struct { // output NAME, ...
		keyword token
		names   []token
	}
)

// assignStmt is NAME = EXPR, or NAME, NAME, ... = CALL for an op that
// returns several tensors (split, chunk).
type assignStmt struct {
	name  token
	more  []token // the names after the first, for several results
	value expr
}

// names are the names the statement defines, in order.
func (s assignStmt) names() []token { return append([]token{s.name}, s.more...) }

// lossStmt is loss mse(...), or a sum of losses each maybe scaled.
type lossStmt struct {
	keyword token
	value   expr
}

// expr is an expression: a name, a number, a call, or an operator applied
// to expressions.
type expr interface{ start() token }

type (
	nameExpr   struct{ tok token }
	numberExpr struct{ tok token }
	callExpr   struct{ call }
	binaryExpr struct {
		op   token // + - * /
		x, y expr
	}
	negExpr struct {
		op token
		x  expr
	}
)

func (e nameExpr) start() token   { return e.tok }
func (e numberExpr) start() token { return e.tok }
func (e callExpr) start() token   { return e.fn }
func (e binaryExpr) start() token { return e.x.start() }
func (e negExpr) start() token    { return e.op }

// optimizerStmt is optimizer sgd(...).
type optimizerStmt struct {
	keyword token
	call    call
}

// badStmt stands for a line whose error is already reported. It keeps what
// the line was for, so that it causes no second round of errors: its keyword
// counts as present, the names it meant to define as defined.
type badStmt struct {
	keyword string
	pos     ir.Pos
	defines []token
}

// stmt is one of the statement types above.
type stmt any

// keywords start the statements other than assignments, in the order a file
// usually has them; they cannot name values.
var keywords = []string{"network", "batch", "dtype", "input", "param", "buffer", "output", "loss", "optimizer"}

func isKeyword(name string) bool { return slices.Contains(keywords, name) }

// call is op(args): positional arguments first, then keyword ones.
type call struct {
	fn   token
	args []arg
}

// arg is VALUE, NAME[SIZE, ...] (which declares NAME), (NUMBER, NUMBER, ...),
// KEY=VALUE or KEY=(NUMBER, ...). A VALUE that is more than a name or a number is an
// expression (expr), and value is its first token.
type arg struct {
	key   token // the zero token for a positional argument
	value token // an identifier or a number; for a tuple, its '('
	size  token // the zero token unless the argument declares a name
	sizes []token
	tuple []token
	expr  expr
}

func (a arg) isKeyword() bool { return a.key.text != "" }
func (a arg) declares() bool  { return a.size.text != "" }
func (a arg) isTuple() bool   { return a.value.is("(") }

// String shows the argument as written, for messages.
func (a arg) String() string {
	text := a.value.text
	if a.declares() {
		text += "[" + a.size.text + "]"
	}
	if a.isTuple() {
		numbers := make([]string, len(a.tuple))
		for i, t := range a.tuple {
			numbers[i] = t.text
		}
		text = "(" + strings.Join(numbers, ", ") + ")"
	}
	if a.value.kind == quoted {
		return "the string " + quote(text)
	}
	return quote(text)
}

// parseFile parses src line by line. A bad line is reported and stands in
// the result as a badStmt, and the lines after it are still checked.
func parseFile(file string, src []byte, errs *ErrorList) []stmt {
	var stmts []stmt
	for lineNo := 1; len(src) > 0; lineNo++ {
		line := src
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, src = src[:i], src[i+1:]
		} else {
			src = nil
		}
		toks, err := scanLine(file, lineNo, line)
		var s stmt
		if err == nil {
			if len(toks) == 1 {
				continue // blank or comment only
			}
			s, err = parseLine(toks)
		}
		if err != nil {
			*errs = append(*errs, err)
			s = salvage(toks, err.Pos)
		}
		stmts = append(stmts, s)
	}
	return stmts
}

// parser reads one line's tokens. It keeps the first error only: after it,
// the rest of the line is not trusted.
type parser struct {
	toks []token
	i    int
	err  *Error
}

func parseLine(toks []token) (stmt, *Error) {
	p := &parser{toks: toks}
	s := p.statement()
	if t := p.peek(); p.err == nil && t.kind != endOfLine {
		p.fail(t, "unexpected %s at end of statement", t)
	}
	return s, p.err
}

func (p *parser) peek() token { return p.toks[p.i] }

// next returns the next token; it stays on the endOfLine token once there.
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != endOfLine {
		p.i++
	}
	return t
}

func (p *parser) fail(at token, format string, args ...any) {
	if p.err == nil {
		p.err = &Error{at.pos, fmt.Sprintf(format, args...)}
	}
}

func (p *parser) expect(kind tokenKind, what string) token {
	t := p.next()
	if t.kind != kind {
		p.fail(t, "expected %s, found %s", what, t)
	}
	return t
}

func (p *parser) expectPunct(punct, context string) token {
	t := p.next()
	if !t.is(punct) {
		p.fail(t, "expected '%s' %s, found %s", punct, context, t)
	}
	return t
}

// definition reads a name that the statement defines.
func (p *parser) definition(what string) token {
	t := p.expect(identifier, what)
	p.checkName(t)
	return t
}

func (p *parser) checkName(t token) {
	if isKeyword(t.text) {
		p.fail(t, "cannot use %s as a name: it is a statement keyword", t.text)
	}
}

func (p *parser) statement() stmt {
	first := p.next()
	if first.kind != identifier {
		p.fail(first, "expected a statement, found %s", first)
		return nil
	}
	if p.peek().is("=") {
		p.checkName(first)
		p.next()
		return assignStmt{name: first, value: p.expression("an op after =")}
	}
	if p.peek().is(",") && !isKeyword(first.text) {
		p.checkName(first)
		s := assignStmt{name: first}
		for p.err == nil && p.peek().is(",") {
			p.next()
			s.more = append(s.more, p.definition("a name after the comma"))
		}
		p.expectPunct("=", "after the names "+first.text+", ... (as in a, b = split(x, 4, dim=1))")
		s.value = p.expression("an op after =")
		return s
	}
	switch first.text {
	case "network":
		return networkStmt{first, p.expect(identifier, "a name after network")}
	case "batch":
		return batchStmt{first, p.expect(number, "a batch size after batch")}
	case "dtype":
		return dtypeStmt{first, p.expect(identifier, "float32 or float64 after dtype")}
	case "input":
		name := p.definition("a name after input")
		p.expectPunct("[", "after "+name.text+" (an input is declared as NAME[SIZE])")
		s := inputStmt{keyword: first, name: name, sizes: p.sizes()}
		if t := p.peek(); t.kind == identifier && t.text == "int" {
			s.dtype = p.next()
		}
		return s
	case "param":
		name := p.definition("a name after param")
		p.expectPunct("[", "after "+name.text+" (a parameter is declared as NAME[SIZE] = ones)")
		sizes := p.sizes()
		p.expectPunct("=", "after the shape of "+name.text)
		return paramStmt{first, name, sizes, p.expect(identifier, "ones, zeros or uniform")}
	case "buffer":
		name := p.definition("a name after buffer")
		p.expectPunct("[", "after "+name.text+" (a buffer is declared as NAME[SIZE] = zeros)")
		sizes := p.sizes()
		p.expectPunct("=", "after the shape of "+name.text)
		return paramStmt{first, name, sizes, p.expect(identifier, "zeros or ones")}
	case "output":
		s := outputStmt{keyword: first}
		for p.err == nil {
			s.names = append(s.names, p.expect(identifier, "a name after output"))
			if !p.peek().is(",") {
				break
			}
			p.next()
		}
		return s
	case "loss":
		// A function's name without its call ("loss mse") gets call's
		// message: expected '(' after mse.
		if t := p.peek(); t.kind == identifier && !p.ahead(1).is("(") {
			return lossStmt{first, callExpr{p.call("a loss function after loss")}}
		}
		return lossStmt{first, p.expression("a loss function after loss")}
	case "optimizer":
		return optimizerStmt{first, p.call("an optimizer after optimizer")}
	}
	if kw := closest(first.text, keywords, nil); kw != "" {
		p.fail(first, "unknown statement %s; did you mean %q?", first, kw)
	} else {
		p.fail(first, "unknown statement %s; a line is NAME = op(...) or starts with %s", first, alternatives(keywords))
	}
	return nil
}

// sizes reads N, ... ] after a '['.
func (p *parser) sizes() []token {
	var sizes []token
	for p.err == nil {
		sizes = append(sizes, p.expect(number, "a size"))
		if !p.peek().is(",") {
			break
		}
		p.next()
	}
	p.expectPunct("]", "after size")
	return sizes
}

// ahead is the token k past the next one.
func (p *parser) ahead(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.toks[len(p.toks)-1]
}

// expression reads sums of products of operands: what names what is
// expected where an operand is missing.
func (p *parser) expression(what string) expr {
	e := p.term(what)
	for p.err == nil && (p.peek().is("+") || p.peek().is("-")) {
		op := p.next()
		e = binaryExpr{op, e, p.term("a value after " + op.text)}
	}
	return e
}

func (p *parser) term(what string) expr {
	e := p.unary(what)
	for p.err == nil && (p.peek().is("*") || p.peek().is("/")) {
		op := p.next()
		e = binaryExpr{op, e, p.unary("a value after " + op.text)}
	}
	return e
}

func (p *parser) unary(what string) expr {
	if t := p.peek(); t.is("-") {
		p.next()
		return negExpr{t, p.unary("a value after -")}
	}
	return p.primary(what)
}

func (p *parser) primary(what string) expr {
	t := p.peek()
	switch {
	case t.kind == number:
		return numberExpr{p.next()}
	case t.kind == identifier && p.ahead(1).is("("):
		return callExpr{p.call(what)}
	case t.kind == identifier:
		return nameExpr{p.next()}
	case t.is("("):
		p.next()
		e := p.expression("a value after (")
		p.expectPunct(")", "after the parenthesized expression")
		return e
	}
	p.fail(t, "expected %s, found %s", what, t)
	p.next()
	return nameExpr{t}
}

func (p *parser) call(what string) call {
	c := call{fn: p.expect(identifier, what)}
	p.expectPunct("(", "after "+c.fn.text)
	if p.peek().is(")") {
		p.next()
		return c
	}
	for p.err == nil {
		a := p.arg()
		if !a.isKeyword() && len(c.args) > 0 && c.args[len(c.args)-1].isKeyword() {
			p.fail(a.value, "positional argument %s after keyword arguments", a)
		}
		c.args = append(c.args, a)
		if !p.peek().is(",") {
			break
		}
		p.next()
	}
	p.expectPunct(")", "after arguments")
	return c
}

func (p *parser) arg() arg {
	var a arg
	if t := p.peek(); t.kind == identifier && p.ahead(1).is("=") {
		p.next()
		p.next()
		a.key = t
		if p.peek().is("(") {
			a.value = p.next()
			a.tuple = p.tuple(a.key.text)
			return a
		}
		if v := p.peek(); v.kind == quoted {
			a.value = p.next()
			return a
		}
		if v := p.peek(); v.kind != identifier && v.kind != number && !v.is("-") {
			p.fail(v, "expected a value after %s=, found %s", a.key.text, v)
			return a
		}
	} else if t.kind == identifier && p.ahead(1).is("[") {
		p.next()
		p.next()
		p.checkName(t)
		a.value, a.sizes = t, p.sizes()
		a.size = a.sizes[0]
		return a
	}
	if p.peek().is("(") && p.ahead(1).kind == number && p.ahead(2).is(",") {
		// A positional tuple, as layer_norm's normalized_shape (8, 16).
		a.value = p.next()
		a.tuple = p.tuple("the argument")
		return a
	}
	first := p.peek()
	e := p.expression("an argument")
	switch e := e.(type) {
	case nameExpr:
		a.value = e.tok
	case numberExpr:
		a.value = e.tok
	default:
		a.value, a.expr = first, e
	}
	return a
}

// tuple reads the numbers of KEY=(NUMBER, ...) after its '(', as in
// PyTorch's betas=(0.9, 0.999).
func (p *parser) tuple(key string) []token {
	var numbers []token
	for p.err == nil {
		numbers = append(numbers, p.expect(number, "a number in "+key+"'s tuple"))
		if !p.peek().is(",") {
			break
		}
		p.next()
	}
	p.expectPunct(")", "after "+key+"'s tuple")
	return numbers
}

// salvage reads what a bad line meant to define from the tokens before its
// error: NAME in "NAME = ...", "input NAME", and a loss's target: any
// "NAME[", and the name after its first comma.
func salvage(toks []token, errPos ir.Pos) badStmt {
	b := badStmt{pos: errPos}
	if len(toks) == 0 || toks[0].kind != identifier {
		return b
	}
	b.pos = toks[0].pos
	switch {
	case len(toks) > 1 && toks[1].is("="):
		b.defines = append(b.defines, toks[0])
	case len(toks) > 1 && toks[1].is(",") && !isKeyword(toks[0].text):
		// NAME, NAME, ... = : every name before the '='.
		for i := 0; i < len(toks) && toks[i].kind == identifier; i += 2 {
			b.defines = append(b.defines, toks[i])
			if i+1 >= len(toks) || !toks[i+1].is(",") {
				break
			}
		}
	case isKeyword(toks[0].text):
		b.keyword = toks[0].text
		if b.keyword == "input" && len(toks) > 1 && toks[1].kind == identifier {
			b.defines = append(b.defines, toks[1])
		}
		commas := 0
		for i := 1; b.keyword == "loss" && i+1 < len(toks); i++ {
			if toks[i-1].is(",") {
				commas++
			}
			t, next := toks[i], toks[i+1]
			bareTarget := commas == 1 && toks[i-1].is(",") && !next.is("=")
			if t.kind == identifier && (next.is("[") || bareTarget) {
				b.defines = append(b.defines, t)
			}
		}
	}
	return b
}
