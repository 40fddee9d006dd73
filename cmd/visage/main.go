// Command visage is the Visage face authentication server and its tools.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// exitError carries a specific exit status (compare: 1 = no match).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands = map[string]command{
	"models":   {"install or verify the ONNX models and runtime", runModels},
	"detect":   {"detect and analyse faces in images", runDetect},
	"embed":    {"print the embedding of the largest face in each image", runEmbed},
	"compare":  {"compare the faces in two images (exit 0 match, 1 no match, 2 error)", runCompare},
	"eval":     {"measure accuracy on labelled pairs or an identity folder", runEval},
	"serve":    {"run the HTTP server", runServe},
	"migrate":  {"apply database migrations and print the schema version", runMigrate},
	"admin":    {"manage integrations and API keys (integration create|list|rotate-key)", runAdmin},
	"bench":    {"load-test a running server (bench http)", runBench},
	"webhooks": {"configure webhooks, read the delivery log, redeliver (webhooks urls|set|ping|deliveries|show|redeliver)", runWebhooks},
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		os.Exit(2)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "visage: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cmd.run(ctx, os.Args[2:])
	stop()
	var ee exitError
	switch {
	case errors.As(err, &ee):
		os.Exit(ee.code)
	case err != nil:
		fmt.Fprintf(os.Stderr, "visage %s: %v\n", os.Args[1], err)
		os.Exit(2)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: visage <command> [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun `visage <command> -h` for a command's flags.")
}
