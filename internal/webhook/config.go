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
	return Options{
		Guard:       g,
		Poll:        c.WebhookPoll,
		Lease:       c.WebhookLease,
		Timeout:     c.WebhookTimeout,
		MaxAttempts: c.WebhookMaxAttempts,
		Concurrency: c.WebhookConcurrency,
		Retention:   time.Duration(c.WebhookRetentionDays) * 24 * time.Hour,
		Log:         log,
	}, nil
}
