// Command visage is the Visage face authentication server and its tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	"version":  {"print the build's version and the models it runs", runVersion},
}

func main() {
	args := os.Args[1:]
	switch {
	case len(args) == 0:
		usage(os.Stderr)
		os.Exit(2)
	case isHelp(args[0]) && len(args) > 1:
		// `visage help embed` is `visage embed -h`.
		args = []string{args[1], "-h"}
	case isHelp(args[0]):
		usage(os.Stdout)
		return
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "visage: unknown command %q\n\n", args[0])
		usage(os.Stderr)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cmd.run(ctx, args[1:])
	stop()
	var ee exitError
	switch {
	case errors.Is(err, flag.ErrHelp):
		// The help was asked for and printed.
	case errors.As(err, &ee):
		os.Exit(ee.code)
	case err != nil:
		fmt.Fprintf(os.Stderr, "visage %s: %v\n", args[0], err)
		os.Exit(2)
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: visage <command> [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `visage <command> -h` for a command's flags; docs/configuration.md lists every setting.")
}

// helpFor prints a dispatcher's usage on stdout when its first argument
// asks for help, and tells the caller to stop with flag.ErrHelp.
func helpFor(args []string, text string) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Println(text)
		return flag.ErrHelp
	}
	return nil
}
