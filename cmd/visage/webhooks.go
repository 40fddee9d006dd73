package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/visagehq/visage/internal/actor"
	"github.com/visagehq/visage/internal/api"
	"github.com/visagehq/visage/internal/config"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/webhook"
)

const webhooksUsage = `usage:
  visage webhooks urls --integration ID
  visage webhooks set --integration ID --event EVENT [--url URL ...]   (no --url: remove the event)
  visage webhooks set --integration ID --urls '{"*": ["https://…"], "images_stored": [...]}'
  visage webhooks ping --integration ID
  visage webhooks deliveries --integration ID [--status pending|delivering|delivered|failed] [--limit N] [--cursor C]
  visage webhooks show --integration ID --id DELIVERY_ID
  visage webhooks redeliver --integration ID --id DELIVERY_ID
  visage webhooks rotate-secret --integration ID [--overlap 24h]
  visage webhooks grant --integration ID --cidr PREFIX [--note TEXT]
  visage webhooks revoke --integration ID --cidr PREFIX
  visage webhooks grants --integration ID

Every command takes the server's database and master-key flags (and their
VISAGE_* variables), --json and --create (see visage admin -h). Deliveries
enqueued here are sent by the running server's worker within its poll
interval (VISAGE_WEBHOOK_POLL). Run ` + "`visage webhooks set -h`" + ` (etc.) for a command's flags`

// webhooksCmds are the webhooks subcommands: how each runs and its usage.
var webhooksCmds = map[string]struct {
	run          func(context.Context, *hooksEnv) error
	usage, about string
}{
	"urls": {webhooksURLs, "webhooks urls --integration ID [flags]", "Print an integration's webhook URLs by event."},
	"set": {webhooksSet, "webhooks set --integration ID (--event EVENT [--url URL]… | --urls JSON) [flags]",
		"Replace the URLs of one event (no --url removes it), or the whole configuration with --urls '{\"*\": [\"https://…\"]}'."},
	"ping": {webhooksPing, "webhooks ping --integration ID [flags]", "Enqueue a ping event to every configured URL; the running server sends it."},
	"deliveries": {webhooksDeliveries, "webhooks deliveries --integration ID [--status S] [--limit N] [--cursor C] [flags]",
		"List an integration's webhook deliveries, newest first."},
	"show":      {webhooksShow, "webhooks show --integration ID --id DELIVERY_ID [flags]", "Print one delivery with its payload and every attempt."},
	"redeliver": {webhooksRedeliver, "webhooks redeliver --integration ID --id DELIVERY_ID [flags]", "Send a delivery again: it is pending until the running server picks it up."},
	"rotate-secret": {webhooksRotateSecret, "webhooks rotate-secret --integration ID [--overlap 24h] [flags]",
		"Give the integration a new webhook signing secret, printed once; the old one keeps signing deliveries for --overlap (0: stops at once)."},
	"grant": {webhooksGrant, "webhooks grant --integration ID --cidr PREFIX [--note TEXT] [flags]",
		"Let the integration's webhooks reach a private or internal range (CIDR or one address) inside VISAGE_WEBHOOK_ALLOW_CIDRS."},
	"revoke": {webhooksRevoke, "webhooks revoke --integration ID --cidr PREFIX [flags]", "Withdraw a range granted to the integration."},
	"grants": {webhooksGrants, "webhooks grants --integration ID [flags]", "List the private or internal ranges granted to the integration."},
}

// runWebhooks manages an integration's webhooks from the command line,
// through the same service as the /v1/webhooks API.
func runWebhooks(ctx context.Context, args []string) error {
	if err := helpFor(args, webhooksUsage); err != nil {
		return err
	}
	if len(args) < 1 {
		return errors.New(webhooksUsage)
	}
	c, ok := webhooksCmds[args[0]]
	if !ok {
		return fmt.Errorf("unknown webhooks command %q\n%s", args[0], webhooksUsage)
	}
	e := &hooksEnv{adminEnv: newAdminEnv("webhooks "+args[0], c.usage, c.about), args: args[1:]}
	config.RegisterWebhookGuard(e.fs.FlagSet, &e.cfg)
	e.fs.StringVar(&e.integration, "integration", "", "integration `ID` (required)")
	return c.run(actor.With(ctx, cliActor()), e)
}

// hooksEnv is adminEnv plus the webhook service.
type hooksEnv struct {
	*adminEnv
	args        []string // the subcommand's flags
	integration string
	svc         *webhook.Service
}

// start parses the flags and opens the store and service.
func (e *hooksEnv) start(ctx context.Context, required ...string) error {
	if err := e.parse(e.args, append([]string{"integration"}, required...)...); err != nil {
		return err
	}
	g, err := webhook.NewGuard(e.cfg.WebhookAllowPrivate, e.cfg.WebhookAllowCIDRs)
	if err != nil {
		return err
	}
	if err := e.open(ctx); err != nil {
		return err
	}
	// No worker in this process: the server's picks the deliveries up.
	e.svc = webhook.NewService(e.st, g, nil, webhook.WithSealer(e.tenant.SealWebhookSecret))
	return nil
}

func webhooksURLs(ctx context.Context, e *hooksEnv) error {
	if err := e.start(ctx); err != nil {
		return err
	}
	defer e.close()
	urls, err := e.svc.URLs(ctx, e.integration)
	if err != nil {
		return notFound(err, "no integration "+e.integration)
	}
	return printURLs(e, urls)
}

func printURLs(e *hooksEnv, urls map[string][]string) error {
	if e.json {
		return emit(map[string]any{"urls": urls}, false)
	}
	if len(urls) == 0 {
		fmt.Printf("No webhook URLs for %s; add one with `visage webhooks set --integration %s --event '*' --url https://…`.\n",
			e.integration, e.integration)
		return nil
	}
	events := make([]string, 0, len(urls))
	for ev := range urls {
		events = append(events, ev)
	}
	sort.Strings(events)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "EVENT\tURL")
	for _, ev := range events {
		for _, u := range urls[ev] {
			fmt.Fprintf(w, "%s\t%s\n", ev, u)
		}
	}
	return w.Flush()
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func webhooksSet(ctx context.Context, e *hooksEnv) error {
	event := e.fs.String("event", "", `event whose URLs --url replaces ("*" for every event)`)
	var urls multiFlag
	e.fs.Var(&urls, "url", "destination URL (repeatable); none removes the event")
	all := e.fs.String("urls", "", "replace the whole configuration with this `JSON` object of event → URLs")
	if err := e.start(ctx); err != nil {
		return err
	}
	defer e.close()
	var next map[string][]string
	switch {
	case *all != "" && (*event != "" || len(urls) > 0):
		return errors.New("give either --urls or --event/--url, not both")
	case *all != "":
		if err := json.Unmarshal([]byte(*all), &next); err != nil {
			return fmt.Errorf("--urls is not a JSON object of event → URL list: %w", err)
		}
	case *event != "":
		cur, err := e.svc.URLs(ctx, e.integration)
		if err != nil {
			return notFound(err, "no integration "+e.integration)
		}
		next = cur
		if len(urls) == 0 {
			delete(next, *event)
		} else {
			next[*event] = urls
		}
	default:
		return errors.New("--event (with --url) or --urls is required\n" + webhooksUsage)
	}
	stored, err := e.svc.SetURLs(ctx, e.integration, next)
	if err != nil {
		return notFound(err, "no integration "+e.integration)
	}
	return printURLs(e, stored)
}

func webhooksPing(ctx context.Context, e *hooksEnv) error {
	if err := e.start(ctx); err != nil {
		return err
	}
	defer e.close()
	ids, err := e.svc.Ping(ctx, e.integration)
	if err != nil {
		return notFound(err, "no integration "+e.integration)
	}
	if e.json {
		return emit(map[string]any{"event": webhook.EventPing, "delivery_ids": ids}, false)
	}
	fmt.Printf("Enqueued ping: %s\nThe running server sends it within its poll interval; follow it with `visage webhooks show --integration %s --id ID`.\n",
		strings.Join(ids, ", "), e.integration)
	return nil
}

func webhooksDeliveries(ctx context.Context, e *hooksEnv) error {
	status := e.fs.String("status", "", "only deliveries in this status: pending, delivering, delivered or failed")
	limit := e.fs.Int("limit", 50, "deliveries per page")
	cursor := e.fs.String("cursor", "", "next_cursor of the previous page")
	if err := e.start(ctx); err != nil {
		return err
	}
	defer e.close()
	list, err := e.svc.Deliveries(ctx, e.integration, *status, *cursor, *limit)
	if err != nil {
		return err
	}
	if e.json {
		return emit(api.DeliveryListOf(list), false)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tEVENT\tSTATUS\tATTEMPTS\tLAST\tCREATED (UTC)\tURL")
	for _, d := range list.Deliveries {
		last := d.LastError
		if last == "" && d.LastResponseStatus != 0 {
			last = fmt.Sprintf("HTTP %d", d.LastResponseStatus)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.ID, d.Event, d.Status, d.TotalAttempts,
			orDash(last), d.CreatedAt.Format(time.DateTime), d.URL)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if list.Next != "" {
		fmt.Printf("\nMore: --cursor %s\n", list.Next)
	}
	return nil
}

func webhooksShow(ctx context.Context, e *hooksEnv) error {
	id := e.fs.String("id", "", "delivery id (required)")
	if err := e.start(ctx, "id"); err != nil {
		return err
	}
	defer e.close()
	d, err := e.svc.Delivery(ctx, e.integration, *id)
	if err != nil {
		return notFound(err, fmt.Sprintf("integration %s has no delivery %s", e.integration, *id))
	}
	if e.json {
		return emit(api.DeliveryDetailOf(d), false)
	}
	fmt.Printf("delivery %s: %s to %s\nstatus %s after %d attempt(s)", d.ID, d.Event, d.URL, d.Status, d.TotalAttempts)
	if d.NextAttemptAt != nil {
		fmt.Printf(", next at %s", d.NextAttemptAt.Format(time.DateTime))
	}
	fmt.Printf("\npayload: %s\n", d.Payload)
	for _, a := range d.AttemptLog {
		fmt.Printf("\nattempt %d at %s, %d ms: ", a.Number, a.At.Format(time.DateTime), a.LatencyMS)
		if a.ResponseStatus != 0 {
			fmt.Printf("HTTP %d", a.ResponseStatus)
		}
		if a.Error != "" {
			fmt.Printf(" %s", a.Error)
		}
		fmt.Println()
		if a.ResponseBody != "" {
			fmt.Printf("  response: %s\n", a.ResponseBody)
		}
	}
	return nil
}

func webhooksRedeliver(ctx context.Context, e *hooksEnv) error {
	id := e.fs.String("id", "", "delivery id (required)")
	if err := e.start(ctx, "id"); err != nil {
		return err
	}
	defer e.close()
	d, err := e.svc.Redeliver(ctx, e.integration, *id)
	switch {
	case errors.Is(err, store.ErrConflict):
		return fmt.Errorf("delivery %s is being sent right now; redeliver it once this attempt has finished", *id)
	case err != nil:
		return notFound(err, fmt.Sprintf("integration %s has no delivery %s", e.integration, *id))
	}
	if e.json {
		return emit(api.DeliveryOf(*d), false)
	}
	fmt.Printf("Delivery %s is pending again; the running server sends it within its poll interval.\n", d.ID)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func webhooksRotateSecret(ctx context.Context, e *hooksEnv) error {
	overlap := e.fs.Duration("overlap", webhook.DefaultSecretOverlap, "how long the old secret keeps signing deliveries (0 to 168h; 0: stops at once, for a leaked secret)")
	if err := e.start(ctx); err != nil {
		return err
	}
	defer e.close()
	rot, err := e.svc.RotateSecret(ctx, e.integration, *overlap)
	if err != nil {
		return notFound(err, "no integration "+e.integration)
	}
	if e.json {
		return emit(map[string]any{"secret": rot.Secret, "rotated_at": rot.RotatedAt,
			"previous_valid_until": rot.PreviousValidUntil, "overlap_seconds": int64(*overlap / time.Second)}, false)
	}
	fmt.Printf("New webhook secret of %s (shown once):\n  %s\n", e.integration, rot.Secret)
	if rot.PreviousValidUntil != nil {
		fmt.Printf("The old secret keeps signing deliveries until %s UTC: deploy the new one to your receivers before then.\n",
			rot.PreviousValidUntil.Format(time.DateTime))
	} else {
		fmt.Println("Every older secret stopped signing deliveries now.")
	}
	return nil
}

func webhooksGrant(ctx context.Context, e *hooksEnv) error {
	cidr := e.fs.String("cidr", "", "`PREFIX` to grant, e.g. 10.20.5.0/24 or one address (required)")
	note := e.fs.String("note", "", "why, for operators (not shown to the integration)")
	if err := e.start(ctx, "cidr"); err != nil {
		return err
	}
	defer e.close()
	g, err := e.svc.GrantPrefix(ctx, e.integration, *cidr, *note)
	if err != nil {
		return notFound(err, "no integration "+e.integration)
	}
	if e.json {
		return emit(map[string]any{"prefix": g.Prefix, "note": g.Note, "created_at": g.CreatedAt}, false)
	}
	fmt.Printf("Webhooks of %s may now reach %s.\n", e.integration, g.Prefix)
	return nil
}

func webhooksRevoke(ctx context.Context, e *hooksEnv) error {
	cidr := e.fs.String("cidr", "", "granted `PREFIX` to withdraw (required)")
	if err := e.start(ctx, "cidr"); err != nil {
		return err
	}
	defer e.close()
	if err := e.svc.RevokePrefix(ctx, e.integration, *cidr); err != nil {
		return err
	}
	if !e.json {
		fmt.Printf("Webhooks of %s may no longer reach %s.\n", e.integration, *cidr)
	}
	return nil
}

func webhooksGrants(ctx context.Context, e *hooksEnv) error {
	if err := e.start(ctx); err != nil {
		return err
	}
	defer e.close()
	gs, err := e.svc.Grants(ctx, e.integration)
	if err != nil {
		return notFound(err, "no integration "+e.integration)
	}
	if e.json {
		out := make([]map[string]any, 0, len(gs))
		for _, g := range gs {
			out = append(out, map[string]any{"prefix": g.Prefix, "note": g.Note, "created_at": g.CreatedAt})
		}
		return emit(map[string]any{"grants": out}, false)
	}
	if len(gs) == 0 {
		fmt.Printf("No ranges granted to %s: its webhooks reach public addresses only.\n", e.integration)
		return nil
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "PREFIX\tGRANTED (UTC)\tNOTE")
	for _, g := range gs {
		fmt.Fprintf(w, "%s\t%s\t%s\n", g.Prefix, g.CreatedAt.Format(time.DateTime), orDash(g.Note))
	}
	return w.Flush()
}
