package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/visagehq/visage/internal/tenancy"
)

// adminSet changes an integration's settings: the operator's twin of
// PATCH /v1/integration. Only the flags given change anything.
func adminSet(ctx context.Context, name string, args []string) error {
	e := newAdminEnv(name, "admin integration set --id INTEGRATION_ID [--callback-url URL] [--theme-file FILE] [--required-challenges a,b] [--match-threshold N] [--liveness-threshold N] [--max-attempts N] [--retention-days N] [flags]",
		"Change an integration's settings, as PATCH /v1/integration does; only the flags given change anything.")
	id := e.fs.String("id", "", "integration id (required)")
	callback := e.fs.String("callback-url", "", "callback `URL` template with [user_id], [status], [email]; \"none\" clears it")
	themeFile := e.fs.String("theme-file", "", "JSON `FILE` with the hosted page theme (name, logo_url, primary_color, background, text_color, texts)")
	challenges := e.fs.String("required-challenges", "", "comma-separated `CHALLENGES`: smile, blink, turn_left, turn_right")
	match := e.fs.Float64("match-threshold", 0, "0–100 similarity a match must reach")
	live := e.fs.Float64("liveness-threshold", 0, "0–1 passive liveness a live face must reach")
	attempts := e.fs.Int("max-attempts", 0, "1–5 attempts per verification")
	retentionDays := e.fs.Int("retention-days", -1, "days biometric data is kept; 0 = no automatic deletion, -1 leaves it unchanged")
	if err := e.parse(args, "id"); err != nil {
		return err
	}
	s, err := settingsFromFlags(e.fs.FlagSet, *callback, *themeFile, *challenges, *match, *live, *attempts, *retentionDays)
	if err != nil {
		return err
	}
	if err := e.open(ctx); err != nil {
		return err
	}
	defer e.close()
	in, err := e.tenant.UpdateSettings(ctx, *id, s)
	if err != nil {
		return notFound(err, "no integration "+*id)
	}
	if e.json {
		return emit(toIntegrationJSON(in, 0, 0), false)
	}
	p := in.Policy
	fmt.Printf("Updated %s (%s): match %.0f, liveness %.2f, attempts %d, retention %s, challenges %s, callback %q\n",
		in.ID, in.Name, p.MatchThreshold, p.LivenessThreshold, p.MaxAttempts, retention(p.RetentionDays),
		orAll(p.RequiredChallenges), in.CallbackURLTemplate)
	return nil
}

// settingsFromFlags keeps only the flags the operator set.
func settingsFromFlags(fs *flag.FlagSet, callback, themeFile, challenges string, match, live float64, attempts, retention int) (tenancy.Settings, error) {
	var s tenancy.Settings
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["callback-url"] {
		if callback == "none" {
			callback = ""
		}
		s.CallbackURLTemplate = &callback
	}
	if set["theme-file"] {
		b, err := os.ReadFile(themeFile)
		if err != nil {
			return s, err
		}
		raw := json.RawMessage(b)
		s.Theme = &raw
	}
	if set["required-challenges"] {
		list := []string{}
		for _, c := range strings.Split(challenges, ",") {
			if c = strings.TrimSpace(c); c != "" {
				list = append(list, c)
			}
		}
		s.RequiredChallenges = &list
	}
	if set["match-threshold"] {
		s.MatchThreshold = &match
	}
	if set["liveness-threshold"] {
		s.LivenessThreshold = &live
	}
	if set["max-attempts"] {
		s.MaxAttempts = &attempts
	}
	if set["retention-days"] {
		s.RetentionDays = &retention
	}
	return s, nil
}

func orAll(cs []string) string {
	if len(cs) == 0 {
		return "all four"
	}
	return strings.Join(cs, ",")
}
