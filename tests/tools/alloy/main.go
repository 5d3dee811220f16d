// Command alloy-syntax-check parses Alloy configuration files with Alloy's own parser
// (github.com/grafana/alloy/syntax) and reports every syntax error as `file:line:col: message`.
//
// It checks syntax only: component names and arguments are not looked at (that is
// `alloy validate`, which cannot be built from the Go module proxy; see prepare.sh).
//
// With -strings it also prints, for each file that parses, every string literal as Alloy's
// evaluator decodes it and every quoted object key as the parser keeps it, one JSON object a line,
// so a test can check that a value written by the renderer reads back as the same string.
//
// Exit status: 0 when every file parses, 1 when any does not (or cannot be read), 2 on usage errors.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/grafana/alloy/syntax/ast"
	"github.com/grafana/alloy/syntax/diag"
	"github.com/grafana/alloy/syntax/parser"
	"github.com/grafana/alloy/syntax/token"
	"github.com/grafana/alloy/syntax/vm"
)

// literal is one line of -strings output.
type literal struct {
	Pos   string `json:"pos"`
	Kind  string `json:"kind"` // "string" (a string literal) or "key" (a quoted object key)
	Value string `json:"value"`
}

// collector gathers the string literals and quoted keys of a file in source order.
type collector struct {
	out []literal
	err error
}

func (c *collector) Visit(node ast.Node) ast.Visitor {
	if c.err != nil {
		return nil
	}
	switch n := node.(type) {
	case *ast.ObjectExpr:
		for _, f := range n.Fields {
			if f.Quoted {
				c.out = append(c.out, literal{f.Name.NamePos.Position().String(), "key", f.Name.Name})
			}
		}
	case *ast.LiteralExpr:
		if n.Kind == token.STRING {
			// The evaluator, not a copy of its unquoting rules, says what the literal means.
			var s string
			if err := vm.New(n).Evaluate(nil, &s); err != nil {
				c.err = fmt.Errorf("%s: %w", n.ValuePos.Position(), err)
				return nil
			}
			c.out = append(c.out, literal{n.ValuePos.Position().String(), "string", s})
		}
	}
	return c
}

// check parses one file; it returns false when the file has errors, which it prints.
func check(name string, printStrings bool) bool {
	data, err := os.ReadFile(name)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return false
	}
	file, err := parser.ParseFile(name, data)
	if err != nil {
		var diags diag.Diagnostics
		if errors.As(err, &diags) {
			for _, d := range diags {
				fmt.Fprintln(os.Stderr, d.Error())
			}
		} else {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		}
		return false
	}
	if !printStrings {
		fmt.Printf("%s: OK\n", name)
		return true
	}
	c := &collector{}
	ast.Walk(c, file)
	if c.err != nil {
		fmt.Fprintln(os.Stderr, c.err)
		return false
	}
	enc := json.NewEncoder(os.Stdout)
	for _, l := range c.out {
		if err := enc.Encode(l); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return false
		}
	}
	return true
}

func main() {
	printStrings := flag.Bool("strings", false,
		"print each string literal and quoted object key as a JSON line instead of \"FILE: OK\"")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: alloy-syntax-check [-strings] FILE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	ok := true
	for _, name := range flag.Args() {
		if !check(name, *printStrings) {
			ok = false
		}
	}
	if !ok {
		os.Exit(1)
	}
}
