package blob_test

import (
	"bytes"
	"context"
	"sort"
	"testing"

	"github.com/visagehq/visage/internal/blob"
	"github.com/visagehq/visage/internal/blob/blobtest"
	"github.com/visagehq/visage/internal/crypto"
)

func listKeys(t *testing.T, s *blob.FS, prefix string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := s.List(context.Background(), prefix, func(e blob.Entry) error {
		out[e.Key] = e.KeyID
		if e.Modified.IsZero() {
			t.Errorf("%s: no modification time", e.Key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// After a master-key rotation, Reseal moves every blob to the new key, so
// the old one can be dropped: a store holding only the new key reads all.
func TestFSListAndReseal(t *testing.T) {
	dir := t.TempDir()
	oldKey := crypto.Key{ID: "old", Secret: bytes.Repeat([]byte{1}, 32)}
	s := newFS(t, dir, testKeyring(t, "old", 1))
	for _, k := range []string{"int_1/faces/f1/img1", "int_1/faces/f2/img2", "int_2/faces/f3/img3", "int_1/verifications/v1/doc"} {
		put(t, s, k, "content of "+k)
	}
	all := listKeys(t, s, "")
	if len(all) != 4 || all["int_2/faces/f3/img3"] != "old" {
		t.Fatalf("list all: %v", all)
	}
	faces := listKeys(t, s, "int_1/faces/")
	keys := make([]string, 0, len(faces))
	for k := range faces {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) != 2 || keys[0] != "int_1/faces/f1/img1" || keys[1] != "int_1/faces/f2/img2" {
		t.Fatalf("list int_1/faces/: %v", keys)
	}

	rotated := newFS(t, dir, testKeyring(t, "new", 2, oldKey))
	for k := range all {
		changed, err := rotated.Reseal(context.Background(), k)
		if err != nil || !changed {
			t.Fatalf("reseal %s: %v %v", k, changed, err)
		}
		if again, err := rotated.Reseal(context.Background(), k); err != nil || again {
			t.Fatalf("second reseal of %s rewrote it: %v", k, err)
		}
	}
	for k, id := range listKeys(t, rotated, "") {
		if id != "new" {
			t.Fatalf("%s still under key %q", k, id)
		}
	}
	onlyNew := newFS(t, dir, testKeyring(t, "new", 2))
	for k := range all {
		if got, _ := blobtest.MustGet(t, onlyNew, k); string(got) != "content of "+k {
			t.Fatalf("%s after reseal: %q", k, got)
		}
	}
}
