// Package logctx carries log attributes (request id, integration) in a
// context, so every log line written with a *Context method on a request
// path names its request, whichever package writes it.
package logctx

import (
	"context"
	"log/slog"
)

type key struct{}

// With returns ctx carrying attrs (key-value pairs) in addition to any
// it already carries.
func With(ctx context.Context, args ...any) context.Context {
	prev, _ := ctx.Value(key{}).([]any)
	all := make([]any, 0, len(prev)+len(args))
	all = append(append(all, prev...), args...)
	return context.WithValue(ctx, key{}, all)
}

// Handler adds the context's attributes to every record.
type Handler struct{ slog.Handler }

// NewHandler wraps h.
func NewHandler(h slog.Handler) *Handler { return &Handler{h} }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if args, ok := ctx.Value(key{}).([]any); ok {
		r.Add(args...)
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler, keeping the wrapper.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler { return &Handler{h.Handler.WithAttrs(as)} }

// WithGroup implements slog.Handler, keeping the wrapper.
func (h *Handler) WithGroup(name string) slog.Handler { return &Handler{h.Handler.WithGroup(name)} }
