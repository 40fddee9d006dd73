package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ServeEnv builds the binary and the environment of a `visage serve` on a
// fresh SQLite data dir and a free loopback port, plus extra settings.
func ServeEnv(t *testing.T, extra ...string) (bin, addr, dataDir string, env []string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the visage binary")
	}
	models := ModelsDir(t)
	bin, addr, dataDir = VisageBinary(t), FreeAddr(t), t.TempDir()
	env = append(os.Environ(), "VISAGE_DATA_DIR="+dataDir, "VISAGE_DATABASE_URL=",
		"VISAGE_MODELS_DIR="+models, "VISAGE_LISTEN="+addr, "VISAGE_LOG_LEVEL=warn")
	return bin, addr, dataDir, append(env, extra...)
}

// Created is what `visage admin integration create --json` prints.
type Created struct {
	Integration   struct{ ID string }
	APIKey        struct{ Token string } `json:"apiKey"`
	WebhookSecret string                 `json:"webhookSecret"`
}

// CreateIntegration runs `visage admin integration create` as an operator would.
func CreateIntegration(t *testing.T, bin string, env []string, name string) Created {
	t.Helper()
	out, err := RunVisage(bin, env, "admin", "integration", "create", "--name", name, "--json")
	if err != nil {
		t.Fatalf("admin integration create: %v\n%s", err, out)
	}
	var c Created
	if err := json.Unmarshal(out, &c); err != nil || c.APIKey.Token == "" || c.WebhookSecret == "" {
		t.Fatalf("admin output %s: %v", out, err)
	}
	return c
}

// ServeProc is a `visage serve` subprocess.
type ServeProc struct {
	cmd    *exec.Cmd
	stderr *SyncBuffer
	done   chan struct{}
}

// Log is what the process printed so far.
func (p *ServeProc) Log() string { return p.stderr.String() }

// Kill sends SIGKILL (no shutdown code runs) and waits for the process to be gone.
func (p *ServeProc) Kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("visage serve did not die")
	}
}

// StartServe starts `visage serve` with env and waits until it is healthy.
func StartServe(t *testing.T, bin string, env []string) *ServeProc {
	t.Helper()
	p := &ServeProc{cmd: exec.Command(bin, "serve"), stderr: &SyncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stderr, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	var listen string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "VISAGE_LISTEN="); ok {
			listen = v
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get("http://" + listen + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("visage serve exited: %s", p.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("visage serve not healthy after 60 s: %s", p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// RunVisage runs one visage command and returns its output (with stderr
// appended on failure).
func RunVisage(bin string, env []string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return append(out, stderr.Bytes()...), err
	}
	return out, nil
}

// FreeAddr picks a loopback address whose port is free now (serve gets no
// ":0" reporting channel, so the port is chosen up front).
func FreeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// FreePort is FreeAddr's port.
func FreePort(t *testing.T) int {
	_, port, _ := net.SplitHostPort(FreeAddr(t))
	n, _ := strconv.Atoi(port)
	return n
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers (a process's
// output, a server's logger) and the test reading it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
