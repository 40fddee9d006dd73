package barcode

import "testing"

// NeedZXing skips a test in a build without zxing-cpp, saying so.
func NeedZXing(t testing.TB) {
	t.Helper()
	if !available {
		t.Skip("SKIPPED: built without zxing-cpp (-tags purego or CGO_ENABLED=0)")
	}
}
