package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/visagehq/visage/internal/testenv"
)

// commandLines are every command that takes flags, as typed.
var commandLines = [][]string{
	{"detect"}, {"embed"}, {"compare"}, {"eval"}, {"serve"}, {"migrate"}, {"version"},
	{"models", "install"}, {"models", "verify"}, {"bench", "http"},
	{"admin", "integration", "create"}, {"admin", "integration", "list"}, {"admin", "integration", "rotate-key"},
	{"admin", "integration", "set"}, {"admin", "key", "list"}, {"admin", "key", "revoke"},
	{"webhooks", "urls"}, {"webhooks", "set"}, {"webhooks", "ping"}, {"webhooks", "deliveries"},
	{"webhooks", "show"}, {"webhooks", "redeliver"},
}

var flagLine = regexp.MustCompile(`(?m)^  --([a-z0-9-]+)`)

// helpFlags runs `visage CMD… -h` and returns the flags it lists.
func helpFlags(t *testing.T, cmd []string, helpArg string) map[string]bool {
	t.Helper()
	r := run(t, userEnv(), "", append(cmd, helpArg)...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("visage %s %s: exit %d, stderr %q", strings.Join(cmd, " "), helpArg, r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "usage: visage "+strings.Join(cmd, " ")) {
		t.Fatalf("visage %s %s printed %q", strings.Join(cmd, " "), helpArg, r.stdout)
	}
	flags := map[string]bool{}
	for _, m := range flagLine.FindAllStringSubmatch(r.stdout, -1) {
		flags[m[1]] = true
	}
	return flags
}

// TestHelp: -h and --help exit 0 and print the command's usage and only
// the flags it uses, on stdout. (They used to exit 2, and the admin
// commands listed every server flag, engine and webhook settings
// included.)
func TestHelp(t *testing.T) {
	engine := []string{"models-dir", "model-manifest", "threads", "max-pixels", "max-image-bytes"}
	store := []string{"data-dir", "database-url", "master-key", "master-key-file", "old-master-keys"}
	server := []string{"rate-limit", "token-ttl", "capture-ttl", "webhook-poll", "workers", "max-body-bytes"}
	for _, cmd := range commandLines {
		name := strings.Join(cmd, " ")
		t.Run(name, func(t *testing.T) {
			flags := helpFlags(t, cmd, "-h")
			if long := helpFlags(t, cmd, "--help"); len(long) != len(flags) {
				t.Fatalf("-h lists %d flags, --help %d", len(flags), len(long))
			}
			has := func(names ...string) bool {
				for _, n := range names {
					if !flags[n] {
						return false
					}
				}
				return true
			}
			none := func(names ...string) bool {
				for _, n := range names {
					if flags[n] {
						return false
					}
				}
				return true
			}
			runsModels := map[string]bool{"detect": true, "embed": true, "compare": true, "eval": true, "serve": true}[name]
			opensStore := name == "serve" || cmd[0] == "admin" || cmd[0] == "webhooks"
			switch {
			case runsModels && !has(engine...), !runsModels && cmd[0] != "models" && cmd[0] != "version" && !none(engine...):
				t.Errorf("engine flags: %v", flags)
			case opensStore && !has(store...), !opensStore && cmd[0] != "migrate" && !none(store...):
				t.Errorf("store flags: %v", flags)
			case cmd[0] == "migrate" && (!has("data-dir", "database-url") || !none("master-key", "old-master-keys")):
				t.Errorf("migrate needs the database only: %v", flags)
			case name != "serve" && !none(server...):
				t.Errorf("server flags outside serve: %v", flags)
			case name != "serve" && name != "admin integration create" && !none("listen", "public-url"):
				t.Errorf("address flags (for the printed curl example) outside admin integration create: %v", flags)
			case cmd[0] == "webhooks" && !has("integration", "webhook-allow-private"):
				t.Errorf("webhooks flags: %v", flags)
			}
		})
	}
	// The dispatchers and the top level answer -h too.
	for _, cmd := range [][]string{{"-h"}, {"--help"}, {"help"}, {"admin", "-h"}, {"admin", "integration", "-h"}, {"webhooks", "--help"}, {"models", "-h"}, {"bench", "-h"}} {
		r := run(t, userEnv(), "", cmd...)
		if r.code != 0 || !strings.Contains(r.stdout, "usage:") || r.stderr != "" {
			t.Errorf("visage %s: exit %d, stdout %q, stderr %q", strings.Join(cmd, " "), r.code, r.stdout, r.stderr)
		}
	}
	if r := run(t, userEnv(), "", "help", "embed"); r.code != 0 || !strings.HasPrefix(r.stdout, "usage: visage embed") {
		t.Errorf("visage help embed: exit %d, %q", r.code, r.stdout)
	}
	// Without a command it is a usage error, on stderr.
	if r := run(t, userEnv(), ""); r.code != 2 || !strings.Contains(r.stderr, "usage:") {
		t.Errorf("visage: exit %d, stderr %q", r.code, r.stderr)
	}
	// A wrong flag is an error that points at the help.
	if r := run(t, userEnv(), "", "embed", "--no-such-flag", "x.png"); r.code != 2 || !strings.Contains(r.stderr, "visage embed -h") {
		t.Errorf("unknown flag: exit %d, stderr %q", r.code, r.stderr)
	}
}

// docRows reads the two tables of docs/configuration.md: settings rows
// ("| `--flag` | `VISAGE_…` | default | commands | meaning |") and command
// option rows ("| commands | `--flag` | default | meaning |").
func docRows(t *testing.T) (settings, options [][]string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Root(t), "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 6 {
			continue
		}
		cells = cells[1 : len(cells)-1]
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case strings.HasPrefix(cells[0], "`--") && strings.Contains(cells[1], "`VISAGE_"):
			settings = append(settings, cells)
		case strings.HasPrefix(cells[1], "`--"):
			options = append(options, cells)
		}
	}
	return settings, options
}

// mentions tells whether a commands cell ("`admin` `webhooks set`") names
// cmd itself or a command it belongs to.
func mentions(cell, cmd string) bool {
	for _, part := range strings.Split(cell, "`") {
		if part = strings.TrimSpace(part); part != "" && (cmd == part || strings.HasPrefix(cmd, part+" ")) {
			return true
		}
	}
	return false
}

// TestEveryFlagIsDocumented fails when a command's -h lists a flag that
// docs/configuration.md does not give for that command.
func TestEveryFlagIsDocumented(t *testing.T) {
	settings, options := docRows(t)
	find := func(rows [][]string, flagCol, cmdCol int, name, cmd string) bool {
		for _, r := range rows {
			if r[flagCol] == "`--"+name+"`" && mentions(r[cmdCol], cmd) {
				return true
			}
		}
		return false
	}
	for _, cmd := range commandLines {
		name := strings.Join(cmd, " ")
		for f := range helpFlags(t, cmd, "-h") {
			if !find(settings, 0, 3, f, name) && !find(options, 1, 0, f, name) {
				t.Errorf("visage %s --%s is not in docs/configuration.md for %s", name, f, name)
			}
		}
	}
}
