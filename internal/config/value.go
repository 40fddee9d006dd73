package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The value types below are flag.Values that refuse what they cannot
// represent exactly: a setting is either what the operator wrote or the
// program stops. None accepts a negative number, because no setting has a
// meaning for one.

type stringValue struct{ p *string }

func (v stringValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v stringValue) Set(s string) error { *v.p = strings.TrimSpace(s); return nil }

type intValue struct{ p *int }

func (v intValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.Itoa(*v.p)
}

func (v intValue) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, strconv.IntSize)
	if err != nil {
		return errors.New("not a whole number")
	}
	if n < 0 {
		return errors.New("must not be negative")
	}
	*v.p = int(n)
	return nil
}

type int64Value struct{ p *int64 }

func (v int64Value) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatInt(*v.p, 10)
}

func (v int64Value) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return errors.New("not a whole number")
	}
	if n < 0 {
		return errors.New("must not be negative")
	}
	*v.p = n
	return nil
}

type floatValue struct{ p *float64 }

func (v floatValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}

func (v floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return errors.New("not a number")
	}
	if f < 0 {
		return errors.New("must not be negative")
	}
	*v.p = f
	return nil
}

type boolValue struct{ p *bool }

func (v boolValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatBool(*v.p)
}

func (v boolValue) Set(s string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not a boolean (true or false)")
	}
	*v.p = b
	return nil
}

func (boolValue) IsBoolFlag() bool { return true }

// durationValue holds a duration up to max (0: no bound).
type durationValue struct {
	p   *time.Duration
	max time.Duration
}

func (v durationValue) String() string {
	if v.p == nil {
		return ""
	}
	return FormatDuration(*v.p)
}

func (v durationValue) Set(s string) error {
	d, err := ParseDuration(s)
	if err != nil {
		return err
	}
	if v.max > 0 && d > v.max {
		return fmt.Errorf("longer than %s", FormatDuration(v.max))
	}
	*v.p = d
	return nil
}

// ParseDuration reads a Go duration ("30m", "1h30m", "500ms") or, as
// earlier versions took, a bare number of seconds ("1800", "0.2").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(secs) || math.IsInf(secs, 0) || secs > math.MaxInt64/float64(time.Second) {
			return 0, errors.New("not a duration")
		}
		if secs < 0 {
			return 0, errors.New("must not be negative")
		}
		return time.Duration(secs * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("not a duration (like 30m, 1h30m, 500ms, or a number of seconds)")
	}
	if d < 0 {
		return 0, errors.New("must not be negative")
	}
	return d, nil
}

// FormatDuration writes d the way an operator would: "30m", not "30m0s".
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// urlValue holds an absolute http(s) URL, or nothing.
type urlValue struct{ p *string }

func (v urlValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v urlValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		*v.p = ""
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("not an absolute http:// or https:// URL")
	}
	*v.p = s
	return nil
}

// logLevelValue is one of slog's level names.
type logLevelValue struct{ p *string }

func (v logLevelValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v logLevelValue) Set(s string) error {
	s = strings.TrimSpace(s)
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return fmt.Errorf("not a log level (debug, info, warn or error)")
	}
	*v.p = s
	return nil
}

// countOrOff is a non-negative count, or "off" (stored as -1).
type countOrOff struct{ p *int }

func (v countOrOff) String() string {
	if v.p == nil {
		return ""
	}
	if *v.p < 0 {
		return "off"
	}
	return strconv.Itoa(*v.p)
}

func (v countOrOff) Set(s string) error {
	if strings.EqualFold(strings.TrimSpace(s), "off") {
		*v.p = -1
		return nil
	}
	return intValue(v).Set(s)
}
