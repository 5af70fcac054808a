package cli

import (
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/alecthomas/kong"
)

// ManCmd prints the manual page, generated from the same command
// definitions as --help.
type ManCmd struct {
	Date string `help:"Date on the page (YYYY-MM-DD; default today); release builds give the commit's." default:""`
}

// manHome is where the manual page sends readers for the full guide.
const manHome = "https://github.com/dnslb/dnslb"

// Run prints the page in roff (man(7) macros).
func (c ManCmd) Run(g *Globals, k *kong.Context) error {
	var b strings.Builder
	cmds := commandsOf(k.Model)
	if c.Date == "" {
		c.Date = time.Now().UTC().Format(time.DateOnly)
	}
	manHeader(&b, c.Date, versionOf(readBuildInfo(), Version).Version)
	manOptions(&b, cmds[0].flags)
	b.WriteString(".SH COMMANDS\n")
	for _, cmd := range cmds[1:] {
		manCommand(&b, cmd, cmds[0].node)
	}
	manEnvironment(&b, cmds)
	b.WriteString(manFooter)
	_, err := io.WriteString(g.stdout, b.String())
	return err
}

// manHeader writes the title, name, synopsis and description.
func manHeader(b *strings.Builder, date, version string) {
	summary, rest, _ := strings.Cut(description, "\n\n")
	_, summary, _ = strings.Cut(summary, ": ")
	fmt.Fprintf(b, ".TH DNSLB 1 %q %q \"User Commands\"\n", date, "dnslb "+version)
	fmt.Fprintf(b, ".SH NAME\ndnslb \\- %s\n", roffText(strings.TrimSuffix(summary, ".")))
	b.WriteString(".SH SYNOPSIS\n.B dnslb\n.I command\n.RI [ options ]\n.RI [ arguments ]\n")
	fmt.Fprintf(b, ".SH DESCRIPTION\n%s\n", roffText(strings.Join(strings.Fields(rest), " ")))
	b.WriteString(".PP\nEach command is described below with its arguments and options; " +
		"an option's environment variable, where it has one, is the second source after the command line.\n")
}

// manOptions writes the options of dnslb itself.
func manOptions(b *strings.Builder, flags []*kong.Flag) {
	b.WriteString(".SH OPTIONS\nThese options are accepted by every command that uses them.\n")
	for _, f := range flags {
		manFlag(b, f)
	}
}

// manCommand writes one command: its synopsis, help, arguments and own
// options (dnslb's own options have their section).
func manCommand(b *strings.Builder, c command, root *kong.Node) {
	fmt.Fprintf(b, ".SS \"dnslb %s\"\n", c.path)
	if len(c.node.Positional) > 0 {
		fmt.Fprintf(b, ".B dnslb %s\n", c.path)
		for _, arg := range c.node.Positional {
			fmt.Fprintf(b, ".RI %s\n", roffArg(arg))
		}
	}
	if len(c.node.Positional) > 0 {
		b.WriteString(".PP\n")
	}
	b.WriteString(roffText(c.node.Help) + "\n")
	if len(c.node.Aliases) > 0 {
		fmt.Fprintf(b, "Also: \\fB%s\\fR.\n", strings.Join(c.node.Aliases, "\\fR, \\fB"))
	}
	if c.node.Detail != "" {
		fmt.Fprintf(b, ".PP\n%s\n", roffText(c.node.Detail))
	}
	if c.node.DefaultCmd != nil {
		fmt.Fprintf(b, ".PP\nWithout a subcommand: \\fBdnslb %s %s\\fR.\n", c.path, c.node.DefaultCmd.Name)
	}
	for _, arg := range c.node.Positional {
		fmt.Fprintf(b, ".TP\n.I %s\n%s\n", strings.ToUpper(arg.Name), roffText(arg.Help))
	}
	var own []*kong.Flag // the command's and its parent commands', not dnslb's
	for _, f := range c.flags {
		if !slices.Contains(root.Flags, f) {
			own = append(own, f)
		}
	}
	for _, f := range own {
		manFlag(b, f)
	}
}

// roffArg is an argument in a synopsis: NAME, [NAME], NAME... .
func roffArg(arg *kong.Positional) string {
	name := strings.ToUpper(arg.Name)
	if arg.IsSlice() {
		name += "..."
	}
	if !arg.Required {
		return "[ " + name + " ]"
	}
	return name
}

// manFlag writes one option: its words, placeholder, help, default and
// environment variables.
func manFlag(b *strings.Builder, f *kong.Flag) {
	b.WriteString(".TP\n")
	words := "\\fB\\-\\-" + roffDash(f.Name) + "\\fR"
	if f.Short != 0 {
		words = "\\fB\\-" + string(f.Short) + "\\fR, " + words
	}
	if takesValue(f) {
		words += " \\fI" + roffText(manPlaceholder(f)) + "\\fR"
	}
	b.WriteString(words + "\n" + roffText(f.Help))
	if vs := enumValues(f); len(vs) > 0 && !strings.Contains(f.Help, vs[0]) {
		fmt.Fprintf(b, " One of: %s.", roffText(strings.Join(vs, ", ")))
	}
	if f.HasDefault && f.Default != "" {
		fmt.Fprintf(b, " Default: \\fB%s\\fR.", roffText(f.Default))
	}
	if f.IsSlice() && takesValue(f) && !strings.Contains(strings.ToLower(f.Help), "repeat") {
		b.WriteString(" Repeatable.")
	}
	for _, env := range f.Envs {
		fmt.Fprintf(b, " Environment: \\fB%s\\fR.", roffDash(env))
	}
	b.WriteString("\n")
}

// manPlaceholder names f's value: its placeholder, or its type.
func manPlaceholder(f *kong.Flag) string {
	switch {
	case f.PlaceHolder != "":
		return f.PlaceHolder
	case isFile(f):
		return "FILE"
	case len(enumValues(f)) > 0:
		return strings.Join(enumValues(f), "|")
	case f.Target.Type() == reflect.TypeFor[time.Duration]():
		return "DURATION"
	}
	return strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
}

// manEnvironment writes the environment variables and their options.
func manEnvironment(b *strings.Builder, cmds []command) {
	flagsOf := map[string][]string{}
	var envs []string
	for _, c := range cmds {
		for _, f := range c.flags {
			for _, env := range f.Envs {
				name := "\\-\\-" + roffDash(f.Name)
				if !slices.Contains(flagsOf[env], name) {
					flagsOf[env] = append(flagsOf[env], name)
				}
				if !slices.Contains(envs, env) {
					envs = append(envs, env)
				}
			}
		}
	}
	if len(envs) == 0 {
		return
	}
	slices.Sort(envs)
	b.WriteString(".SH ENVIRONMENT\n")
	for _, env := range envs {
		fmt.Fprintf(b, ".TP\n.B %s\nThe default of \\fB%s\\fR.\n", roffDash(env), strings.Join(flagsOf[env], "\\fR, \\fB"))
	}
}

// manFooter holds the sections the command definitions do not give.
const manFooter = `.SH EXIT STATUS
.TP
.B 0
Done.
.TP
.B 1
The command failed; the reason is on standard error, naming the option at fault.
.TP
.B 2
The command line is wrong; nothing was done.
.SH FILES
.TP
.I /etc/default/dnslb
Options of \fBdnslb serve\fR under systemd (dnslb.service), in \fBDNSLB_OPTS\fR.
.TP
.I /etc/default/dnslb\-agent
Settings of \fBdnslb agent\fR under systemd (dnslb\-agent.service).
.TP
.I /var/lib/dnslb/dnslb.db
The server's data under systemd.
.SH SEE ALSO
.BR systemctl (1),
.BR dig (1).
The guide: ` + manHome + `
`

// roffText escapes s for roff text: backslashes, characters beyond ASCII
// (as \[uXXXX], which groff reads without preconv), and a line that would
// start with a control character.
func roffText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r > unicode.MaxASCII:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	s = b.String()
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}

// roffDash escapes the hyphens of an option or variable name as minus
// signs, so that they copy and search as typed.
func roffDash(s string) string { return strings.ReplaceAll(s, "-", `\-`) }
