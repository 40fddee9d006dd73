// Package classify turns the errors of Visage's lower layers (image
// decoding, the store, blob storage, the keyring) into fault kinds. Only
// services call it, once, at their boundary; surfaces see nothing but
// fault.Error. The face engine's own errors are classified by the face
// service, so this package (and every service using it) stays free of the
// engine's native dependencies.
package classify

import (
	"context"
	"errors"
	"strings"

	"github.com/visagehq/visage/internal/blob"
	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/store"
)

// rule maps a sentinel to a kind and, when msg is set, a client message
// that replaces the error's own text (which may name internals).
type rule struct {
	err  error
	kind fault.Kind
	msg  string
}

// rules are tried in order: the most specific first.
var rules = []rule{
	{imageio.ErrEmpty, fault.EmptyImage, ""},
	{imageio.ErrUnsupported, fault.Unsupported, ""},
	{imageio.ErrTooLarge, fault.ImageTooLarge, ""},
	{imageio.ErrCorrupt, fault.InvalidImage, ""},
	{crypto.ErrTampered, fault.Integrity, "stored data failed its integrity check"},
	{crypto.ErrUnknownKey, fault.Integrity, "stored data is sealed with a key this server does not hold"},
	{store.ErrNotFound, fault.NotFound, "not found"},
	{store.ErrConflict, fault.Conflict, "conflicting change; retry"},
	{store.ErrInvalid, fault.BadRequest, ""},
	{store.ErrLocked, fault.Locked, "face is locked after too many failed verifications"},
	{blob.ErrNotFound, fault.Integrity, "a stored file is missing"},
	{blob.ErrTooLarge, fault.PayloadTooLarge, ""},
	{context.DeadlineExceeded, fault.Busy, "the server is busy; retry shortly"},
	// The client went away or the server is draining.
	{context.Canceled, fault.Unavailable, "the request was cancelled"},
}

// Err classifies err: an error already classified passes through; a known
// sentinel gets its kind; anything else is Internal. nil stays nil.
func Err(err error) error {
	if err == nil {
		return nil
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	for _, r := range rules {
		if errors.Is(err, r.err) {
			msg := r.msg
			if msg == "" {
				msg = strings.TrimPrefix(err.Error(), r.err.Error()+": ")
			}
			return &fault.Error{Kind: r.kind, Message: msg, Cause: err}
		}
	}
	return &fault.Error{Kind: fault.Internal, Message: "internal error", Cause: err}
}

// Kind is Err's kind for err, without building the error.
func Kind(err error) fault.Kind { return fault.KindOf(Err(err)) }
