package wire

import (
	"encoding/json"
	"time"

	"github.com/visagehq/visage/internal/tenancy"
)

// AuditEvent is one entry of an integration's audit log: who changed what,
// when and from where.
type AuditEvent struct {
	ID        string          `json:"id"`
	Action    string          `json:"action"`
	Subject   string          `json:"subject"`
	Actor     string          `json:"actor"`
	Remote    string          `json:"remote"`
	Detail    json.RawMessage `json:"detail"`
	CreatedAt time.Time       `json:"created_at"`
}

// AuditList is one page of the audit log, newest first.
type AuditList struct {
	Events []AuditEvent `json:"events"`
	Next   string       `json:"next_cursor,omitempty"`
}

// AuditListOf converts a page of the audit log.
func AuditListOf(p *tenancy.AuditPage) AuditList {
	out := AuditList{Events: make([]AuditEvent, 0, len(p.Events)), Next: p.Next}
	for _, e := range p.Events {
		d := e.Detail
		if len(d) == 0 {
			d = json.RawMessage("null")
		}
		out.Events = append(out.Events, AuditEvent{ID: e.ID, Action: e.Action, Subject: e.Subject, Actor: e.Actor,
			Remote: e.Remote, Detail: d, CreatedAt: e.CreatedAt.UTC()})
	}
	return out
}
