package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"go.yaml.in/yaml/v3"
)

// Settings of serve and agent come from four sources, the first that has
// one winning: a flag on the command line, the environment (DNSLB_<FLAG>,
// kong's env tags, added here to every flag of the two commands), the
// config file (--config, a YAML mapping of flag names to values, read by
// configResolver) and the flag's default.

// envPrefix starts the environment variable of every flag of serve and
// agent: --rrl-rate is DNSLB_RRL_RATE.
const envPrefix = "DNSLB_"

// maxConfigSize bounds a config file: settings, not data.
const maxConfigSize = 1 << 20

// configCommands are the commands that read a config file.
var configCommands = []string{"serve", "agent"}

// agentGlobals are the shared flags the agent uses, so also keys of its
// config file.
var agentGlobals = []string{"server", "token", "token-file", "ca"}

// configFile is a config file read and checked against one command's flags.
type configFile struct {
	path     string
	settings map[string]setting // by key (flag name)
	warnings []string
}

// setting is one key of a config file.
type setting struct {
	line  int
	value any // for kong: a string, or []any of strings for a list
}

// configResolver is the kong.Resolver of the config file: it gives a flag
// its value from the file unless the command line or the environment has
// one. It is registered whether or not a file is given, so kong keeps an
// environment value it cannot parse as an error for Resolve, which returns
// it only when no flag overrides it (the systemd units of earlier releases
// set DNSLB_LAMEDUCK=5 and pass --lameduck 5s).
type configResolver struct {
	file *configFile // nil: no config file
}

// Validate is part of kong.Resolver; keys were checked when the file was read.
func (r *configResolver) Validate(*kong.Application) error { return nil }

// Resolve returns flag's value from the file, or nil.
func (r *configResolver) Resolve(_ *kong.Context, _ *kong.Path, flag *kong.Flag) (any, error) {
	if r.file == nil {
		return nil, nil
	}
	s, ok := r.file.settings[flag.Name]
	if !ok {
		return nil, nil
	}
	if _, set := envOf(flag); set {
		return nil, nil
	}
	return s.value, nil
}

// load reads the config file of the command kctx selected, if that is
// serve or agent and --config (or DNSLB_CONFIG) names one.
func (r *configResolver) load(kctx *kong.Context) error {
	cmd := selectedCommand(kctx)
	cf := findFlag(kctx.Flags(), "config")
	if cf == nil {
		return nil
	}
	if !slices.Contains(configCommands, cmd) {
		if onCommandLine(kctx, cf) && cmd != "config" {
			return usagef("--config: only serve and agent read a config file (and 'dnslb config check' checks one)")
		}
		return nil
	}
	path, _ := kctx.FlagValue(cf).(string)
	if path == "" {
		return nil
	}
	file, err := readConfig(path, cmd, kctx.Model)
	if err != nil {
		return usageError{err}
	}
	r.file = file
	return nil
}

// selectedCommand is the first word of the command kctx selected.
func selectedCommand(kctx *kong.Context) string {
	if n := kctx.Selected(); n != nil {
		return strings.Fields(n.Path())[0]
	}
	return ""
}

// onCommandLine reports whether flag was given on the command line.
func onCommandLine(kctx *kong.Context, flag *kong.Flag) bool {
	for _, p := range kctx.Path {
		if p.Flag == flag && !p.Resolved {
			return true
		}
	}
	return false
}

// findFlag is the flag called name among flags, or nil.
func findFlag(flags []*kong.Flag, name string) *kong.Flag {
	for _, f := range flags {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// configFlags are the flags that are keys of cmd's config file: its own
// (but the hidden ones) and, for the agent, the shared ones it uses.
func configFlags(app *kong.Application, cmd string) []*kong.Flag {
	var flags []*kong.Flag
	for _, n := range app.Children {
		if n.Name != cmd {
			continue
		}
		for _, f := range n.Flags {
			if !f.Hidden && f.Name != "help" {
				flags = append(flags, f)
			}
		}
	}
	if cmd == "agent" {
		for _, name := range agentGlobals {
			if f := findFlag(app.Flags, name); f != nil {
				flags = append(flags, f)
			}
		}
	}
	return flags
}

// addEnvars gives every config key of serve and agent its environment
// variable, DNSLB_<NAME> (as kong.DefaultEnvars would, but for these two
// commands only: a DNSLB_ZONE set for the agent must not change what
// `dnslb record list --zone` means). A flag that reads another variable
// already (--state-dir, systemd's STATE_DIRECTORY) reads DNSLB_<NAME> first.
func addEnvars(k *kong.Kong) error {
	for _, cmd := range configCommands {
		for _, f := range configFlags(k.Model, cmd) {
			name := envName(f.Name)
			if slices.Contains(f.Envs, name) {
				continue
			}
			f.Envs = append([]string{name}, f.Envs...)
			f.Value.Tag.Envs = f.Envs
		}
	}
	return nil
}

// otherKeys are the config keys of the commands other than cmd: the
// command of each, by key.
func otherKeys(app *kong.Application, cmd string) map[string]string {
	keys := map[string]string{}
	for _, other := range configCommands {
		if other == cmd {
			continue
		}
		for _, f := range configFlags(app, other) {
			keys[f.Name] = other
		}
	}
	return keys
}

// envName is the environment variable of the flag called name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// envOf is the environment variable that sets flag, if one does.
func envOf(flag *kong.Flag) (string, bool) {
	for _, e := range flag.Envs {
		if _, ok := os.LookupEnv(e); ok {
			return e, true
		}
	}
	return "", false
}

// readConfig reads the config file at path for cmd of app.
func readConfig(path, cmd string, app *kong.Application) (*configFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("--config %s: larger than %d bytes; it holds settings only", path, maxConfigSize)
	}
	file, err := parseConfig(path, data, cmd, configFlags(app, cmd), otherKeys(app, cmd))
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil {
		file.warnings = secretWarnings(file, fi.Mode().Perm())
	}
	return file, nil
}

// parseConfig parses data, the config file at path, for cmd: a YAML
// mapping whose keys are the long names of flags and whose values are what
// those flags take. Every key is checked; the error lists every bad one.
// others are the keys of the other commands, by name, for the hint that
// the file may be theirs.
func parseConfig(path string, data []byte, cmd string, flags []*kong.Flag, others map[string]string) (*configFile, error) {
	file := &configFile{path: path, settings: map[string]setting{}}
	top, err := topMapping(path, data)
	if err != nil || top == nil {
		return file, err
	}
	byName := map[string]*kong.Flag{}
	for _, f := range flags {
		byName[f.Name] = f
	}
	var problems []string
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if err := file.add(k, v, cmd, byName, others); err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: %v", path, k.Line, err))
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return file, nil
}

// topMapping is the mapping at the top of the one YAML document in data,
// or nil for an empty document.
func topMapping(path string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s:%d: a second YAML document; the file holds one mapping of flag names to values", path, next.Line)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	top := doc.Content[0]
	switch {
	case top.Kind == yaml.ScalarNode && top.Tag == "!!null":
		return nil, nil
	case top.Kind != yaml.MappingNode:
		return nil, fmt.Errorf("%s:%d: want a mapping of flag names to values, e.g. \"dns: 0.0.0.0:53\"", path, top.Line)
	}
	return top, nil
}

// add checks the key k with value v against the flags of cmd and keeps it.
func (c *configFile) add(k, v *yaml.Node, cmd string, flags map[string]*kong.Flag, others map[string]string) error {
	if k.Kind != yaml.ScalarNode {
		return errors.New("a key must be a flag name")
	}
	flag, ok := flags[k.Value]
	if other, theirs := others[k.Value]; !ok && theirs {
		return fmt.Errorf("unknown key %q for dnslb %s, but a key of dnslb %s: is this the %s's file? (dnslb config check --config FILE %s)", k.Value, cmd, other, other, other)
	} else if !ok {
		return unknownKey(k.Value, cmd, flags)
	}
	if prev, dup := c.settings[k.Value]; dup {
		return fmt.Errorf("%s: given twice (first on line %d)", k.Value, prev.line)
	}
	value, err := settingValue(flag, v)
	if err != nil {
		return fmt.Errorf("%s: %w", k.Value, err)
	}
	c.settings[k.Value] = setting{line: k.Line, value: value}
	return nil
}

// settingValue is v as kong takes it for flag: a string, or for a list
// flag a list of strings; an error says what flag takes.
func settingValue(flag *kong.Flag, v *yaml.Node) (any, error) {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	switch {
	case v.Kind == yaml.SequenceNode && flag.IsSlice():
		return listValue(flag, v)
	case v.Kind == yaml.SequenceNode:
		return nil, fmt.Errorf("takes one value, not a list; want %s", want(flag.Target.Type()))
	case v.Kind != yaml.ScalarNode:
		return nil, fmt.Errorf("want %s, not a mapping", want(flag.Target.Type()))
	case v.Tag == "!!null":
		return nil, fmt.Errorf("no value; give %s, or remove the key", want(flag.Target.Type()))
	}
	return v.Value, checkValue(flag, v.Value)
}

// listValue is the list v for the list flag, each item checked.
func listValue(flag *kong.Flag, v *yaml.Node) (any, error) {
	items := make([]any, 0, len(v.Content))
	for _, item := range v.Content {
		if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
			return nil, fmt.Errorf("line %d: a list item must be one value; want %s", item.Line, want(flag.Target.Type()))
		}
		items = append(items, item.Value)
	}
	return items, checkValue(flag, items)
}

// checkValue parses value as the command line would parse it for flag,
// without setting it, and checks it against the flag's allowed values.
func checkValue(flag *kong.Flag, value any) error {
	t := flag.Target.Type()
	scratch := reflect.New(t).Elem()
	if t.Kind() == reflect.Pointer {
		scratch.Set(reflect.New(t.Elem()))
	}
	scan := kong.Scan().PushTyped(value, kong.FlagValueToken)
	if err := flag.Mapper.Decode(&kong.DecodeContext{Value: flag.Value, Scan: scan}, scratch); err != nil {
		if plain(t) {
			return fmt.Errorf("want %s, got %s", want(t), shown(value))
		}
		return fmt.Errorf("%s: %w", shown(value), err) // a mapper of its own says why
	}
	if flag.Enum == "" {
		return nil
	}
	allowed := flag.EnumMap()
	for _, s := range enumItems(value) {
		if !allowed[s] {
			return fmt.Errorf("%q is not allowed; allowed: %s", s, strings.Join(flag.EnumSlice(), ", "))
		}
	}
	return nil
}

// enumItems are the strings of a setting's value.
func enumItems(value any) []string {
	if items, ok := value.([]any); ok {
		s := make([]string, len(items))
		for i, it := range items {
			s[i] = fmt.Sprint(it)
		}
		return s
	}
	return []string{fmt.Sprint(value)}
}

// shown is value as an error message quotes it.
func shown(value any) string {
	if items, ok := value.([]any); ok {
		return fmt.Sprintf("%q", enumItems(items))
	}
	return fmt.Sprintf("%q", value)
}

var durationType = reflect.TypeFor[time.Duration]()

// plain reports whether a flag of type t takes a bool, a number, a
// duration or a string, or a list of them: what want describes fully.
func plain(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return t.PkgPath() == "" || t == durationType
	}
	return false
}

// want says what a flag of type t takes.
func want(t reflect.Type) string {
	switch {
	case t == durationType:
		return `a duration such as "10s", "1m30s" or "0s"`
	case t.Kind() == reflect.Pointer:
		return want(t.Elem())
	case t.Kind() == reflect.Slice:
		return want(t.Elem()) + ", or a list of them"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a string"
}
