package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/config"
	"github.com/visagehq/visage/internal/loadtest"
)

const benchUsage = "usage: visage bench http --key TOKEN --enrol IMG --probe IMG [flags]\n\nRun `visage bench http -h` for the flags"

func runBench(ctx context.Context, args []string) error {
	if err := helpFor(args, benchUsage); err != nil {
		return err
	}
	if len(args) == 0 || args[0] != "http" {
		return errors.New(benchUsage)
	}
	fs := newFlagSet("bench http", "bench http --key TOKEN --enrol IMG --probe IMG [flags]",
		"Load-test a running server: enrol one image, then verify the probe against it at each concurrency level.")
	url := fs.String("url", "http://127.0.0.1:8080", "server base URL")
	var key string
	config.RegisterAPIKey(fs.FlagSet, &key)
	enrol := fs.String("enrol", "", "`IMAGE` enrolled once before the runs")
	probe := fs.String("probe", "", "`IMAGE` verified against it (same person → matches)")
	levels := fs.String("concurrency", "1,2,4,8", "comma-separated concurrency `LEVELS`")
	dur := fs.Duration("duration", 15*time.Second, "time per level")
	maxReq := fs.Int("max-requests", 5000, "request cap per level")
	rates := fs.String("rate", "", "open loop instead: comma-separated arrival `RATES` (requests/s), sent whatever the answers; --key may then list several keys (KEY1,KEY2…), sent round-robin")
	weights := fs.String("weights", "", "with --rate: requests per round of each key, e.g. 3,1 (default 1 each)")
	jsonOut := fs.Bool("json", false, "print JSON")
	pos, err := fs.parse(args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return errors.New("usage: visage " + fs.usage)
	}
	if key == "" || *enrol == "" || *probe == "" {
		return errors.New("--key, --enrol and --probe are required")
	}
	cfg := loadtest.Config{BaseURL: *url, APIKey: key, Duration: *dur, MaxRequests: *maxReq}
	if cfg.EnrolImage, err = os.ReadFile(*enrol); err != nil {
		return err
	}
	if cfg.ProbeImage, err = os.ReadFile(*probe); err != nil {
		return err
	}
	if *rates != "" {
		return benchRate(ctx, cfg, key, *rates, *weights, *jsonOut)
	}
	for _, s := range strings.Split(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 256 {
			return fmt.Errorf("bad concurrency %q", s)
		}
		cfg.Levels = append(cfg.Levels, n)
	}
	fmt.Fprintf(os.Stderr, "verify load test against %s, %s per level\n", *url, *dur)
	res, err := loadtest.Run(ctx, cfg, func(l loadtest.Level) {
		fmt.Fprintf(os.Stderr, "  concurrency %d: %d requests, %.1f/s, p50 %.0f ms, p99 %.0f ms, %d errors\n",
			l.Concurrency, l.Requests, l.Throughput, l.P50ms, l.P99ms, l.Errors)
	})
	if err != nil {
		return err
	}
	if *jsonOut {
		return emit(res, false)
	}
	fmt.Println("concurrency  requests  per_s   p50_ms  p90_ms  p99_ms  max_ms  errors  matches")
	for _, l := range res {
		fmt.Printf("%11d  %8d  %6.1f  %6.0f  %6.0f  %6.0f  %6.0f  %6d  %7d\n", l.Concurrency, l.Requests, l.Throughput, l.P50ms, l.P90ms, l.P99ms, l.MaxMs, l.Errors, l.Matches)
	}
	return nil
}

// benchRate runs the open-loop load test and prints the status mix.
func benchRate(ctx context.Context, cfg loadtest.Config, keys, rates, weights string, jsonOut bool) error {
	var rs []float64
	for _, s := range strings.Split(rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || r <= 0 || r > 1000 {
			return fmt.Errorf("bad rate %q", s)
		}
		rs = append(rs, r)
	}
	var ws []int
	for _, s := range strings.Split(weights, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		w, err := strconv.Atoi(s)
		if err != nil || w < 1 || w > 100 {
			return fmt.Errorf("bad weight %q", s)
		}
		ws = append(ws, w)
	}
	fmt.Fprintf(os.Stderr, "open-loop verify load test against %s, %s per rate\n", cfg.BaseURL, cfg.Duration)
	res, err := loadtest.RunRate(ctx, cfg, strings.Split(keys, ","), ws, rs, func(l loadtest.RateLevel) {
		fmt.Fprintf(os.Stderr, "  %.0f/s: sent %d, ok %.1f/s, p50 %.0f ms, p99 %.0f ms, status %v\n",
			l.Rate, l.Sent, l.OKPerSecond, l.P50ms, l.P99ms, l.Status)
	})
	if err != nil {
		return err
	}
	if jsonOut {
		return emit(res, false)
	}
	for _, l := range res {
		fmt.Printf("rate %.0f/s: sent %d, ok %.1f/s, ok p50 %.0f ms, ok p99 %.0f ms, status %v\n", l.Rate, l.Sent, l.OKPerSecond, l.P50ms, l.P99ms, l.Status)
		for _, k := range l.PerKey {
			fmt.Printf("  key %s sent %d ok %d p50 %.0f ms\n", k.Key, k.Sent, k.OK, k.P50ms)
		}
	}
	return nil
}
