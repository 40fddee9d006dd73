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
