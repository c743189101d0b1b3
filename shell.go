package benchrig

import (
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
)

// Param values are spliced into a shell-form command (a string run by
// /bin/sh -c) quoted for the shell, so that a value is always one literal
// piece of text: --set v='$(touch x)' passes the characters $(touch x),
// it does not run touch. As html/template does for HTML, the quoting is
// contextual and added to the parsed template, not to the data: every
// action's pipeline gets a final quoting function chosen by where the
// action stands (bare, in '...', in "...", in a comment), and conditions
// such as {{if eq .impl "cat"}} still compare raw values. An action whose
// pipeline ends in raw ({{raw .glob}}, {{.glob | raw}}) splices its text
// unquoted, for values meant as shell syntax (a glob, a redirection).

// Names of the template functions. raw is the documented one; the others
// are appended by QuoteForShell and are not meant to be written by hand.
const (
	rawFunc         = "raw"
	shBareFunc      = "_benchrig_sh"
	shSingleFunc    = "_benchrig_sh_single"
	shDoubleFunc    = "_benchrig_sh_double"
	shCommentFunc   = "_benchrig_sh_comment"
	shellSafeBytes  = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-"
	templateOptions = "missingkey=error"
)

var templateFuncs = template.FuncMap{
	rawFunc:       func(v any) string { return fmt.Sprint(v) },
	shBareFunc:    func(v ...any) string { return ShellQuote(fmt.Sprint(v...)) },
	shSingleFunc:  func(v ...any) string { return strings.ReplaceAll(fmt.Sprint(v...), "'", `'\''`) },
	shDoubleFunc:  func(v ...any) string { return doubleQuoteEscaper.Replace(fmt.Sprint(v...)) },
	shCommentFunc: func(v ...any) string { return strings.ReplaceAll(fmt.Sprint(v...), "\n", " ") },
}

// Inside "...", these four keep their special meaning; everything else,
// newlines included, is literal.
var doubleQuoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`")

// ShellQuote returns s as one word for a POSIX shell. As Python's
// shlex.quote, it leaves s bare when s is made only of letters, digits and
// @%+=:,./_- (gzip -1 stays gzip -1), and otherwise wraps it in single
// quotes; a single quote inside closes them, is escaped with a backslash
// and opens them again. The empty string is a pair of single quotes.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, shellSafeBytes) == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ParseTemplate parses s, a templated spec field called name, with the
// functions spec templates may use (raw). It does not quote anything: see
// QuoteForShell for a field run by the shell.
func ParseTemplate(name, s string) (*template.Template, error) {
	return template.New(name).Option(templateOptions).Funcs(templateFuncs).Parse(s)
}

// ExpandShell is Expand for the text of a shell-form command: every value
// an action prints is quoted for the shell where it stands, unless its
// pipeline ends in raw.
func ExpandShell(s string, params map[string]string) (string, error) {
	return expand(s, params, true)
}

// QuoteForShell rewrites the parsed template t, the text of a command run
// by /bin/sh -c, so that every action's output is quoted for the shell
// context it stands in: bare text, '...', "..." or a comment. Actions whose
// pipeline ends in raw are left alone, and so are conditions ({{if}},
// {{with}}) and variable declarations, which print nothing. It fails, with
// the action's position, where no quoting can make a value literal: inside
// `...`, in a here-document, right after a backslash, or after an {{if}}
// whose branches leave the quoting in different states.
func QuoteForShell(t *template.Template) error {
	for _, tt := range t.Templates() {
		if tt != t && tt.Tree != nil {
			return fmt.Errorf("template: %s: {{define}} and {{block}} are not supported in shell commands", t.Name())
		}
	}
	if t.Tree == nil {
		return nil
	}
	q := quoter{tree: t.Tree}
	// An unclosed quote at the end is the shell's error to report.
	_, err := q.list(t.Tree.Root, shState{word: wordYes})
	return err
}

type quoter struct {
	tree *parse.Tree
}

func (q quoter) errorf(n parse.Node, format string, args ...any) error {
	loc, _ := q.tree.ErrorContext(n)
	return fmt.Errorf("template: %s: %s", loc, fmt.Sprintf(format, args...))
}

// list adds the quoting functions to the actions of l, entered in shell
// state st, and returns the state after it.
func (q quoter) list(l *parse.ListNode, st shState) (shState, error) {
	if l == nil {
		return st, nil
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			st.text(string(n.Text))
		case *parse.CommentNode:
		case *parse.ActionNode:
			if len(n.Pipe.Decl) > 0 {
				continue // {{$x := ...}} prints nothing
			}
			if !endsInRaw(n.Pipe) {
				fn, err := st.escaper()
				if err != nil {
					return st, q.errorf(n, "%s is %s, where a param value cannot be quoted: %s (or write {{raw ...}} if the value is meant as shell code)", n, err.where, strings.ReplaceAll(err.fix, "ACTION", n.String()))
				}
				id := parse.NewIdentifier(fn).SetTree(q.tree).SetPos(n.Pos)
				n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{id}})
			}
			st.afterValue()
		case *parse.IfNode:
			var err error
			if st, err = q.branches(n, &n.BranchNode, "if", st); err != nil {
				return st, err
			}
		case *parse.WithNode:
			var err error
			if st, err = q.branches(n, &n.BranchNode, "with", st); err != nil {
				return st, err
			}
		case *parse.RangeNode:
			return st, q.errorf(n, "{{range}} is not supported in spec templates")
		case *parse.TemplateNode:
			return st, q.errorf(n, "{{template}} is not supported in shell commands")
		default:
			return st, q.errorf(n, "%s is not supported in shell commands", n)
		}
	}
	return st, nil
}

// branches quotes both branches of an {{if}} or {{with}}. When they leave
// the shell in different states, what follows cannot be read one way: a
// value after it is refused (text alone is the shell's business, as in an
// ad-hoc run's chain of commands, one of which ends in a comment).
func (q quoter) branches(n parse.Node, b *parse.BranchNode, kind string, st shState) (shState, error) {
	a, err := q.list(b.List, st)
	if err != nil {
		return st, err
	}
	e, err := q.list(b.ElseList, st)
	if err != nil {
		return st, err
	}
	m, ok := merge(a, e)
	if !ok {
		return shState{conflict: fmt.Sprintf("after {{%s %s}}...{{end}}, whose branches leave the shell in different quoting states (%s, %s)", kind, b.Pipe, a.describe(), e.describe())}, nil
	}
	return m, nil
}

// merge joins the states two branches end in, and reports whether they
// agree on everything that decides how text after them is read.
func merge(a, e shState) (shState, bool) {
	if a.prev != e.prev {
		if a.prev == '$' || a.prev == '<' || e.prev == '$' || e.prev == '<' {
			return a, false // "(" or "<" next would be read two ways
		}
		a.prev, e.prev = 0, 0
	}
	if a.word != e.word {
		a.word, e.word = wordUnknown, wordUnknown
	}
	if a.cur != e.cur {
		c := "-"
		if strings.HasPrefix("case", a.cur) || strings.HasPrefix("case", e.cur) {
			c = "?" // it may still spell case
		}
		a.cur, e.cur = c, c
	}
	return a, a == e
}

// endsInRaw reports whether the last command of p is a call of raw.
func endsInRaw(p *parse.PipeNode) bool {
	if len(p.Cmds) == 0 {
		return false
	}
	last := p.Cmds[len(p.Cmds)-1]
	if len(last.Args) == 0 {
		return false
	}
	id, ok := last.Args[0].(*parse.IdentifierNode)
	return ok && id.Ident == rawFunc
}

// Kinds of nested shell contexts on shState.stack.
const (
	shSingle  = '\'' // '...'
	shANSI    = 'a'  // $'...', which bash and busybox read with escapes and dash as '...'
	shDouble  = '"'  // "..."
	shSubst   = '$'  // $( ... ): unquoted text again, until its )
	shParen   = '('  // ( ... ) in unquoted text, counted to find the end of $( )
	shArith   = 'm'  // $(( ... )) or (( ... )): arithmetic, where shells expand $(...) even inside quotes
	shBack    = '`'  // `...`
	shComment = '#'  // # to the end of the line
	shHeredoc = '<'  // the body of a here-document
	shMaybe   = '?'  // # to the end of the line, a comment or not depending on an {{if}}
)

// conflictCase is why a value after a case statement inside $( ) or ( )
// is refused.
const conflictCase = "after a case statement inside $(...) or (...), whose pattern's ) cannot be told from the end of the substitution"

// Values of shState.word.
const (
	wordNo      = iota // inside a word
	wordYes            // at the start of a word, where # begins a comment
	wordUnknown        // after {{if}} branches that disagree
)

// shState is where a POSIX shell's lexer is after some text, as far as
// quoting a value spliced at that point is concerned. It is comparable, so
// that branches can be checked to end alike. It follows quotes, command
// substitutions, comments and here-documents; it does not parse the
// grammar (a case pattern's ")" inside "$( )" is not told apart).
type shState struct {
	stack    string // nested contexts, innermost last; "" is bare text
	esc      bool   // a backslash escapes the next character
	word     int    // wordNo, wordYes or wordUnknown
	prev     byte   // the previous character in this context, for $( and <<
	reading  int    // reading a here-document's delimiter: 1 just after <<, 2 before the word, 3 in it
	dash     bool   // the delimiter being read follows <<-
	delim    string // the delimiter being read, quotes removed
	heredocs string // delimiters whose bodies start at the next newline, each "-word\x00" or " word\x00"
	line     string // the current line of a here-document body
	conflict string // why the state is unknown after {{if}} branches that disagree, if it is
	// cur is the current bare word so far (up to 5 bytes; "-" when it
	// cannot be a keyword, "?" when {{if}} branches left it unknown), to
	// see "case" inside $( ) or ( ), whose pattern ")" this lexer would
	// take for the end of the substitution.
	cur string
}

func (s *shState) top() byte {
	if s.stack == "" {
		return 0
	}
	return s.stack[len(s.stack)-1]
}

func (s *shState) push(k byte) { s.stack += string(k) }
func (s *shState) pop()        { s.stack = s.stack[:len(s.stack)-1] }

func (s *shState) text(t string) {
	for i := 0; i < len(t); i++ {
		s.step(t[i])
	}
}

// afterValue moves past a spliced value: a word has started.
func (s *shState) afterValue() {
	s.prev = 0
	switch s.top() {
	case 0, shSubst, shParen, shArith:
		s.word = wordNo
		s.cur = "-"
	}
}

func (s *shState) step(c byte) {
	if s.conflict != "" {
		return
	}
	prev := s.prev
	s.prev = c
	if s.top() == shHeredoc {
		if c == '\n' {
			s.endHeredocLine()
		} else {
			s.line += string(c)
		}
		return
	}
	if s.esc {
		s.esc = false
		s.prev = 0
		s.word = wordNo
		return
	}
	switch s.top() {
	case shSingle:
		if c == '\'' {
			s.pop()
		}
		return
	case shANSI:
		switch c {
		case '\\':
			s.esc = true
		case '\'':
			s.pop()
		}
		return
	case shComment, shMaybe:
		if c == '\n' {
			s.pop()
			s.cur = ""
			s.newline()
		}
		return
	case shBack:
		switch c {
		case '\\':
			s.esc = true
		case '`':
			s.pop()
		}
		return
	case shDouble:
		switch c {
		case '\\':
			s.esc = true
		case '"':
			s.pop()
		case '`':
			s.push(shBack)
		case '(':
			if prev == '$' {
				s.push(shSubst)
				s.word = wordYes
				s.cur = ""
			}
		}
		return
	}
	// Bare text, at the top or inside $( ) or ( ).
	if s.reading > 0 && s.readDelimiter(c) {
		return
	}
	word := s.word
	s.word = wordNo
	switch c {
	case ' ', '\t', '\n', ';', '&', '|', '(', ')', '<', '>':
		if (s.cur == "case" || strings.HasPrefix(s.cur, "?")) && strings.ContainsAny(s.stack, string([]byte{shSubst, shParen, shArith})) {
			s.conflict = conflictCase
			return
		}
		s.cur = ""
	case '\'', '"', '`', '\\', '$':
		s.cur = "-"
	default:
		if len(s.cur) < 5 {
			s.cur += string(c)
		}
	}
	switch c {
	case '\\':
		s.esc = true
	case '\'':
		if prev == '$' {
			s.push(shANSI)
		} else {
			s.push(shSingle)
		}
	case '"':
		s.push(shDouble)
	case '`':
		s.push(shBack)
	case '#':
		switch word {
		case wordYes:
			s.push(shComment)
		case wordUnknown:
			s.push(shMaybe)
		}
	case '(':
		switch t := s.top(); {
		case prev == '$':
			s.push(shSubst)
		case prev == '(' && (t == shSubst || t == shParen):
			s.push(shArith)
		default:
			s.push(shParen)
		}
		s.word = wordYes
	case ')':
		if t := s.top(); t == shSubst || t == shParen || t == shArith {
			s.pop()
		}
		s.word = wordYes
	case '\n':
		s.word = wordYes
		s.newline()
	case '<':
		s.word = wordYes
		if prev == '<' {
			s.reading, s.dash, s.delim = 1, false, ""
			s.prev = 0
		}
	case ' ', '\t', ';', '&', '|', '>':
		s.word = wordYes
	}
}

// readDelimiter consumes c as part of a here-document's delimiter word and
// reports whether it did; a character that ends the word is not consumed.
func (s *shState) readDelimiter(c byte) bool {
	switch s.reading {
	case 1:
		switch c {
		case '<': // <<<, a here-string (bash): an ordinary word follows
			s.reading = 0
			s.word = wordYes
			return true
		case '-':
			s.dash = true
			s.reading = 2
			return true
		}
		s.reading = 2
		fallthrough
	case 2:
		if c == ' ' || c == '\t' {
			return true
		}
		s.reading = 3
	}
	if strings.IndexByte(" \t\n;&|<>()", c) >= 0 {
		flag := " "
		if s.dash {
			flag = "-"
		}
		s.heredocs += flag + s.delim + "\x00"
		s.reading, s.delim = 0, ""
		return false
	}
	if c != '\'' && c != '"' && c != '\\' {
		s.delim += string(c)
	}
	return true
}

// newline starts the body of a pending here-document, if any.
func (s *shState) newline() {
	if s.heredocs != "" && s.top() != shHeredoc {
		s.push(shHeredoc)
		s.line = ""
	}
}

// endHeredocLine ends a line of a here-document's body, and the body
// itself when the line is its delimiter.
func (s *shState) endHeredocLine() {
	entry, rest, _ := strings.Cut(s.heredocs, "\x00")
	line := s.line
	s.line = ""
	if entry[0] == '-' {
		line = strings.TrimLeft(line, "\t")
	}
	if line != entry[1:] {
		return
	}
	s.heredocs = rest
	s.pop()
	s.word = wordYes
	s.newline()
}

// placeError says why a value cannot be quoted where it stands, and what
// to write instead.
type placeError struct{ where, fix string }

func (e *placeError) Error() string { return e.where }

var (
	errInBackquotes = &placeError{"inside `...`", "write $(...) instead of `...`"}
	errInANSI       = &placeError{"inside $'...'", "shells read $'...' differently: use '...' or \"...\""}
	errInHeredoc    = &placeError{"in a here-document", `set it in env (V: 'ACTION') and write "$V" in the here-document`}
	errAfterDollar  = &placeError{"right after $", `write \$ for a dollar sign, or ${VAR} with the variable in env`}
	errAfterEscape  = &placeError{"right after a backslash", "remove the backslash"}
	errInDelimiter  = &placeError{"in a here-document's delimiter", "use a fixed delimiter"}
	errInArith      = &placeError{"inside $((...)) or ((...))", "shells evaluate any text there, quotes and all: compute the number outside the arithmetic, or set it in env and check it is a number first"}
	errMaybeComment = &placeError{"after a # that begins a comment or not depending on an {{if}} before it", "put a space or quote around the #"}
)

// escaper names the function that quotes a value spliced in state s.
func (s *shState) escaper() (string, *placeError) {
	if s.conflict == conflictCase {
		return "", &placeError{s.conflict, "define a shell function with the case statement before the $(...) and call it there"}
	}
	if s.conflict != "" {
		return "", &placeError{s.conflict, "close quotes and comments inside each branch"}
	}
	if s.esc {
		return "", errAfterEscape
	}
	if strings.IndexByte(s.stack, shArith) >= 0 {
		return "", errInArith
	}
	switch s.top() {
	case 0, shSubst, shParen, shDouble:
		if s.prev == '$' {
			return "", errAfterDollar // $'...' or $(...) would be read
		}
	}
	switch s.top() {
	case shSingle:
		return shSingleFunc, nil
	case shDouble:
		return shDoubleFunc, nil
	case shComment:
		return shCommentFunc, nil
	case shBack:
		return "", errInBackquotes
	case shANSI:
		return "", errInANSI
	case shHeredoc:
		return "", errInHeredoc
	case shMaybe:
		return "", errMaybeComment
	}
	if s.reading > 0 {
		return "", errInDelimiter
	}
	return shBareFunc, nil
}

// describe names the state for an error message.
func (s shState) describe() string {
	switch {
	case s.conflict != "":
		return "unknown"
	case s.reading > 0:
		return "in a here-document's delimiter"
	case s.esc:
		return "after a backslash"
	}
	switch s.top() {
	case shSingle:
		return "inside '...'"
	case shDouble:
		return `inside "..."`
	case shSubst:
		return "inside $(...)"
	case shParen:
		return "inside (...)"
	case shArith:
		return "inside $((...))"
	case shBack:
		return "inside `...`"
	case shANSI:
		return "inside $'...'"
	case shComment:
		return "in a comment"
	case shHeredoc:
		return "in a here-document"
	case shMaybe:
		return "after a # that may begin a comment"
	}
	switch {
	case s.heredocs != "":
		return "before a here-document"
	case s.prev == '$' || s.prev == '<':
		return "right after " + string(s.prev)
	}
	return "bare text"
}
