package app

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/config"
)

// Past its capacity the server refuses image requests at once with 503,
// Retry-After and the stable code, never a 500, and answers the admitted
// ones; another integration still gets its share.
func TestOverloadIsShedWith503(t *testing.T) {
	s := startServer(t, "", "", func(c *config.Server) {
		c.AdmitConcurrency, c.AdmitQueue, c.AdmitWait = 1, 4, 5*time.Second
	})
	flood, other := s.newTenant("flood"), s.newTenant("other")
	img := fx(t, "faces", "deepface", "id00_img1", "img1.jpg")
	probe := fx(t, "faces", "deepface", "id00_img1", "img2.jpg")
	for _, k := range []string{flood, other} {
		if r := s.do(s.multipartReq("/v1/faces", k, map[string]string{"face_id": "ov"}, [][2]string{{"images", img}})); r.Status != 201 {
			t.Fatalf("enrol: %d %v", r.Status, r.Body)
		}
	}
	var mu sync.Mutex
	status := map[int]int{}
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.do(s.multipartReq("/v1/faces/ov/verify", flood, nil, [][2]string{{"image", probe}}))
			mu.Lock()
			defer mu.Unlock()
			status[r.Status]++
			if r.Status == 503 {
				if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 {
					t.Errorf("503 without a Retry-After: %q", r.Header.Get("Retry-After"))
				}
				if r.code() != "engine_busy" {
					t.Errorf("503 code %q", r.code())
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	// The other integration, arriving amid the flood, is not shut out by
	// the flood's share of the queue.
	r := s.do(s.multipartReq("/v1/faces/ov/verify", other, nil, [][2]string{{"image", probe}}))
	wg.Wait()
	if r.Status != 200 {
		t.Fatalf("the other integration was shut out by the flood: %d %v", r.Status, r.Body)
	}
	if status[200] == 0 || status[503] == 0 || status[200]+status[503] != 12 {
		t.Fatalf("status mix %v: want admitted and refused requests, nothing else", status)
	}
	// Requests without images are never queued.
	if r := s.do(s.request("GET", "/v1/faces/ov", flood, nil, "")); r.Status != http.StatusOK {
		t.Fatalf("read under load: %d", r.Status)
	}
	t.Logf("status mix %v; other integration %d", status, r.Status)
}

// Capture frames are rate-limited per link, before their body is read: a
// page (or a script holding a link) sending too fast gets 429 with
// Retry-After and the page's sentence, never a 5xx.
func TestCaptureFramesAreRateLimited(t *testing.T) {
	s := startServer(t, "", "", func(c *config.Server) { c.RateLimit, c.RateBurst = 1, 2 })
	tok := s.newTenant("frames")
	r := s.do(s.request("POST", "/v1/capture-sessions", tok, strings.NewReader(`{"face_id":"fr"}`), "application/json"))
	if r.Status != 201 && r.Status != 200 {
		t.Fatalf("open link: %d %v", r.Status, r.Body)
	}
	link := r.Body["token"].(string)
	status := map[int]int{}
	for range 6 {
		req := s.multipartReq("/capture/"+link+"/frame", "", map[string]string{"challenge": "smile", "nonce": "x"}, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		status[res.StatusCode]++
		if res.StatusCode == 429 && res.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		if res.StatusCode >= 500 {
			t.Fatalf("frame answered %d", res.StatusCode)
		}
	}
	if status[429] == 0 || status[400] == 0 {
		t.Fatalf("status mix %v: want the burst answered (400: no frame) and the rest 429", status)
	}
}
