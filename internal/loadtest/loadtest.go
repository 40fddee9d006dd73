// Package loadtest drives a running Visage server with verification
// requests at fixed concurrency levels and reports latency percentiles and
// throughput. Loops are bounded by a duration and a request cap.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Config says what to send where.
type Config struct {
	BaseURL     string
	APIKey      string
	EnrolImage  []byte // enrolled once before the runs
	ProbeImage  []byte // sent to /v1/faces/{id}/verify
	Levels      []int
	Duration    time.Duration // per level
	MaxRequests int           // per level, a safety bound
	Client      *http.Client
}

// Level is the result at one concurrency.
type Level struct {
	Concurrency int     `json:"concurrency"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	Matches     int     `json:"matches"`
	Throughput  float64 `json:"per_second"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	FirstError  string  `json:"first_error,omitempty"`
}

// Run enrols a throwaway face, runs each level, and deletes the face.
func Run(ctx context.Context, cfg Config, progress func(Level)) ([]Level, error) {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	faceID := fmt.Sprintf("loadtest-%d", time.Now().UnixNano())
	if err := cfg.enrol(ctx, faceID); err != nil {
		return nil, fmt.Errorf("enrol: %w", err)
	}
	defer cfg.remove(faceID)
	var out []Level
	for _, c := range cfg.Levels {
		l := cfg.level(ctx, faceID, c)
		out = append(out, l)
		if progress != nil {
			progress(l)
		}
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
	return out, nil
}

func (cfg Config) level(ctx context.Context, faceID string, conc int) Level {
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var mu sync.Mutex
	var durs []time.Duration
	l := Level{Concurrency: conc}
	sent := 0
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if ctx.Err() != nil || sent >= cfg.MaxRequests {
					mu.Unlock()
					return
				}
				sent++
				mu.Unlock()
				t0 := time.Now()
				match, err := cfg.verify(ctx, faceID)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					if ctx.Err() == nil {
						l.Errors++
						if l.FirstError == "" {
							l.FirstError = err.Error()
						}
					}
				} else {
					durs = append(durs, d)
					if match {
						l.Matches++
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	l.Requests = len(durs)
	l.Throughput = float64(len(durs)) / elapsed.Seconds()
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	pct := func(p float64) float64 {
		if len(durs) == 0 {
			return 0
		}
		return float64(durs[int(p*float64(len(durs)-1))].Microseconds()) / 1000
	}
	l.P50ms, l.P90ms, l.P99ms, l.MaxMs = pct(0.5), pct(0.9), pct(0.99), pct(1)
	return l
}

func (cfg Config) post(ctx context.Context, path string, fields map[string]string, image []byte) (*http.Response, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("image", "image.jpg")
	_, _ = fw.Write(image)
	_ = mw.Close()
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(cfg.BaseURL, "/")+path, &buf)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("x-api-key", cfg.APIKey)
	return cfg.Client.Do(req)
}

func (cfg Config) enrol(ctx context.Context, faceID string) error {
	res, err := cfg.post(ctx, "/v1/faces", map[string]string{"face_id": faceID}, cfg.EnrolImage)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != 201 {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("status %d: %s", res.StatusCode, b)
	}
	return nil
}

func (cfg Config) verify(ctx context.Context, faceID string) (bool, error) {
	res, err := cfg.post(ctx, "/v1/faces/"+faceID+"/verify", nil, cfg.ProbeImage)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	var body struct {
		Match bool `json:"match"`
	}
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return false, fmt.Errorf("status %d: %s", res.StatusCode, data)
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return false, err
	}
	return body.Match, nil
}

func (cfg Config) remove(faceID string) {
	req, err := http.NewRequest("DELETE", strings.TrimRight(cfg.BaseURL, "/")+"/v1/faces/"+faceID, nil)
	if err != nil {
		return
	}
	req.Header.Set("x-api-key", cfg.APIKey)
	if res, err := cfg.Client.Do(req); err == nil {
		res.Body.Close()
	}
}
