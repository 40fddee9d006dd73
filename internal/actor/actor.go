// Package actor carries who is acting, and from where, through a
// request's context, so that services can write the audit log without
// knowing how the caller authenticated.
package actor

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/visagehq/visage/internal/store"
)

// Actor is who acts: "key:key_…" for an API key (directly or through its
// token), "operator:cli" for an admin command, "system" for background
// jobs; Remote is the client address when there is one.
type Actor struct {
	ID     string
	Remote string
}

// System acts for background work and when no caller is known.
var System = Actor{ID: "system"}

type ctxKey struct{}

// With returns ctx carrying a.
func With(ctx context.Context, a Actor) context.Context { return context.WithValue(ctx, ctxKey{}, a) }

// Of is ctx's actor, System when none was set.
func Of(ctx context.Context) Actor {
	if a, ok := ctx.Value(ctxKey{}).(Actor); ok {
		return a
	}
	return System
}

// Recorder is where audit events go (a store or a store transaction).
type Recorder interface {
	AddAuditEvent(ctx context.Context, e *store.AuditEvent) error
}

// Record appends an audit event by ctx's actor: action on subject in an
// integration, with detail (any JSON value; nil for none).
func Record(ctx context.Context, r Recorder, integrationID, action, subject string, detail any) error {
	a := Of(ctx)
	e := &store.AuditEvent{IntegrationID: integrationID, Actor: a.ID, Remote: a.Remote, Action: action, Subject: subject}
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("audit %s: %w", action, err)
		}
		e.Detail = b
	}
	if err := r.AddAuditEvent(ctx, e); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}
