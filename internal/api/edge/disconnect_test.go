package edge_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/api/edge"
	"github.com/visagehq/visage/internal/fault"
)

type plain struct{}

func (plain) RenderError(w http.ResponseWriter, r *http.Request, e *fault.Error) {
	edge.WriteJSON(w, 503, map[string]string{"error": e.Message})
}

// A client that hangs up mid-request is not a server error: the access log
// says so at INFO, and nothing is logged at ERROR.
func TestClientDisconnectIsNotAnError(t *testing.T) {
	var logs syncBuf
	e := edge.New(edge.Config{Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	done := make(chan struct{})
	e.Mount(edge.Surface{Name: "test", Renderer: plain{}, Routes: []edge.Route{{Pattern: "GET /slow", Handler: func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		<-r.Context().Done()
		edge.Fail(w, r, fault.Wrap(fault.Unavailable, r.Context().Err(), "the request was cancelled"))
	}}}})
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/slow", nil)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatal("the request was answered before the client left")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler never saw the disconnect")
	}
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(logs.String(), `"client_gone":true`) {
		if time.Now().After(deadline) {
			t.Fatalf("no access log line with client_gone: %s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) || strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Fatalf("a disconnect was logged as a failure:\n%s", logs.String())
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
