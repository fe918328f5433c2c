package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
)

// helpDoc is a command's --help text, parsed: what the shell completions
// and the man page are generated from, so that they never say anything
// --help does not.
type helpDoc struct {
	path     []string    // the command words: nil for reproof itself, ["verify"], ...
	usage    string      // "reproof diff [flags] A B"
	summary  string      // the one-line summary from the parent's command list
	sections []helpBlock // the text, in order, with the flag list as a section
	flags    []helpFlag
	commands []helpDoc // the subcommands listed under "Commands:"
}

// helpBlock is a titled part of a help text ("" for the description,
// "Flags", "EXIT STATUS", ...) and its lines.
type helpBlock struct {
	title string
	lines []string
}

// helpFlag is one line of a flag list, as pflag prints it.
type helpFlag struct {
	short string // "o" for -o, or ""
	long  string // "output"
	arg   string // "FILE", or "" for a boolean flag
	usage string
}

// flagLine matches pflag's FlagUsages lines: "  -o, --output FILE   usage"
// and "      --network   usage".
var flagLine = regexp.MustCompile(`^  (?:-([A-Za-z0-9]), |    )--([A-Za-z0-9][A-Za-z0-9-]*)(?: (\S+))?(?:\s{2,}(.*))?$`)

// commandLine matches a command list line: "  verify     summary".
var commandLine = regexp.MustCompile(`^  ([a-z][a-z0-9-]*)\s+(\S.*)$`)

// helpRunner returns the --help text of `reproof ARGS...`. It is set in
// init, not in its declaration: it runs dispatch, and the commands table
// dispatch reads holds the generators that call it.
var helpRunner func(args []string) (string, error)

func init() {
	helpRunner = func(args []string) (string, error) {
		var stdout, stderr bytes.Buffer
		std := streams{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		if err := dispatch(context.Background(), append(append([]string{}, args...), "--help"), std); err != nil {
			return "", fmt.Errorf("reproof %s --help: %w", strings.Join(args, " "), err)
		}
		return stdout.String(), nil
	}
}

// loadHelp parses the help of reproof and of every command it lists,
// recursively.
func loadHelp() (*helpDoc, error) {
	return loadHelpOf(nil, "", 0)
}

func loadHelpOf(path []string, summary string, depth int) (*helpDoc, error) {
	if depth > 3 {
		return nil, fmt.Errorf("help: commands nested deeper than 3: %q", path)
	}
	text, err := helpRunner(path)
	if err != nil {
		return nil, err
	}
	doc, err := parseHelp(text)
	if err != nil {
		return nil, fmt.Errorf("reproof %s --help: %w", strings.Join(path, " "), err)
	}
	doc.path, doc.summary = path, summary
	for i, c := range doc.commands {
		sub, err := loadHelpOf(append(append([]string{}, path...), c.path[len(c.path)-1]), c.summary, depth+1)
		if err != nil {
			return nil, err
		}
		doc.commands[i] = *sub
	}
	return doc, nil
}

// parseHelp parses one help text: an optional "Usage: ..." line (or a
// "Usage:" line with the usage indented below it), paragraphs, sections
// introduced by a line ending in ':' or written in capitals (EXIT STATUS),
// a "Flags:" section of pflag lines and a "Commands:" section of names and
// summaries. Commands are returned with the name as the only path element.
func parseHelp(text string) (*helpDoc, error) {
	doc := &helpDoc{}
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	cur := helpBlock{}
	flush := func() {
		for len(cur.lines) > 0 && strings.TrimSpace(cur.lines[len(cur.lines)-1]) == "" {
			cur.lines = cur.lines[:len(cur.lines)-1]
		}
		if cur.title != "" || len(cur.lines) > 0 {
			doc.sections = append(doc.sections, cur)
		}
		cur = helpBlock{}
	}
	for i := 0; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], " ")
		switch {
		case strings.HasPrefix(l, "Usage: ") && doc.usage == "":
			doc.usage = strings.TrimSpace(strings.TrimPrefix(l, "Usage: "))
			continue
		case l == "Usage:" && doc.usage == "" && i+1 < len(lines):
			i++
			doc.usage = strings.TrimSpace(lines[i])
			continue
		case l == "Flags:":
			flush()
			cur.title = "Flags"
			for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
				i++
				cur.lines = append(cur.lines, lines[i])
				if m := flagLine.FindStringSubmatch(lines[i]); m != nil {
					doc.flags = append(doc.flags, helpFlag{short: m[1], long: m[2], arg: m[3], usage: strings.TrimSpace(m[4])})
				} else if n := len(doc.flags); n > 0 && strings.HasPrefix(lines[i], "   ") {
					doc.flags[n-1].usage += " " + strings.TrimSpace(lines[i])
				} else {
					return nil, fmt.Errorf("flag list: line %q is not a flag", lines[i])
				}
			}
			flush()
			continue
		case l == "Commands:":
			flush()
			cur.title = "Commands"
			for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
				i++
				cur.lines = append(cur.lines, lines[i])
				m := commandLine.FindStringSubmatch(lines[i])
				if m == nil {
					return nil, fmt.Errorf("command list: line %q is not a command", lines[i])
				}
				doc.commands = append(doc.commands, helpDoc{path: []string{m[1]}, summary: m[2]})
			}
			flush()
			continue
		case isSectionTitle(l):
			flush()
			cur.title = strings.TrimSuffix(l, ":")
			continue
		}
		if len(cur.lines) == 0 && l == "" {
			continue
		}
		cur.lines = append(cur.lines, l)
	}
	flush()
	if doc.usage == "" {
		return nil, fmt.Errorf("no usage line")
	}
	return doc, nil
}

// isSectionTitle reports whether a line starts a section of its own:
// a title in capitals, as "EXIT STATUS". (Flags: and Commands: are
// parsed before; other lines ending in ':' are text.)
func isSectionTitle(l string) bool {
	return l != "" && l[0] != ' ' && strings.ToUpper(l) == l &&
		strings.ContainsAny(l, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") && !strings.ContainsAny(l, ".,:;()0123456789")
}

// name is the command's words: "reproof verify".
func (d *helpDoc) name() string {
	return strings.Join(append([]string{"reproof"}, d.path...), " ")
}

// walk calls f on d and every command below it, parents first.
func (d *helpDoc) walk(f func(*helpDoc)) {
	f(d)
	for i := range d.commands {
		d.commands[i].walk(f)
	}
}

// operands are the words of the usage line after the command and its
// "[flags]": "A B", "[SPEC]", "FILE...", "SHELL".
func (d *helpDoc) operands() []string {
	words := strings.Fields(d.usage)
	var out []string
	for _, w := range words[min(len(words), len(d.path)+1):] {
		if w == "[flags]" || strings.HasPrefix(w, "-") || w == "COMMAND" || w == "[args]" {
			continue
		}
		out = append(out, w)
	}
	return out
}

// literals are the operands spelled in lowercase: words to type as they
// are ("verify" in "reproof attest verify --key PUB FILE...").
func (d *helpDoc) literals() []string {
	var out []string
	for _, o := range d.operands() {
		if w := strings.Trim(o, "[]"); w == strings.ToLower(w) && !strings.ContainsAny(w, ".|") {
			out = append(out, w)
		}
	}
	return out
}

// takesFiles reports whether the command has operands that are paths:
// the placeholders in capitals, but SHELL.
func (d *helpDoc) takesFiles() bool {
	for _, o := range d.operands() {
		w := strings.Trim(o, "[].")
		if w != "SHELL" && w != strings.ToLower(w) {
			return true
		}
	}
	return false
}

// takesShell reports whether the command's operand is a SHELL name.
func (d *helpDoc) takesShell() bool {
	ops := d.operands()
	return len(ops) == 1 && strings.Trim(ops[0], "[]") == "SHELL"
}

// argTakesPath reports whether a flag's argument names a file or directory.
func (f helpFlag) argTakesPath() bool {
	switch f.arg {
	case "FILE", "DIR", "SPEC", "PATH", "KEY", "PUB":
		return true
	}
	return false
}
