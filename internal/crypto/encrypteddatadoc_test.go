package crypto

import (
	"strings"
	"testing"
)

// The document shows the client code these tests run; keep them one text.
func TestDocumentShowsTestedClients(t *testing.T) {
	doc := readTestdata(t, "../../docs", "encrypted-data.md")
	for _, f := range []string{"legacy.js", "v2.js", "LegacyClient.java", "V2Client.java"} {
		if !strings.Contains(doc, readTestdata(t, clientsDir, f)) {
			t.Errorf("docs/encrypted-data.md does not show %s/%s verbatim", clientsDir, f)
		}
	}
}
