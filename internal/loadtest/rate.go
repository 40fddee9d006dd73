package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"
)

// RateLevel is the result of an open-loop run at one arrival rate: what
// an overloaded server does with traffic that does not slow down when it
// does.
type RateLevel struct {
	Rate float64 `json:"rate_per_second"`
	Sent int     `json:"sent"`
	// Status counts answers by HTTP status ("error" for no answer).
	Status map[string]int `json:"status"`
	// OK figures are of the admitted requests (200).
	OKPerSecond float64 `json:"ok_per_second"`
	P50ms       float64 `json:"ok_p50_ms"`
	P99ms       float64 `json:"ok_p99_ms"`
	// PerKey is each integration's share: 200s and their p50.
	PerKey []KeyShare `json:"per_key"`
}

// KeyShare is one API key's part of a rate level.
type KeyShare struct {
	Key   string  `json:"key"`
	Sent  int     `json:"sent"`
	OK    int     `json:"ok"`
	P50ms float64 `json:"ok_p50_ms"`
}

// RunRate sends verifications at each rate (requests per second, evenly
// spaced, spread round-robin over keys, weights[i] requests of keys[i]
// per round) for cfg.Duration, whatever the answers, and reports the
// status mix and the admitted requests' latency. Each key gets its own
// enrolled face, deleted afterwards.
func RunRate(ctx context.Context, cfg Config, keys []string, weights []int, rates []float64, progress func(RateLevel)) ([]RateLevel, error) {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 60 * time.Second}
	}
	faceID := fmt.Sprintf("loadtest-%d", time.Now().UnixNano())
	var per []Config
	for _, k := range keys {
		c := cfg
		c.APIKey = k
		if err := c.enrol(ctx, faceID); err != nil {
			return nil, fmt.Errorf("enrol with key %s…: %w", k[:min(len(k), 12)], err)
		}
		defer c.remove(faceID)
		per = append(per, c)
	}
	var round []int // indexes into per, one per request of a round
	for i := range per {
		w := 1
		if i < len(weights) && weights[i] > 0 {
			w = weights[i]
		}
		for range w {
			round = append(round, i)
		}
	}
	var out []RateLevel
	for _, r := range rates {
		l := runRate(ctx, per, round, faceID, r, cfg.Duration)
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

func runRate(ctx context.Context, per []Config, round []int, faceID string, rate float64, d time.Duration) RateLevel {
	l := RateLevel{Rate: rate, Status: map[string]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	okDur := make([][]time.Duration, len(per))
	sent := make([]int, len(per))
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	stop := time.After(d)
	start := time.Now()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
		case <-stop:
		case <-tick.C:
			i := round[n%len(round)]
			sent[i]++
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				status := per[i].status(ctx, faceID)
				dur := time.Since(t0)
				mu.Lock()
				defer mu.Unlock()
				l.Status[status]++
				if status == "200" {
					okDur[i] = append(okDur[i], dur)
				}
			}()
			continue
		}
		break
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for i, c := range per {
		all = append(all, okDur[i]...)
		l.Sent += sent[i]
		l.PerKey = append(l.PerKey, KeyShare{Key: c.APIKey[:min(len(c.APIKey), 12)] + "…", Sent: sent[i], OK: len(okDur[i]), P50ms: pct(okDur[i], 0.5)})
	}
	l.OKPerSecond = float64(len(all)) / elapsed.Seconds()
	l.P50ms, l.P99ms = pct(all, 0.5), pct(all, 0.99)
	return l
}

// status sends one verification and says how it was answered.
func (cfg Config) status(ctx context.Context, faceID string) string {
	res, err := cfg.post(ctx, "/v1/faces/"+faceID+"/verify", nil, cfg.ProbeImage)
	if err != nil {
		return "error"
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return strconv.Itoa(res.StatusCode)
}

func pct(durs []time.Duration, p float64) float64 {
	if len(durs) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), durs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[int(p*float64(len(s)-1))].Microseconds()) / 1000
}
