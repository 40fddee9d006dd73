package faceauth

import (
	"context"
	"time"

	"github.com/visagehq/visage/internal/store"
)

// Event is a domain event in Visage's own words. Each surface that
// notifies integrations (the native API, each vendor adapter) encodes the
// events it speaks into its own webhook body.
type Event interface{ EventName() string }

// Events receives domain events inside the transaction of the state change
// that causes them (the webhook outbox), so neither is lost without the
// other.
type Events interface {
	Enqueue(ctx context.Context, tx store.Tx, integrationID string, ev Event) error
	// Committed is called after a transaction that enqueued events commits.
	Committed()
}

// EventFaceRegistered names FaceRegistered.
const EventFaceRegistered = "face.registered"

// FaceRegistered: a face got its images and templates (hosted capture
// page or still images uploaded through the API).
type FaceRegistered struct {
	FaceRef       string // internal id
	IntegrationID string
	FaceID        string // the client's identifier
	Enabled       bool
	Liveness      string // store.LivenessActive, LivenessPassive or LivenessNone
	Images        []RegisteredImage
	At            time.Time
}

// RegisteredImage is one stored image of a registration.
type RegisteredImage struct {
	ID        string
	Challenge Challenge
}

// EventName implements Event.
func (FaceRegistered) EventName() string { return EventFaceRegistered }

// noEvents drops events (a service built without an outbox).
type noEvents struct{}

func (noEvents) Enqueue(context.Context, store.Tx, string, Event) error { return nil }
func (noEvents) Committed()                                             {}

// Metrics receives the business counters a dashboard needs, per
// integration (a bounded label: integrations are created by operators).
type Metrics interface {
	Enrolment(integrationID, liveness string)
	Verification(integrationID, outcome string)
	Spoof(integrationID string)
	Search(integrationID string)
}

type noMetrics struct{}

func (noMetrics) Enrolment(string, string)    {}
func (noMetrics) Verification(string, string) {}
func (noMetrics) Spoof(string)                {}
func (noMetrics) Search(string)               {}
