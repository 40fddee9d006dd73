package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/visagehq/visage/internal/api/wire"
)

// adminAudit prints an integration's audit log, newest first: every
// change of keys, settings, faces' locks and erasures and case reviews,
// by whom and from where.
func adminAudit(ctx context.Context, name string, args []string) error {
	e := newAdminEnv(name, "admin audit list --integration INTEGRATION_ID [--limit N] [--json] [flags]",
		"Print an integration's audit log, newest first.")
	integration := e.fs.String("integration", "", "integration id (required)")
	limit := e.fs.Int("limit", 50, "how many events, at most 1000")
	if err := e.parse(args, "integration"); err != nil {
		return err
	}
	if *limit < 1 || *limit > 1000 {
		return fmt.Errorf("--limit is 1–1000")
	}
	if err := e.open(ctx); err != nil {
		return err
	}
	defer e.close()
	if _, err := e.tenant.ListKeys(ctx, *integration); err != nil {
		return notFound(err, "no integration "+*integration)
	}
	page, err := e.tenant.AuditEvents(ctx, *integration, "", *limit)
	if err != nil {
		return err
	}
	if e.json {
		return emit(wire.AuditListOf(page).Events, false)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "TIME (UTC)\tACTION\tSUBJECT\tACTOR\tFROM\tDETAIL")
	for _, ev := range page.Events {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", ev.CreatedAt.UTC().Format(time.DateTime), ev.Action, ev.Subject,
			ev.Actor, ev.Remote, string(ev.Detail))
	}
	return w.Flush()
}
