package app

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/visagehq/visage/internal/blob"
	"github.com/visagehq/visage/internal/config"
	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/tenancy"
)

// fsOf opens the blob directory of dir with only the master key (no data
// keys): it lists, and writes as Visage did before data keys.
func fsOf(t *testing.T, dir, key string) *blob.FS {
	t.Helper()
	k, err := crypto.ParseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := crypto.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := blob.NewFS(filepath.Join(dir, "blobs"), kr, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs
}

// Rotating the master key: a server under the new key with the old one
// retired still reads old data; `rekey` re-seals it all (run while that
// server serves); then a server holding only the new key reads every
// image, template and integration secret, and the old key is gone for good.
func TestRekeyRetiresTheOldMasterKey(t *testing.T) {
	oldKey := "old:" + strings.Repeat("1a", 32)
	newKey := "new:" + strings.Repeat("2b", 32)
	dir := t.TempDir()
	s1 := startServer(t, "", dir, func(c *config.Server) { c.MasterKey = oldKey })
	tok := s1.newTenant("rekey")
	img := fx(t, "faces", "deepface", "id00_img1", "img1.jpg")
	r := s1.do(s1.multipartReq("/v1/faces", tok, map[string]string{"face_id": "rk"}, [][2]string{{"images", img}}))
	if r.Status != 201 {
		t.Fatalf("enrol: %d %v", r.Status, r.Body)
	}
	imgID := r.Body["images"].([]any)[0].(map[string]any)["id"].(string)

	var integrationID string
	ids := map[string]string{}
	err := fsOf(t, dir, oldKey).List(context.Background(), "", func(e blob.Entry) error {
		ids[e.Key] = e.KeyID
		integrationID, _, _ = strings.Cut(e.Key, "/")
		return nil
	})
	if err != nil || len(ids) != 1 {
		t.Fatalf("files %v %v", ids, err)
	}
	for k, id := range ids {
		if id != tenancy.DataKeyID {
			t.Fatalf("%s sealed under %q, not the integration's data key", k, id)
		}
	}
	// A file from before data keys: sealed with the master key itself.
	legacy := integrationID + "/faces/face_legacy/img_legacy"
	if _, err := fsOf(t, dir, oldKey).Put(context.Background(), legacy, strings.NewReader("old selfie"), blob.Meta{}); err != nil {
		t.Fatal(err)
	}

	s2 := startServer(t, "", dir, func(c *config.Server) { c.MasterKey, c.OldMasterKeys = newKey, oldKey })
	rep, err := Rekey(context.Background(), s2.cfg, s2.srv.Store(), s2.srv.Tenant, func(line string) { t.Log(line) })
	if err != nil {
		t.Fatal(err)
	}
	// Images and templates are sealed with the integration's data key:
	// rotating the master key re-wraps that key alone; the file written
	// before data keys existed is re-sealed under the data key.
	if rep.Integrations < 1 || rep.Templates != 0 || rep.Blobs != 1 || rep.RemainingFiles != 0 || rep.CurrentKey != "new" {
		t.Fatalf("rekey report %+v", rep)
	}
	again, err := Rekey(context.Background(), s2.cfg, s2.srv.Store(), s2.srv.Tenant, func(string) {})
	if err != nil || again.Integrations+again.Templates+again.Blobs != 0 {
		t.Fatalf("second run changed things: %+v %v", again, err)
	}

	s3 := startServer(t, "", dir, func(c *config.Server) { c.MasterKey = newKey })
	probe := fx(t, "faces", "deepface", "id00_img1", "img2.jpg")
	if r := s3.do(s3.multipartReq("/v1/faces/rk/verify", tok, nil, [][2]string{{"image", probe}})); r.Status != 200 || r.Body["verified"] != true {
		t.Fatalf("verify under the new key alone: %d %v", r.Status, r.Body)
	}
	if r := s3.do(s3.request("GET", "/v1/faces/rk/images/"+imgID, tok, nil, "")); r.Status != 200 {
		t.Fatalf("image under the new key alone: %d", r.Status)
	}
	rc, _, err := s3.srv.blobStore().Get(context.Background(), legacy)
	if err != nil {
		t.Fatalf("the file from before data keys, under the new key alone: %v", err)
	}
	rc.Close()
	ins, _ := s3.srv.Tenant.ListIntegrations(context.Background())
	for i := range ins {
		if _, _, err := s3.srv.Tenant.OpenSecrets(&ins[i]); err != nil {
			t.Fatalf("integration %s secrets under the new key alone: %v", ins[i].ID, err)
		}
	}
}
