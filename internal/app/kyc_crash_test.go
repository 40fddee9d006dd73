package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/testenv"
)

// TestMain removes the visage binary the subprocess tests share.
func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinary()
	os.Exit(code)
}

// A real `visage serve` is SIGKILLed while it checks a submission (its
// files are written, the case not yet decided). After a restart the case
// is as it was before the submission, every blob on disk is accounted for
// by a pending row that the purge erases (TestPendingFilesReconciled in
// kyc covers the erasure), and the person can submit again.
func TestVerificationSubmissionSurvivesSIGKILL(t *testing.T) {
	bin, addr, dataDir, env := testenv.ServeEnv(t, "VISAGE_OCR_LEGACY_DATA="+testenv.Root(t)+"/.cache/tessdata")
	srv := testenv.StartServe(t, bin, env)
	key := testenv.CreateIntegration(t, bin, env, "crash").APIKey.Token
	call := func(method, path, ctype string, body io.Reader) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+addr+path, body)
		req.Header.Set("x-api-key", key)
		req.Header.Set("Content-Type", ctype)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	code, c := call("POST", "/v1/verifications", "application/json", strings.NewReader(`{"unique_identifier":"crash-1","document_type":"Passport"}`))
	if code != 201 {
		t.Fatalf("create: %d %v", code, c)
	}
	id := c["id"].(string)
	video, _ := os.ReadFile(selfieClip(t, amyFrontal, amyTurn))
	submission := func() (string, *bytes.Buffer) {
		return form(t, nil, map[string][2]any{"document_front": {"passport.jpg", passportOf(t, amyPhoto)}, "selfie_video": {"selfie.webm", video}})
	}

	blobs := filepath.Join(dataDir, "blobs")
	ct, buf := submission()
	go func() {
		req, _ := http.NewRequest("POST", "http://"+addr+"/v1/verifications/"+id+"/submit", buf)
		req.Header.Set("x-api-key", key)
		req.Header.Set("Content-Type", ct)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close() // answered before the kill: the test fails below
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for countFiles(t, blobs) < 2 { // the document and the video, sealed
		if time.Now().After(deadline) {
			t.Fatalf("the submission's files never reached the disk: %s", srv.Log())
		}
		time.Sleep(2 * time.Millisecond)
	}
	srv.Kill(t)

	onDisk := countFiles(t, blobs)
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dataDir, "visage.db"))
	if err != nil {
		t.Fatal(err)
	}
	pending, err := st.ListPendingFiles(context.Background(), time.Now().Add(time.Hour), 100)
	st.Close()
	if err != nil || len(pending) != onDisk {
		t.Fatalf("%d blobs on disk, %d pending rows (%v): a blob no row points to", onDisk, len(pending), err)
	}

	testenv.StartServe(t, bin, env)
	code, c = call("GET", "/v1/verifications/"+id, "", nil)
	if code != 200 || c["status"] != "Not Started" || c["results"] != nil || len(c["files"].([]any)) != 0 || c["attempts"].(float64) != 0 {
		t.Fatalf("after the crash the case is half written: %d %v", code, c)
	}
	ct, buf = submission()
	code, c = call("POST", "/v1/verifications/"+id+"/submit", ct, buf)
	if code != 200 || c["results"] == nil || len(c["files"].([]any)) != 2 {
		t.Fatalf("resubmission after the crash: %d %v", code, c)
	}
	if n := countFiles(t, blobs); n != onDisk+2 {
		t.Fatalf("%d blobs after the resubmission, want the %d pending plus 2", n, onDisk)
	}
}

// countFiles counts the sealed blobs under dir (temporary files excluded).
func countFiles(t *testing.T, dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			n++
		}
		return nil
	})
	return n
}
