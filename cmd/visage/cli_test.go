package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"testing"

	"github.com/visagehq/visage/internal/models"
	"github.com/visagehq/visage/internal/testenv"
)

func TestVersion(t *testing.T) {
	r := run(t, userEnv(), "", "version", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	m, err := models.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if v.Module != "github.com/visagehq/visage" || v.GoVersion != runtime.Version() || v.Version == "" {
		t.Fatalf("build info %+v", v)
	}
	if len(v.Models) != len(m.Models) || v.Models["embedding"] != m.Models["embedding"].ID {
		t.Fatalf("models %v, manifest has %d", v.Models, len(m.Models))
	}
	if len(v.Packages) != len(m.Packages) {
		t.Fatalf("packages %v", v.Packages)
	}
	human := run(t, userEnv(), "", "version")
	if human.code != 0 || !strings.Contains(human.stdout, m.Models["embedding"].ID) || !strings.Contains(human.stdout, runtime.Version()) {
		t.Fatalf("exit %d: %s", human.code, human.stdout)
	}
}

// TestVersionVCS: the VCS stamp is read when Go recorded one. (Go records
// none when building in a git worktree or with -buildvcs=false, so the
// binary test above cannot rely on it.)
func TestVersionVCS(t *testing.T) {
	m, err := models.Load("")
	if err != nil {
		t.Fatal(err)
	}
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/visagehq/visage", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}}
	v := buildVersion(bi, m)
	if v.Version != "v1.2.3" || v.Revision != "0123abc" || v.Time != "2026-01-02T03:04:05Z" || !v.Modified {
		t.Fatalf("%+v", v)
	}
	if v := buildVersion(nil, m); v.Version != "(unknown)" || v.Models["embedding"] == "" {
		t.Fatalf("without build info: %+v", v)
	}
}

// glint returns two images of one identity and one of another.
func glint(t *testing.T) (a1, a2, b string) {
	t.Helper()
	pick := func(who string, n int) []string {
		p, err := filepath.Glob(testenv.Fixture(t, "faces", "glint-dev", who, "*.png"))
		if err != nil || len(p) < n {
			t.Fatalf("glint-dev/%s: %d images, %v", who, len(p), err)
		}
		sort.Strings(p)
		return p
	}
	tina := pick("Tina_Fey", 2)
	return tina[0], tina[1], pick("Hugh_Laurie", 2)[1]
}

// TestCompare: a short human summary by default, the full result with
// --json, exit 0 match / 1 no match / 2 error, flags before or after the
// images.
func TestCompare(t *testing.T) {
	models := testenv.ModelsDir(t)
	same1, same2, other := glint(t)
	env := userEnv("VISAGE_MODELS_DIR=" + models)

	r := run(t, env, "", "compare", same1, same2)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "match: score ") || !strings.Contains(r.stdout, same2+": 1 face") {
		t.Fatalf("same person: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if lines := strings.Count(r.stdout, "\n"); lines != 3 {
		t.Fatalf("summary is %d lines, want 3:\n%s", lines, r.stdout)
	}

	r = run(t, env, "", "compare", same1, other, "--json")
	if r.code != 1 {
		t.Fatalf("different people: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var res struct {
		A, B          struct{ Path string }
		Cosine, Score *float32
		Threshold     float32
		Match         bool
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if res.Match || res.Score == nil || res.Cosine == nil || *res.Score >= res.Threshold || res.B.Path != other {
		t.Fatalf("--json result %+v", res)
	}
	human := run(t, env, "", "compare", same1, other)
	if human.code != 1 || !strings.HasPrefix(human.stdout, "no match: score ") {
		t.Fatalf("exit %d: %s", human.code, human.stdout)
	}

	r = run(t, env, "", "compare", same1, filepath.Join(t.TempDir(), "missing.png"))
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "file_not_found") {
		t.Fatalf("missing file: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestPathsFrom: image paths from a file or standard input, for sets too
// big for a command line, in order, after the arguments.
func TestPathsFrom(t *testing.T) {
	models := testenv.ModelsDir(t)
	a, b, c := glint(t)
	list := filepath.Join(t.TempDir(), "paths.txt")
	// A CRLF line and a blank line, as an editor on another system writes.
	if err := os.WriteFile(list, []byte(b+"\r\n\n"+c), 0o644); err != nil {
		t.Fatal(err)
	}
	env := userEnv("VISAGE_MODELS_DIR=" + models)
	results := func(r result) []embedResult {
		t.Helper()
		var out []embedResult
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var e embedResult
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("%v: %q (stderr %s)", err, line, r.stderr)
			}
			out = append(out, e)
		}
		return out
	}
	check := func(got []embedResult, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%d results, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i].Path != want[i] || got[i].Error != nil || len(got[i].Embedding) != 512 {
				t.Fatalf("result %d: %s, error %v, %d-d; want %s", i, got[i].Path, got[i].Error, len(got[i].Embedding), want[i])
			}
		}
	}

	r := run(t, env, "", "embed", "--jsonl", "--paths-from", list, a)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	check(results(r), a, b, c)

	r = run(t, env, a+"\n"+c+"\n", "embed", "--jsonl", "--paths-from", "-")
	if r.code != 0 {
		t.Fatalf("stdin: exit %d: %s", r.code, r.stderr)
	}
	check(results(r), a, c)

	// A list of any size streams: 712 long paths on standard input start
	// producing results at once.
	paths := celebrityTree(t, 712)
	cmd := exec.Command(visageBin(t), "embed", "--jsonl", "--paths-from", "-")
	cmd.Env = env
	cmd.Stdin = strings.NewReader(strings.Join(paths, "\n") + "\n")
	checkEmbedded(t, firstResults(t, cmd, 3), paths)

	r = run(t, env, "", "detect", "--paths-from", filepath.Join(t.TempDir(), "nope.txt"))
	if r.code != 2 || !strings.Contains(r.stderr, "--paths-from") || !strings.Contains(r.stderr, "nope.txt") {
		t.Fatalf("missing list: exit %d, stderr %q", r.code, r.stderr)
	}
	huge := filepath.Join(t.TempDir(), "huge.txt")
	if err := os.WriteFile(huge, []byte(strings.Repeat("x", 100<<10)), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, env, "", "embed", "--paths-from", huge)
	if r.code != 2 || !strings.Contains(r.stderr, "line 1") {
		t.Fatalf("100 KB line: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestAdminRefusesMissingDatabase: admin and webhooks commands pointed at
// a data dir without a database say so, and create nothing there, unless
// --create is given.
func TestAdminRefusesMissingDatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	env := userEnv("VISAGE_DATA_DIR=" + dir)
	for _, cmd := range [][]string{
		{"admin", "integration", "list"},
		{"admin", "integration", "create", "--name", "x"},
		{"webhooks", "urls", "--integration", "int_x"},
	} {
		r := run(t, env, "", cmd...)
		if r.code != 2 || !strings.Contains(r.stderr, "no Visage database") || !strings.Contains(r.stderr, "--create") {
			t.Fatalf("%v: exit %d, stderr %q", cmd, r.code, r.stderr)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%v created %s: %v", cmd, dir, err)
		}
	}
	r := run(t, env, "", "admin", "integration", "create", "--name", "first", "--create", "--json")
	if r.code != 0 {
		t.Fatalf("--create: exit %d: %s", r.code, r.stderr)
	}
	for _, f := range []string{"visage.db", "master.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("--create made no %s: %v", f, err)
		}
	}
	r = run(t, env, "", "admin", "integration", "list", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"name": "first"`) {
		t.Fatalf("list: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
}

// TestAdminRefusesMissingMasterKey: a database made by `visage migrate`
// holds no key; an admin command must not invent one (the server, given
// its key another way, could not open what was sealed with it).
func TestAdminRefusesMissingMasterKey(t *testing.T) {
	dir := t.TempDir()
	env := userEnv("VISAGE_DATA_DIR=" + dir)
	if r := run(t, env, "", "migrate"); r.code != 0 {
		t.Fatalf("migrate: exit %d: %s", r.code, r.stderr)
	}
	r := run(t, env, "", "admin", "integration", "create", "--name", "x")
	if r.code != 2 || !strings.Contains(r.stderr, "no master key") || !strings.Contains(r.stderr, "VISAGE_MASTER_KEY") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "master.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a master key file was created: %v", err)
	}
}

// TestConfigurationFailsClosed: a bad setting stops the command before it
// opens or creates anything, naming the variable. An unreadable
// VISAGE_MASTER_KEY_FILE used to make serve create a new local key.
func TestConfigurationFailsClosed(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ env, want string }{
		{"VISAGE_MASTER_KEY_FILE=" + filepath.Join(dir, "no-such-secret"), "VISAGE_MASTER_KEY_FILE="},
		{"VISAGE_CAPTURE_TTL=30 minutes", "VISAGE_CAPTURE_TTL="},
		{"VISAGE_WEBHOOK_ALLOW_PRIVATE=on", "VISAGE_WEBHOOK_ALLOW_PRIVATE="},
		{"VISAGE_PUBLIC_URL=visage.example.com", "VISAGE_PUBLIC_URL="},
		{"VISAGE_THREADS=all", "VISAGE_THREADS="},
		{"VISAGE_MASTER_KEY=not-a-key", "VISAGE_MASTER_KEY)"},
		{"VISAGE_OLD_MASTER_KEYS=" + strings.Repeat("ab", 32) + ",short", "VISAGE_OLD_MASTER_KEYS)"},
	} {
		data := filepath.Join(dir, "data")
		r := run(t, userEnv("VISAGE_DATA_DIR="+data, "VISAGE_LISTEN=127.0.0.1:0", tc.env), "", "serve")
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Fatalf("%s: exit %d, stderr %q", tc.env, r.code, r.stderr)
		}
		if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s: serve created %s before failing", tc.env, data)
		}
	}
}
