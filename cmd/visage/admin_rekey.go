package main

import (
	"context"
	"fmt"
	"os"

	"github.com/visagehq/visage/internal/app"
)

// adminRekey re-seals everything under the current master key, so an old
// key can be retired.
func adminRekey(ctx context.Context, name string, args []string) error {
	e := newAdminEnv(name, "admin rekey [--json] [flags]",
		"Re-seal every integration secret, template and stored file still sealed under an old master key (VISAGE_OLD_MASTER_KEYS) with the current one. Safe to interrupt and repeat; when it reports nothing left under old keys, drop them.")
	if err := e.parse(args); err != nil {
		return err
	}
	if err := e.open(ctx); err != nil {
		return err
	}
	defer e.close()
	rep, err := app.Rekey(ctx, &e.cfg, e.st, e.tenant, func(line string) { fmt.Fprintln(os.Stderr, "rekey: "+line) })
	if err != nil {
		return err
	}
	if e.json {
		return emit(rep, false)
	}
	fmt.Printf("Current key %s: %d integrations, %d of %d templates and %d of %d files re-sealed; %d files still under old keys.\n",
		rep.CurrentKey, rep.Integrations, rep.Templates, rep.TemplatesSeen, rep.Blobs, rep.BlobsSeen, rep.RemainingFiles)
	if rep.RemainingFiles == 0 {
		fmt.Println("Nothing is sealed under an old key any more: the old keys can be removed from VISAGE_OLD_MASTER_KEYS.")
	}
	return nil
}
