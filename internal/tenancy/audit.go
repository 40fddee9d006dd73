package tenancy

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/store"
)

// AuditPage is one page of an integration's audit log, newest first.
type AuditPage struct {
	Events []store.AuditEvent
	// Next continues below the last event; "" on the last page.
	Next string
}

// AuditEvents lists an integration's audit log from cursor ("" for the
// newest), at most limit events (0: the default page size).
func (s *Service) AuditEvents(ctx context.Context, integrationID, cursor string, limit int) (*AuditPage, error) {
	cur, err := parseAuditCursor(cursor)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = store.DefaultPageSize
	}
	evs, err := s.st.ListAuditEvents(ctx, integrationID, cur, limit)
	if err != nil {
		return nil, fmt.Errorf("audit events: %w", err)
	}
	p := &AuditPage{Events: evs}
	if len(evs) == limit {
		last := evs[len(evs)-1]
		p.Next = base64.RawURLEncoding.EncodeToString([]byte(last.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + last.ID))
	}
	return p, nil
}

// parseAuditCursor reads a cursor AuditEvents gave out; the form is
// opaque to clients, so anything else is a bad request.
func parseAuditCursor(cursor string) (store.AuditCursor, error) {
	if cursor == "" {
		return store.AuditCursor{}, nil
	}
	bad := fault.New(fault.BadRequest, "cursor is not one this server gave out")
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return store.AuditCursor{}, bad
	}
	at, id, ok := strings.Cut(string(raw), "|")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || !strings.HasPrefix(id, "aud_") {
		return store.AuditCursor{}, bad
	}
	return store.AuditCursor{At: t, ID: id}, nil
}
