package store

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/testenv"
)

// Migration 5 renames the challenge vocabulary in stored rows and clears
// thresholds equal to the old copied defaults, on both dialects.
func TestMigrationNativeVocabulary(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		testVocabularyMigration(t, "sqlite:"+filepath.Join(t.TempDir(), "v.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		testVocabularyMigration(t, testenv.FreshPostgres(t, testenv.PostgresAdmin(t)))
	})
}

func testVocabularyMigration(t *testing.T, url string) {
	ctx := context.Background()
	st, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*sqlStore)
	p, err := s.migrator()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	now := s.d.ts(time.Now())
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.db.ExecContext(ctx, s.d.rebind(q), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO integrations (id, name, created_at, match_threshold, liveness_threshold, max_attempts, retention_days,
		required_challenges, webhook_urls, callback_url_template) VALUES (?, 'old', ?, 70, 0.5, 3, 30, ?, '{}', '')`,
		"int_old", now, `["2fa-smile", "2fa-eyeblink"]`)
	exec(`INSERT INTO integrations (id, name, created_at, match_threshold, liveness_threshold, max_attempts, retention_days,
		required_challenges, webhook_urls, callback_url_template) VALUES (?, 'chosen', ?, 82, 0.7, 3, 30, '[]', '{}', '')`,
		"int_chosen", now)
	exec(`INSERT INTO faces (id, integration_id, face_id, enabled, created_at, updated_at) VALUES ('face_a', 'int_old', 'a', ?, ?, ?)`, true, now, now)
	exec(`INSERT INTO face_images (id, integration_id, face_ref, challenge, blob_key, width, height, created_at)
		VALUES ('img_1', 'int_old', 'face_a', '2fa-left', 'k', 1, 1, ?)`, now)
	exec(`INSERT INTO capture_sessions (id, integration_id, face_ref, kind, status, challenges, nonce, progress, reason, frames,
		created_at, updated_at, expires_at) VALUES ('cap_1', 'int_old', 'face_a', '2fa-enrol', 'in_progress', ?, 'n', ?, '', 0, ?, ?, ?)`,
		`["2fa-right","2fa-eyeblink"]`, `{"2fa-right":{"met":true}}`, now, now, now)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	old, err := st.GetIntegration(ctx, "int_old")
	if err != nil {
		t.Fatal(err)
	}
	if p := old.Policy; p.MatchThreshold != 0 || p.LivenessThreshold != 0 || len(p.RequiredChallenges) != 2 ||
		p.RequiredChallenges[0] != "smile" || p.RequiredChallenges[1] != "blink" {
		t.Errorf("old defaults after migration: %+v", p)
	}
	if chosen, _ := st.GetIntegration(ctx, "int_chosen"); chosen.Policy.MatchThreshold != 82 || chosen.Policy.LivenessThreshold != 0.7 {
		t.Errorf("chosen thresholds changed: %+v", chosen.Policy)
	}
	if img, err := st.GetFaceImage(ctx, "int_old", "img_1"); err != nil || img.Challenge != "turn_left" {
		t.Errorf("image challenge: %+v %v", img, err)
	}
	sess, err := st.GetCaptureSession(ctx, "cap_1")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	var prog map[string]any
	mustJSON(t, sess.Challenges, &order)
	mustJSON(t, sess.Progress, &prog)
	if len(order) != 2 || order[0] != "turn_right" || order[1] != "blink" || prog["turn_right"] == nil {
		t.Errorf("session after migration: %s %s", sess.Challenges, sess.Progress)
	}
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
}
