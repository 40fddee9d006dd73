package blob

import (
	"testing"
	"time"
)

func TestPlaintextFormatRoundTrip(t *testing.T) {
	m := storedMeta{ContentType: "video/mp4", Created: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)}
	h, err := encodeHeader(m)
	if err != nil {
		t.Fatal(err)
	}
	got, content, err := decodePlaintext(append(h, "body"...))
	if err != nil || got != m || string(content) != "body" {
		t.Fatalf("got %+v %q %v", got, content, err)
	}
}

// Authenticated data should always be well-formed, but a future format or a
// bug must produce an error, never a panic or a wrong split.
func TestDecodePlaintextRejectsMalformed(t *testing.T) {
	for _, p := range [][]byte{
		nil,
		{2},               // unknown version
		{1},               // no length
		{1, 0x80},         // unterminated varint
		{1, 10, '{', '}'}, // length past the end
		{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // huge length
		{1, 2, 'n', 'o'}, // not JSON
	} {
		if _, _, err := decodePlaintext(p); err == nil {
			t.Errorf("decodePlaintext(% x) succeeded", p)
		}
	}
}
