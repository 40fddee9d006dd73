package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/testenv"
)

// celebrityTree lays out n symlinks to the glint-dev fixture images the
// way the reporter had them, celebrity_images/<Name With
// Spaces>/<n>.png, so each path is 70-odd characters long.
func celebrityTree(t *testing.T, n int) []string {
	t.Helper()
	src, err := filepath.Glob(testenv.Fixture(t, "faces", "glint-dev", "*", "*.png"))
	if err != nil || len(src) == 0 {
		t.Fatalf("no glint-dev images: %v", err)
	}
	sort.Strings(src)
	root := filepath.Join(t.TempDir(), "celebrity_images")
	paths := make([]string, n)
	for i := range paths {
		s := src[i%len(src)]
		name := strings.ReplaceAll(filepath.Base(filepath.Dir(s)), "_", " ")
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		paths[i] = filepath.Join(dir, strconv.Itoa(i)+".png")
		if err := os.Symlink(s, paths[i]); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

// firstResults starts the command, reads the first n JSON lines it prints
// and stops it: enough to show that start-up (where the crash was) is
// behind it and that it embeds real images, without embedding all of them.
func firstResults(t *testing.T, cmd *exec.Cmd, n int) []json.RawMessage {
	t.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	var exit error
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		defer close(lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		exit = cmd.Wait()
	}()
	defer func() {
		_ = cmd.Process.Kill()
		for range lines {
		}
		<-exited
	}()
	var got []json.RawMessage
	timeout := time.After(90 * time.Second)
	for len(got) < n {
		select {
		case line, ok := <-lines:
			if !ok {
				<-exited
				t.Fatalf("visage exited after %d results: %v\nstderr: %.2000s", len(got), exit, stderr.String())
			}
			if !json.Valid([]byte(line)) {
				t.Fatalf("not a JSON result: %q", line)
			}
			got = append(got, json.RawMessage(line))
		case <-timeout:
			t.Fatalf("no %d results after 90 s; stderr: %.2000s", n, stderr.String())
		}
	}
	return got
}

// checkEmbedded checks `embed` results against the paths they are for.
func checkEmbedded(t *testing.T, lines []json.RawMessage, paths []string) {
	t.Helper()
	embedded := 0
	for i, line := range lines {
		var r embedResult
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("result %d: %v", i, err)
		}
		if r.Path != paths[i] {
			t.Fatalf("result %d is for %q, want %q", i, r.Path, paths[i])
		}
		if r.Error == nil {
			if len(r.Embedding) != 512 {
				t.Fatalf("%s: %d-d embedding", r.Path, len(r.Embedding))
			}
			embedded++
		}
	}
	if embedded == 0 {
		t.Fatalf("no face embedded in %d real images", len(lines))
	}
}

// TestEmbedLongArgumentList is the reproduction: 712 image paths
// of ~70 characters (50 KB of arguments) crashed `visage embed` with
// SIGSEGV inside CreateOrtEnv, before any image was read. ONNX Runtime's
// telemetry ran std::regex over /proc/self/cmdline, which recurses once per
// character and overflows the thread stack at about 29 KB of command line.
func TestEmbedLongArgumentList(t *testing.T) {
	bin, models := visageBin(t), testenv.ModelsDir(t)
	paths := celebrityTree(t, 712)
	size := 0
	for _, p := range paths {
		size += len(p) + 1
	}
	if size < 40_000 {
		t.Fatalf("arguments are %d bytes; the crash needs more than ~29 KB", size)
	}
	for _, cmdName := range []string{"embed", "detect"} {
		t.Run(cmdName, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{cmdName, "--jsonl", "--models-dir", models}, paths...)...)
			cmd.Env = userEnv()
			got := firstResults(t, cmd, 3)
			if cmdName == "embed" {
				checkEmbedded(t, got, paths)
			} else {
				for i, line := range got {
					var r struct {
						Path  string
						Faces []json.RawMessage
					}
					if err := json.Unmarshal(line, &r); err != nil || r.Path != paths[i] {
						t.Fatalf("result %d: %s (%v), want one for %q", i, line, err, paths[i])
					}
				}
			}
			// ONNX Runtime's telemetry, had it started, leaves its debug
			// log behind in the temp folder.
			if _, err := os.Stat(filepath.Join(os.TempDir(), "mat-debug-"+strconv.Itoa(cmd.Process.Pid)+".log")); err == nil {
				t.Errorf("ONNX Runtime telemetry ran (mat-debug-%d.log exists)", cmd.Process.Pid)
			}
		})
	}
}
