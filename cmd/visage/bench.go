package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/loadtest"
)

func runBench(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "http" {
		return errors.New("usage: visage bench http --key TOKEN --enrol IMG --probe IMG [flags]")
	}
	fs := flag.NewFlagSet("bench http", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "server base URL")
	key := fs.String("key", os.Getenv("VISAGE_API_KEY"), "x-api-key token (VISAGE_API_KEY)")
	enrol := fs.String("enrol", "", "image enrolled once before the runs")
	probe := fs.String("probe", "", "image verified against it (same person → matches)")
	levels := fs.String("concurrency", "1,2,4,8", "comma-separated concurrency levels")
	dur := fs.Duration("duration", 15*time.Second, "time per level")
	maxReq := fs.Int("max-requests", 5000, "request cap per level")
	jsonOut := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *key == "" || *enrol == "" || *probe == "" {
		return errors.New("--key, --enrol and --probe are required")
	}
	cfg := loadtest.Config{BaseURL: *url, APIKey: *key, Duration: *dur, MaxRequests: *maxReq}
	var err error
	if cfg.EnrolImage, err = os.ReadFile(*enrol); err != nil {
		return err
	}
	if cfg.ProbeImage, err = os.ReadFile(*probe); err != nil {
		return err
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
