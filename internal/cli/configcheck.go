package cli

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/alecthomas/kong"
)

// ConfigCmd groups the commands about config files.
type ConfigCmd struct {
	Check ConfigCheckCmd `cmd:"" help:"Validate a config file as serve or agent do at start (binding no socket, opening no store) and print the effective settings, each with where it comes from: flag, env, file or default."`
}

// ConfigCheckCmd checks the settings of serve or agent.
type ConfigCheckCmd struct {
	Command string `arg:"" optional:"" enum:"serve,agent" default:"serve" help:"Whose settings the file holds: serve (default) or agent."`
}

// redacted replaces the value of a secret in what config check prints.
const redacted = "<redacted>"

// effective is the report of config check.
type effective struct {
	Command  string          `json:"command"`
	File     string          `json:"file,omitempty"`
	Settings []settingReport `json:"settings"`
	Warnings []string        `json:"warnings,omitempty"`
}

// settingReport is one effective setting and its source.
type settingReport struct {
	Key    string `json:"key"`
	Value  any    `json:"value"`
	Source string `json:"source"`         // flag, env, file or default
	From   string `json:"from,omitempty"` // the variable, or FILE:LINE
}

// Run checks the settings and prints them; invalid ones exit 2.
func (c *ConfigCheckCmd) Run(g *Globals) error {
	eff, err := effectiveSettings(g.Config, c.Command)
	if err != nil {
		return usageError{err}
	}
	for _, w := range eff.Warnings {
		fmt.Fprintln(g.stderr, "dnslb: warning:", w)
	}
	if g.JSON {
		return printJSON(g.stdout, eff)
	}
	return eff.print(g.stdout)
}

// effectiveSettings parses the command line "cmd --config path" as Main
// would, in this environment, and runs the checks cmd runs before it
// binds or opens anything.
func effectiveSettings(path, cmd string) (*effective, error) {
	inner := root{config: &configResolver{}}
	inner.stdout, inner.stderr = io.Discard, io.Discard
	parser, err := newParser(&inner, kong.Exit(func(int) {}))
	if err != nil {
		return nil, err
	}
	args := []string{cmd}
	if path != "" {
		args = append(args, "--config", path)
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		var pe *kong.ParseError
		if errors.As(err, &pe) {
			err = pe.Unwrap()
		}
		return nil, err
	}
	if err := inner.check(cmd); err != nil {
		return nil, annotate(err, kctx, inner.config.file)
	}
	return report(kctx, cmd, inner.config.file), nil
}

// check runs the checks cmd runs at start, before binding sockets or
// opening the store.
func (r *root) check(cmd string) error {
	if cmd == "serve" {
		if err := r.Serve.validate(); err != nil {
			return err
		}
		_, err := r.Serve.APISecurity.load(r.Serve.API)
		return err
	}
	a := &r.Agent
	for _, check := range []func() error{a.validate, a.checkStopTimeout, r.checkServers, func() error { _, err := a.check(); return err }} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// checkServers makes (but does not use) a client of every --server.
func (r *root) checkServers() error {
	for _, s := range r.Server {
		if _, err := r.clientOf(s); err != nil {
			return fmt.Errorf("--server: %w", err)
		}
	}
	return nil
}

// annotate adds, to an error about a flag that the config file set, the
// key and line it came from.
func annotate(err error, kctx *kong.Context, file *configFile) error {
	if file == nil || kctx == nil {
		return err
	}
	name, ok := strings.CutPrefix(err.Error(), "--")
	if !ok {
		return err
	}
	name, _, _ = strings.Cut(name, " ")
	name, _, _ = strings.Cut(name, ":")
	f := findFlag(kctx.Flags(), name)
	if f == nil {
		return err
	}
	if source, from := sourceOf(kctx, f, file); source != "default" && source != "flag" {
		return fmt.Errorf("%w (%s from %s)", err, name, from)
	}
	return err
}

// report is the effective settings of cmd after kctx was parsed.
func report(kctx *kong.Context, cmd string, file *configFile) *effective {
	eff := &effective{Command: cmd, Settings: []settingReport{}}
	if file != nil {
		eff.File, eff.Warnings = file.path, file.warnings
	}
	for _, f := range configFlags(kctx.Model, cmd) {
		source, from := sourceOf(kctx, f, file)
		eff.Settings = append(eff.Settings, settingReport{Key: f.Name, Value: shownValue(f), Source: source, From: from})
	}
	return eff
}

// sourceOf says where flag's value came from: flag, env (and which
// variable), file (and which line) or default.
func sourceOf(kctx *kong.Context, flag *kong.Flag, file *configFile) (source, from string) {
	for _, p := range kctx.Path {
		if p.Flag != flag {
			continue
		}
		if p.Resolved && file != nil {
			return "file", fmt.Sprintf("%s:%d", file.path, file.settings[flag.Name].line)
		}
		return "flag", ""
	}
	if env, ok := envOf(flag); ok {
		return "env", env
	}
	return "default", ""
}

// shownValue is the value of flag as config check prints it: durations
// as "10s", lists as lists of strings, secrets redacted.
func shownValue(flag *kong.Flag) any {
	v := flag.Target
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if secretFlag(flag.Name) && !v.IsZero() {
		return redacted
	}
	switch {
	case v.Type() == durationType:
		return time.Duration(v.Int()).String()
	case v.Kind() == reflect.Slice:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = fmt.Sprint(v.Index(i).Interface())
		}
		return items
	}
	return v.Interface()
}

// print writes the report as a table.
func (e *effective) print(w io.Writer) error {
	file := e.File
	if file == "" {
		file = "no config file"
	}
	fmt.Fprintf(w, "dnslb %s: settings valid (%s)\n", e.Command, file)
	t := newTable(w, "KEY", "VALUE", "SOURCE")
	for _, s := range e.Settings {
		source := s.Source
		if s.From != "" {
			source += " " + s.From
		}
		t.row(s.Key, humanValue(s.Value), source)
	}
	return t.flush()
}

// humanValue is a setting's value in the table.
func humanValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "-"
	case string:
		if v == "" {
			return `""`
		}
		return v
	case []string:
		return "[" + strings.Join(v, ", ") + "]"
	}
	return fmt.Sprint(v)
}
