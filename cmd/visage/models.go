package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/visagehq/visage/internal/config"
	"github.com/visagehq/visage/internal/models"
)

func runModels(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "install" && args[0] != "verify") {
		return fmt.Errorf("usage: visage models install|verify [flags]")
	}
	fs := flag.NewFlagSet("models "+args[0], flag.ContinueOnError)
	var cfg config.Engine
	config.RegisterEngine(fs, &cfg)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	m, err := models.Load(cfg.Manifest)
	if err != nil {
		return err
	}
	if args[0] == "verify" {
		if err := models.Verify(m, cfg.ModelsDir); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "models in %s verified\n", cfg.ModelsDir)
		return nil
	}
	say := func(format string, a ...any) { fmt.Fprintf(os.Stderr, format+"\n", a...) }
	if err := models.Install(ctx, m, cfg.ModelsDir, say); err != nil {
		return err
	}
	say("models ready in %s", cfg.ModelsDir)
	return nil
}
