package webhook

import (
	"log/slog"
	"time"

	"github.com/visagehq/visage/internal/config"
)

// OptionsFromConfig turns the server's VISAGE_WEBHOOK_* settings into
// worker options, guard included, so `serve` and the CLI read them alike.
func OptionsFromConfig(c *config.Server, log *slog.Logger) (Options, error) {
	g, err := NewGuard(c.WebhookAllowPrivate, c.WebhookAllowCIDRs)
	if err != nil {
		return Options{}, err
	}
	secs := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	return Options{
		Guard:       g,
		Poll:        secs(c.WebhookPollSecs),
		Lease:       secs(c.WebhookLeaseSecs),
		Timeout:     secs(c.WebhookTimeoutSecs),
		MaxAttempts: c.WebhookMaxAttempts,
		Concurrency: c.WebhookConcurrency,
		Retention:   time.Duration(c.WebhookRetentionDays) * 24 * time.Hour,
		Log:         log,
	}, nil
}
