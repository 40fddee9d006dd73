package logctx

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestAttributesFollowTheContext(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil)))
	ctx := With(With(context.Background(), "request_id", "r1"), "integration", "int_1")
	log.With("component", "x").InfoContext(ctx, "hello")
	log.Info("no context")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.Contains(lines[0], `"request_id":"r1"`) || !strings.Contains(lines[0], `"integration":"int_1"`) || !strings.Contains(lines[0], `"component":"x"`) {
		t.Fatalf("missing attributes: %s", lines[0])
	}
	if strings.Contains(lines[1], "request_id") {
		t.Fatalf("attributes leaked: %s", lines[1])
	}
}
