package app

import (
	"context"
	"strings"
	"testing"

	"github.com/visagehq/visage/internal/config"
)

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

	s2 := startServer(t, "", dir, func(c *config.Server) { c.MasterKey, c.OldMasterKeys = newKey, oldKey })
	rep, err := Rekey(context.Background(), s2.cfg, s2.srv.Store(), s2.srv.Tenant, func(line string) { t.Log(line) })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Integrations < 1 || rep.Templates < 1 || rep.Blobs < 1 || rep.RemainingFiles != 0 || rep.CurrentKey != "new" {
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
	ins, _ := s3.srv.Tenant.ListIntegrations(context.Background())
	for i := range ins {
		if _, _, err := s3.srv.Tenant.OpenSecrets(&ins[i]); err != nil {
			t.Fatalf("integration %s secrets under the new key alone: %v", ins[i].ID, err)
		}
	}
}
