package main

import (
	"context"
	"errors"

	"github.com/visagehq/visage/internal/app"
	"github.com/visagehq/visage/internal/config"
)

func runServe(ctx context.Context, args []string) error {
	fs := newFlagSet("serve", "serve [flags]",
		"Run the HTTP server. It creates the database, the data dir and the master key file on first start.")
	var cfg config.Server
	config.RegisterServer(fs.FlagSet, &cfg)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return errors.New("unexpected argument " + pos[0] + "; usage: visage " + fs.usage)
	}
	if err := app.CheckKeys(&cfg); err != nil {
		return err
	}
	if err := app.CheckTLS(&cfg); err != nil {
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
