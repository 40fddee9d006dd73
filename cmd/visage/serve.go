package main

import (
	"context"
	"flag"

	"github.com/visagehq/visage/internal/app"
	"github.com/visagehq/visage/internal/config"
)

func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cfg config.Server
	config.RegisterServer(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := app.Logger(cfg.LogLevel)
	srv, err := app.NewServer(ctx, &cfg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := srv.Listen(); err != nil {
		return err
	}
	return srv.Serve(ctx)
}
