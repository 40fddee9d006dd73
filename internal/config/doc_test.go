package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// settingRows reads the settings table of docs/configuration.md: the rows
// "| `--flag` | `VISAGE_…` … | default | commands | meaning |", by flag.
func settingRows(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 7 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`--") || !strings.Contains(cells[2], "`VISAGE_") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`-")
		if _, dup := rows[name]; dup {
			t.Errorf("--%s has two rows", name)
		}
		rows[name] = cells[1 : len(cells)-1]
	}
	return rows
}

// TestEverySettingIsDocumented fails when a setting registered here is
// missing from docs/configuration.md, or its variable or default there is
// not the one in the code; and when the page lists a setting that no
// longer exists.
func TestEverySettingIsDocumented(t *testing.T) {
	rows := settingRows(t)
	fs := flag.NewFlagSet("all", flag.ContinueOnError)
	var c Server
	var key string
	RegisterServer(fs, &c)
	RegisterAPIKey(fs, &key)
	fs.VisitAll(func(f *flag.Flag) {
		s, ok := Lookup(f)
		if !ok {
			t.Errorf("--%s is registered without a variable", f.Name)
			return
		}
		row, ok := rows[f.Name]
		if !ok {
			t.Errorf("--%s (%s) is missing from docs/configuration.md", f.Name, s.Env)
			return
		}
		delete(rows, f.Name)
		if !strings.Contains(row[1], "`"+s.Env+"`") {
			t.Errorf("--%s: the doc gives %s, the code reads %s", f.Name, strings.TrimSpace(row[1]), s.Env)
		}
		if s.Secret && !strings.Contains(row[1], "`"+s.Env+"_FILE`") {
			t.Errorf("--%s: the doc does not say %s_FILE is read", f.Name, s.Env)
		}
		if !s.Secret && strings.Contains(row[1], "_FILE") {
			t.Errorf("--%s: the doc promises a _FILE variant the code does not read", f.Name)
		}
		if f.DefValue != "" && !strings.Contains(row[2], "`"+f.DefValue+"`") {
			t.Errorf("--%s: default %q is not in the doc's %q", f.Name, f.DefValue, strings.TrimSpace(row[2]))
		}
		if strings.TrimSpace(row[4]) == "" {
			t.Errorf("--%s: no meaning given", f.Name)
		}
	})
	for name := range rows {
		t.Errorf("docs/configuration.md lists --%s, which is not a setting", name)
	}
}
