package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/visagehq/visage/internal/store"
)

func TestUpdateSettings(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, "acme")
	ctx := context.Background()
	cb := "https://acme.test/back?u=[user_id]&s=[status]"
	theme := json.RawMessage(`{"name":"Acme","primary_color":"#123456"}`)
	ch := []string{"smile", "turn_left"}
	thr := 80.0
	in, err := f.svc.UpdateSettings(ctx, c.Integration.ID, Settings{CallbackURLTemplate: &cb, Theme: &theme, RequiredChallenges: &ch, MatchThreshold: &thr})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := f.st.GetIntegration(ctx, in.ID)
	if got.CallbackURLTemplate != cb || got.Policy.MatchThreshold != 80 || len(got.Policy.RequiredChallenges) != 2 || got.Policy.MaxAttempts != DefaultMaxAttempts {
		t.Fatalf("stored: %+v", got)
	}
	bad := []Settings{
		{CallbackURLTemplate: ptr("javascript:alert(1)")},
		{CallbackURLTemplate: ptr("/relative/[user_id]")},
		{RequiredChallenges: &[]string{"2fa-dance"}},
		{MatchThreshold: ptr(120.0)},
		{MaxAttempts: ptr(9)},
		{Theme: &json.RawMessage{'{'}},
		{Theme: ptr(json.RawMessage(`"just a string"`))},
	}
	for i, s := range bad {
		if _, err := f.svc.UpdateSettings(ctx, in.ID, s); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("bad settings %d accepted: %v", i, err)
		}
	}
	after, _ := f.st.GetIntegration(ctx, in.ID)
	if after.CallbackURLTemplate != cb || after.Policy.MatchThreshold != 80 {
		t.Fatalf("a refused update changed the integration: %+v", after)
	}
}

func ptr[T any](v T) *T { return &v }
