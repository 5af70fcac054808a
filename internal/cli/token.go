package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/dnslb/dnslb/internal/auth"
)

// TokenCmd groups the token commands.
type TokenCmd struct {
	Create TokenCreateCmd `cmd:"" help:"Make a new API token: print it once, and the line for the serve --tokens file."`
}

// TokenCreateCmd makes a token. It talks to no server: the server learns
// of the token from its tokens file (reloaded on SIGHUP).
type TokenCreateCmd struct {
	Name   string   `required:"" help:"Name of the token, shown in the server's audit log (e.g. web-pool, ci, grafana)."`
	Scope  string   `required:"" enum:"admin,register,read" help:"admin (everything), register (instances: their own sets under --names) or read (listings, status, metrics)."`
	Names  []string `name:"names" sep:"," help:"Names a register token may write (repeatable): www.lb.example.com, or *.pool.lb.example.com for any name under it."`
	SetID  string   `name:"set-id" xor:"owner" help:"Limit a register token to this one set id (a token per instance)."`
	OwnSet bool     `name:"own-set" xor:"owner" help:"A register token shared by a pool: each instance may change only the set it registered, proven by the set's secret (the default for register)."`
}

// Run prints the new token and its line.
func (c *TokenCreateCmd) Run(g *Globals) error {
	if c.Scope != string(auth.Register) && (len(c.Names) > 0 || c.SetID != "" || c.OwnSet) {
		return usagef("--names, --set-id and --own-set are for --scope register; a %s token has no limits on names", c.Scope)
	}
	if c.Scope == string(auth.Register) && len(c.Names) == 0 {
		return usagef("--scope register needs --names, e.g. --names www.lb.example.com --names '*.pool.lb.example.com'")
	}
	secret := auth.NewToken()
	tok, err := auth.NewTokenEntry(c.Name, auth.Scope(c.Scope), c.Names, c.SetID, auth.Hash(secret))
	if err != nil {
		return usagef("%s", flagged(err.Error()))
	}
	if g.JSON {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]string{"name": tok.Name, "scope": c.Scope, "token": secret, "line": tok.Line()})
	}
	fmt.Fprintf(g.stdout, "Token %s (shown only now; the server keeps its hash only):\n\n  %s\n\n", tok.Name, secret)
	fmt.Fprintf(g.stdout, "Add this line to the file of serve --tokens, then reload it (kill -HUP the server):\n\n  %s\n\n", tok.Line())
	fmt.Fprintf(g.stdout, "Clients send it with --token-file FILE, DNSLB_TOKEN or --token.\n")
	return nil
}

// readTokenFile reads a token from a file: its first line, trimmed.
func readTokenFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	tok, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
	if tok = strings.TrimSpace(tok); tok == "" {
		return "", fmt.Errorf("--token-file %s: the file is empty; put the token from 'dnslb token create' in it", path)
	}
	return tok, nil
}

// token is the bearer token the command line gives, if any.
func (g *Globals) token() (string, error) {
	switch {
	case g.TokenFile != "" && g.Token != "":
		return "", usagef("give --token (or DNSLB_TOKEN) or --token-file, not both")
	case g.TokenFile != "":
		return readTokenFile(g.TokenFile)
	}
	return g.Token, nil
}

// flagged names, in an error of auth.NewTokenEntry, the flag at fault.
func flagged(msg string) string {
	for _, p := range [][2]string{{"name ", "--name "}, {"pattern ", "--names "}, {"set id ", "--set-id "}} {
		if rest, ok := strings.CutPrefix(msg, p[0]); ok {
			return p[1] + rest
		}
	}
	return msg
}
