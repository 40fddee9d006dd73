package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/visagehq/visage/internal/actor"
	"github.com/visagehq/visage/internal/app"
	"github.com/visagehq/visage/internal/config"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/tenancy"
)

const adminUsage = `usage:
  visage admin integration create --name NAME [flags]
  visage admin integration list [flags]
  visage admin integration rotate-key --id INTEGRATION_ID [--revoke-old] [flags]
  visage admin integration set --id INTEGRATION_ID [--callback-url URL] [--theme-file FILE]
        [--required-challenges a,b] [--match-threshold N] [--liveness-threshold N] [--max-attempts N] [--retention-days N]
  visage admin integration keys INTEGRATION_ID [--rotate] [flags]
  visage admin key create --integration INTEGRATION_ID --scope verify|enrol|admin [--label TEXT] [flags]
  visage admin key list --integration INTEGRATION_ID [flags]
  visage admin key revoke --id KEY_ID --integration INTEGRATION_ID [flags]
  visage admin audit list --integration INTEGRATION_ID [--limit N] [flags]
  visage admin rekey [flags]

Every command takes the server's database and master-key flags (and their
VISAGE_* variables), --json for machine-readable output, and --create to
create the database and master key file when they do not exist yet (without
it the command refuses to start an empty deployment). Run
` + "`visage admin integration create -h`" + ` (etc.) for a command's flags`

const secretsWarning = "These secrets are shown only once and cannot be retrieved later: store them now."

// runMigrate applies pending migrations (or, with --status, only reports)
// and prints the schema version before and after.
func runMigrate(ctx context.Context, args []string) error {
	fs := newFlagSet("migrate", "migrate [--status] [--json] [flags]",
		"Create the database if need be, apply pending schema migrations and print the schema version before and after.")
	var cfg config.Server
	config.RegisterDatabase(fs.FlagSet, &cfg.Store)
	status := fs.Bool("status", false, "only report the schema version; apply nothing")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return errors.New("usage: visage " + fs.usage)
	}
	type report struct {
		Database string `json:"database"`
		Before   int64  `json:"before"`
		Current  int64  `json:"current"`
		Latest   int64  `json:"latest"`
		Applied  bool   `json:"applied"`
	}
	rep := report{Database: app.RedactURL(app.DatabaseURL(&cfg))}

	// Read the version before migrating, so the output says what changed.
	if cfg.DatabaseURL == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
	}
	st, err := store.Open(ctx, app.DatabaseURL(&cfg))
	if err != nil {
		return err
	}
	rep.Before, rep.Latest, err = st.SchemaVersion(ctx)
	st.Close()
	if err != nil {
		return err
	}
	rep.Current = rep.Before
	if !*status {
		st, err := app.OpenStore(ctx, &cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		if rep.Current, rep.Latest, err = st.SchemaVersion(ctx); err != nil {
			return err
		}
		rep.Applied = rep.Current != rep.Before
	}
	if *asJSON {
		return emit(rep, false)
	}
	fmt.Printf("database: %s\n", rep.Database)
	switch {
	case rep.Applied:
		fmt.Printf("schema migrated from version %d to %d (latest %d)\n", rep.Before, rep.Current, rep.Latest)
	case rep.Current < rep.Latest:
		fmt.Printf("schema version %d, latest %d: run `visage migrate` to apply %d migration(s)\n",
			rep.Current, rep.Latest, rep.Latest-rep.Current)
	default:
		fmt.Printf("schema version %d is up to date (latest %d)\n", rep.Current, rep.Latest)
	}
	return nil
}

func runAdmin(ctx context.Context, args []string) error {
	if err := helpFor(args, adminUsage); err != nil {
		return err
	}
	if len(args) == 2 {
		// `visage admin integration -h`
		if err := helpFor(args[1:], adminUsage); err != nil {
			return err
		}
	}
	if len(args) >= 1 && args[0] == "rekey" {
		return adminRekey(actor.With(ctx, cliActor()), "admin rekey", args[1:])
	}
	if len(args) < 2 {
		return errors.New(adminUsage)
	}
	var run func(context.Context, string, []string) error
	switch args[0] + " " + args[1] {
	case "integration create":
		run = adminCreate
	case "integration list":
		run = adminListIntegrations
	case "integration rotate-key":
		run = adminRotateKey
	case "integration set":
		run = adminSet
	case "integration keys":
		run = adminKeys
	case "key create":
		run = adminCreateKey
	case "key list":
		run = adminListKeys
	case "key revoke":
		run = adminRevokeKey
	case "audit list":
		run = adminAudit
	default:
		return fmt.Errorf("unknown admin command %q\n%s", args[0]+" "+args[1], adminUsage)
	}
	return run(actor.With(ctx, cliActor()), "admin "+args[0]+" "+args[1], args[2:])
}

// cliActor is who an admin command acts as in the audit log: the
// operator at this machine, named by login and host.
func cliActor() actor.Actor {
	who := os.Getenv("USER")
	if who == "" {
		who = "unknown"
	}
	host, _ := os.Hostname()
	return actor.Actor{ID: "operator:cli", Remote: who + "@" + host}
}

// adminEnv holds what every admin command opens.
type adminEnv struct {
	cfg    config.Server
	json   bool
	create bool
	fs     *flagSet
	st     store.Store
	tenant *tenancy.Service
}

// newAdminEnv registers what every admin command takes: the database,
// the master keys, --json and --create.
func newAdminEnv(name, usage, about string) *adminEnv {
	e := &adminEnv{fs: newFlagSet(name, usage, about)}
	config.RegisterStore(e.fs.FlagSet, &e.cfg.Store)
	e.fs.BoolVar(&e.json, "json", false, "print JSON")
	e.fs.BoolVar(&e.create, "create", false, "create the database (and the master key file) if they do not exist yet; without it the command refuses to work on a database that is not there")
	return e
}

// parse parses the flags and checks that the required ones (by name) are
// set, before anything is opened or created.
func (e *adminEnv) parse(args []string, required ...string) error {
	pos, err := e.fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("unexpected argument %q\nusage: visage %s", pos[0], e.fs.usage)
	}
	for _, name := range required {
		if strings.TrimSpace(e.fs.Lookup(name).Value.String()) == "" {
			return fmt.Errorf("--%s is required\nusage: visage %s", name, e.fs.usage)
		}
	}
	return nil
}

// open opens (and migrates) the store and loads the master keyring. Both
// must already exist unless --create was given: an admin command pointed
// at the wrong place must not start a second, empty deployment there.
func (e *adminEnv) open(ctx context.Context) error {
	err := app.CheckKeys(&e.cfg)
	if err != nil {
		return err
	}
	if e.create {
		e.st, err = app.OpenStore(ctx, &e.cfg)
	} else {
		e.st, err = app.OpenExistingStore(ctx, &e.cfg)
		if err == nil {
			err = app.RequireMasterKey(&e.cfg)
		}
	}
	if err == nil {
		e.tenant, err = app.Tenancy(&e.cfg, e.st, slog.Default())
	}
	if err != nil {
		e.close()
	}
	return err
}

func (e *adminEnv) close() {
	if e.st != nil {
		e.st.Close()
	}
}

func adminCreate(ctx context.Context, name string, args []string) error {
	e := newAdminEnv(name, "admin integration create --name NAME [--json] [flags]",
		"Create an integration (a tenant) and print its first API key and webhook secret (once) and its encryptedData key pair.")
	config.RegisterAddress(e.fs.FlagSet, &e.cfg)
	intName := e.fs.String("name", "", "integration `NAME` (required)")
	if err := e.parse(args, "name"); err != nil {
		return err
	}
	if err := e.open(ctx); err != nil {
		return err
	}
	defer e.close()
	c, err := e.tenant.CreateIntegration(ctx, *intName)
	if err != nil {
		return err
	}
	if e.json {
		fmt.Fprintln(os.Stderr, "visage: "+secretsWarning)
		return emit(struct {
			Integration   integrationJSON `json:"integration"`
			APIKey        newKeyJSON      `json:"apiKey"`
			PublicKey     string          `json:"publicKey"`
			PrivateKey    string          `json:"privateKey"`
			WebhookSecret string          `json:"webhookSecret"`
		}{toIntegrationJSON(c.Integration, 1, 1), toNewKeyJSON(&c.Key), c.Integration.PublicKey, c.PrivateKey, c.WebhookSecret}, false)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "Created integration %q.\n\n", c.Integration.Name)
	fmt.Fprintf(w, "  integration id:\t%s\n", c.Integration.ID)
	fmt.Fprintf(w, "  publicKey:\t%s\n", c.Integration.PublicKey)
	fmt.Fprintf(w, "  privateKey:\t%s\n", c.PrivateKey)
	fmt.Fprintf(w, "  API key id:\t%s\n", c.Key.KeyID)
	fmt.Fprintf(w, "  API secret:\t%s\n", c.Key.Secret)
	fmt.Fprintf(w, "  x-api-key token:\t%s\n", c.Key.Token)
	fmt.Fprintf(w, "  webhook secret:\t%s\n", c.WebhookSecret)
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Printf("\n%s (publicKey and privateKey can be read again: visage admin integration keys %s)\n\nCall the API with the token in the x-api-key header:\n\n  %s\n",
		secretsWarning, c.Integration.ID, curlExample(e.cfg.PublicURL, e.cfg.Listen, c.Key.Token))
	return nil
}

func adminListIntegrations(ctx context.Context, name string, args []string) error {
	e := newAdminEnv(name, "admin integration list [--json] [flags]", "List the integrations with their key counts and policy.")
	if err := e.parse(args); err != nil {
		return err
	}
	if err := e.open(ctx); err != nil {
		return err
	}
	defer e.close()
	ins, err := e.tenant.ListIntegrations(ctx)
	if err != nil {
		return err
	}
	out := make([]integrationJSON, 0, len(ins))
	for i := range ins {
		keys, err := e.tenant.ListKeys(ctx, ins[i].ID)
		if err != nil {
			return err
		}
		active := 0
		for _, k := range keys {
			if k.RevokedAt == nil {
				active++
			}
		}
		out = append(out, toIntegrationJSON(&ins[i], active, len(keys)))
	}
	if e.json {
		return emit(out, false)
	}
	if len(out) == 0 {
		fmt.Println("No integrations yet; create one with `visage admin integration create --name NAME`.")
		return nil
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tPUBLIC KEY\tKEYS (ACTIVE/ALL)\tMATCH\tRETENTION\tCREATED (UTC)")
	for _, in := range out {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d/%d\t%g\t%s\t%s\n", in.ID, in.Name, in.PublicKey, in.ActiveKeys, in.Keys,
			in.Policy.MatchThreshold, retention(in.Policy.RetentionDays), in.CreatedAt.Format(time.DateTime))
	}
	return w.Flush()
}

func adminRotateKey(ctx context.Context, name string, args []string) error {
	e := newAdminEnv(name, "admin integration rotate-key --id INTEGRATION_ID [--revoke-old] [--json] [flags]",
		"Issue a new API key for an integration; older keys stay valid unless --revoke-old.")
	id := e.fs.String("id", "", "integration id (required)")
	revokeOld := e.fs.Bool("revoke-old", false, "revoke every other key of the integration at once (a secret leaked)")
	if err := e.parse(args, "id"); err != nil {
		return err
	}
	if err := e.open(ctx); err != nil {
		return err
	}
	defer e.close()
	k, err := e.tenant.RotateKey(ctx, *id, *revokeOld)
	if err != nil {
		return notFound(err, "no integration "+*id)
	}
	if e.json {
		fmt.Fprintln(os.Stderr, "visage: "+secretsWarning)
		return emit(toNewKeyJSON(k), false)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "New API key for %s.\n\n", k.IntegrationID)
	fmt.Fprintf(w, "  API key id:\t%s\n", k.KeyID)
	fmt.Fprintf(w, "  API secret:\t%s\n", k.Secret)
	fmt.Fprintf(w, "  x-api-key token:\t%s\n", k.Token)
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Printf("\n%s\n\n", secretsWarning)
	if len(k.Revoked) > 0 {
		fmt.Printf("Revoked %d older key(s): %s\n", len(k.Revoked), strings.Join(k.Revoked, ", "))
	} else {
		fmt.Printf("Older keys stay valid; revoke them once clients have switched:\n  visage admin key revoke --integration %s --id KEY_ID\n", k.IntegrationID)
	}
	return nil
}

func adminCreateKey(ctx context.Context, name string, args []string) error {
	e := newAdminEnv(name, "admin key create --integration INTEGRATION_ID --scope verify|enrol|admin [--label TEXT] [--json] [flags]",
		"Issue an extra API key limited to a scope: verify (verify, search, compare, read), enrol (also enrol, capture, cases, delete) or admin (also policy, webhooks, unlocks, reviews).")
	integration := e.fs.String("integration", "", "integration id (required)")
	scope := e.fs.String("scope", "", "verify, enrol or admin (required)")
	label := e.fs.String("label", "", "what the key is for, e.g. \"login service\"")
	if err := e.parse(args, "integration", "scope"); err != nil {
		return err
	}
	if err := e.open(ctx); err != nil {
		return err
	}
	defer e.close()
	k, err := e.tenant.CreateKey(ctx, *integration, *label, *scope)
	if err != nil {
		return notFound(err, "no integration "+*integration)
	}
	if e.json {
		fmt.Fprintln(os.Stderr, "visage: "+secretsWarning)
		return emit(toNewKeyJSON(k), false)
	}
	fmt.Printf("New %s-scoped API key for %s.\n\n  API key id:        %s\n  x-api-key token:   %s\n\n%s\n", k.Scope, k.IntegrationID, k.KeyID, k.Token, secretsWarning)
	return nil
}

func adminListKeys(ctx context.Context, name string, args []string) error {
	e := newAdminEnv(name, "admin key list --integration INTEGRATION_ID [--json] [flags]", "List an integration's API keys (never their secrets).")
	integration := e.fs.String("integration", "", "integration id (required)")
	if err := e.parse(args, "integration"); err != nil {
		return err
	}
	if err := e.open(ctx); err != nil {
		return err
	}
	defer e.close()
	keys, err := e.tenant.ListKeys(ctx, *integration)
	if err != nil {
		return notFound(err, "no integration "+*integration)
	}
	out := make([]keyJSON, 0, len(keys))
	for _, k := range keys {
		out = append(out, keyJSON{ID: k.ID, IntegrationID: k.IntegrationID, Label: k.Label, Scope: k.Scope,
			CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt})
	}
	if e.json {
		return emit(out, false)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "KEY ID\tLABEL\tSCOPE\tCREATED (UTC)\tLAST USED\tREVOKED")
	for _, k := range out {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Label, k.Scope, k.CreatedAt.Format(time.DateTime),
			optTime(k.LastUsedAt, "never"), optTime(k.RevokedAt, "-"))
	}
	return w.Flush()
}

func adminRevokeKey(ctx context.Context, name string, args []string) error {
	e := newAdminEnv(name, "admin key revoke --id KEY_ID --integration INTEGRATION_ID [--json] [flags]",
		"Revoke an API key; requests and tokens using it are refused from then on.")
	id := e.fs.String("id", "", "API key id (required)")
	integration := e.fs.String("integration", "", "integration id the key belongs to (required)")
	if err := e.parse(args, "id", "integration"); err != nil {
		return err
	}
	if err := e.open(ctx); err != nil {
		return err
	}
	defer e.close()
	if err := e.tenant.RevokeKey(ctx, *integration, *id); err != nil {
		return notFound(err, fmt.Sprintf("integration %s has no key %s", *integration, *id))
	}
	if e.json {
		return emit(map[string]any{"integrationId": *integration, "keyId": *id, "revoked": true}, false)
	}
	fmt.Printf("Revoked key %s of %s; requests and tokens using it are refused from now on.\n", *id, *integration)
	return nil
}

type policyJSON struct {
	MatchThreshold     float64  `json:"matchThreshold"`
	LivenessThreshold  float64  `json:"livenessThreshold"`
	MaxAttempts        int      `json:"maxAttempts"`
	RetentionDays      int      `json:"retentionDays"`
	RequiredChallenges []string `json:"requiredChallenges"`
}

type integrationJSON struct {
	ID                  string              `json:"id"`
	Name                string              `json:"name"`
	PublicKey           string              `json:"publicKey"`
	CreatedAt           time.Time           `json:"createdAt"`
	Policy              policyJSON          `json:"policy"`
	WebhookURLs         map[string][]string `json:"webhookUrls"`
	CallbackURLTemplate string              `json:"callbackUrlTemplate"`
	ActiveKeys          int                 `json:"activeKeys"`
	Keys                int                 `json:"keys"`
}

func toIntegrationJSON(in *store.Integration, active, all int) integrationJSON {
	p := in.Policy
	ch := p.RequiredChallenges
	if ch == nil {
		ch = []string{}
	}
	hooks := in.WebhookURLs
	if hooks == nil {
		hooks = map[string][]string{}
	}
	return integrationJSON{
		ID: in.ID, Name: in.Name, PublicKey: in.PublicKey, CreatedAt: in.CreatedAt,
		Policy:      policyJSON{p.MatchThreshold, p.LivenessThreshold, p.MaxAttempts, p.RetentionDays, ch},
		WebhookURLs: hooks, CallbackURLTemplate: in.CallbackURLTemplate, ActiveKeys: active, Keys: all,
	}
}

type newKeyJSON struct {
	IntegrationID string    `json:"integrationId"`
	KeyID         string    `json:"keyId"`
	Secret        string    `json:"secret"`
	Token         string    `json:"token"`
	Scope         string    `json:"scope"`
	CreatedAt     time.Time `json:"createdAt"`
	Revoked       []string  `json:"revokedKeyIds,omitempty"`
}

func toNewKeyJSON(k *tenancy.NewKey) newKeyJSON {
	return newKeyJSON{k.IntegrationID, k.KeyID, k.Secret, k.Token, k.Scope, k.CreatedAt, k.Revoked}
}

type keyJSON struct {
	ID            string     `json:"id"`
	IntegrationID string     `json:"integrationId"`
	Label         string     `json:"label"`
	Scope         string     `json:"scope"`
	CreatedAt     time.Time  `json:"createdAt"`
	LastUsedAt    *time.Time `json:"lastUsedAt"`
	RevokedAt     *time.Time `json:"revokedAt"`
}

// notFound replaces a store.ErrNotFound chain with a plain message.
func notFound(err error, msg string) error {
	if errors.Is(err, store.ErrNotFound) {
		return errors.New(msg)
	}
	return err
}

func optTime(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.Format(time.DateTime)
}

func retention(days int) string {
	if days == 0 {
		return "forever"
	}
	return fmt.Sprintf("%dd", days)
}

// curlExample shows how to call the server: at its public URL if one is
// set, else at its listen address, where a wildcard host (":8080",
// "0.0.0.0:8080") is reached through localhost.
func curlExample(publicURL, listen, token string) string {
	if publicURL != "" {
		return fmt.Sprintf("curl -H \"x-api-key: %s\" %s/v1/faces", token, strings.TrimRight(publicURL, "/"))
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		host, port = listen, ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	addr := host
	if port != "" {
		addr = net.JoinHostPort(host, port)
	}
	return fmt.Sprintf("curl -H \"x-api-key: %s\" http://%s/v1/faces", token, addr)
}

// redactURL hides a database password before printing the URL.
