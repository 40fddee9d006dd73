package api

import "testing"

func TestRedactPath(t *testing.T) {
	for in, want := range map[string]string{
		"/capture/cap_0123456789abcdef0123456789abcdef/frame": "/capture/cap_01234567…/frame",
		"/v1/faces/alice": "/v1/faces/alice",
	} {
		if got := redactPath(in); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}
