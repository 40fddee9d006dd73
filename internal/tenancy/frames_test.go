package tenancy

import (
	"slices"
	"testing"
)

// Frame origins are exact https origins (http only on localhost),
// normalised and deduplicated; anything a CSP source list would read as
// more (a path, a wildcard, a quote, credentials) is refused.
func TestFrameOrigins(t *testing.T) {
	got, err := frameOrigins([]string{"https://App.Example.com", "https://app.example.com/", "http://localhost:3000", "http://127.0.0.1:8080"})
	if err != nil || !slices.Equal(got, []string{"https://app.example.com", "http://localhost:3000", "http://127.0.0.1:8080"}) {
		t.Fatalf("good origins: %v %v", got, err)
	}
	for _, bad := range []string{"http://app.example.com", "https://*.example.com", "https://a.example.com/path", "'self'",
		"https://user@a.example.com", "https://a.example.com?x=1", "javascript:alert(1)", "app.example.com", "https://a.example.com; script-src *"} {
		if _, err := frameOrigins([]string{bad}); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	many := make([]string, maxFrameOrigins+1)
	for i := range many {
		many[i] = "https://h" + string(rune('a'+i)) + ".example.com"
	}
	if _, err := frameOrigins(many); err == nil {
		t.Error("accepted more than the maximum")
	}
}
