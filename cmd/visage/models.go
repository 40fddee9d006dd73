package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/visagehq/visage/internal/config"
	"github.com/visagehq/visage/internal/models"
)

const modelsUsage = `usage:
  visage models install [flags]   fetch the pinned model and runtime packages and install them
  visage models verify [flags]    check every installed file's SHA-256 against the manifest

Run ` + "`visage models install -h`" + ` for the flags`

func runModels(ctx context.Context, args []string) error {
	if err := helpFor(args, modelsUsage); err != nil {
		return err
	}
	if len(args) == 0 || (args[0] != "install" && args[0] != "verify") {
		return errors.New(modelsUsage)
	}
	about := map[string]string{
		"install": "Fetch the model and ONNX Runtime packages the manifest pins from the npm registry, check their integrity and every file's SHA-256, and install them; idempotent.",
		"verify":  "Check that every file the manifest names is installed with its SHA-256.",
	}[args[0]]
	fs := newFlagSet("models "+args[0], "models "+args[0]+" [flags]", about)
	var cfg config.Engine
	config.RegisterModelFiles(fs.FlagSet, &cfg)
	pos, err := fs.parse(args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return errors.New("usage: visage " + fs.usage)
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
