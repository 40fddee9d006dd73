package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/visagehq/visage/internal/config"
)

// flagSet is one command's flags. Its -h/--help prints the command's usage
// and only its own flags, on stdout, and the command exits 0.
type flagSet struct {
	*flag.FlagSet
	usage string // after "visage "
	about string // optional paragraph under the usage line
}

func newFlagSet(name, usage, about string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// Parse reports errors itself; the help goes where parse sends it.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, usage: usage, about: about}
}

// parse applies the VISAGE_* environment, then the command line, and
// returns the positional arguments. Flags may come after them
// (`visage compare A B --json`); everything after "--" is positional.
func (f *flagSet) parse(args []string) ([]string, error) {
	if err := config.ApplyEnv(f.FlagSet); err != nil {
		return nil, err
	}
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.printHelp(os.Stdout)
				return nil, err
			}
			return nil, fmt.Errorf("%w (see `visage %s -h`)", err, f.Name())
		}
		rest := f.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func (f *flagSet) printHelp(w io.Writer) {
	fmt.Fprintf(w, "usage: visage %s\n", f.usage)
	if f.about != "" {
		fmt.Fprintf(w, "\n%s\n", f.about)
	}
	var flags []*flag.Flag
	f.VisitAll(func(fl *flag.Flag) { flags = append(flags, fl) })
	if len(flags) == 0 {
		return
	}
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	fmt.Fprintln(w, "\nflags:")
	for _, fl := range flags {
		writeFlag(w, fl)
	}
}

// writeFlag prints one flag as "  --name ARG", its meaning, and where its
// default and variable are.
func writeFlag(w io.Writer, fl *flag.Flag) {
	s, isSetting := config.Lookup(fl)
	arg, usage := flag.UnquoteUsage(fl)
	switch {
	case isBool(fl):
		arg = ""
	case isSetting:
		arg = s.Arg
	case arg == "string" || arg == "value":
		// No `NAME` in the usage: the flag's own name says what it is.
		arg = strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_"))
	case arg == "int" || arg == "float":
		arg = "N"
	case arg == "duration":
		arg = "DURATION"
	}
	head := "  --" + fl.Name
	if arg != "" {
		head += " " + arg
	}
	fmt.Fprintf(w, "%s\n        %s", head, usage)
	var notes []string
	// Zero defaults say nothing for a command's own options; for settings
	// they tell what the variable overrides.
	if fl.DefValue != "" && !(isBool(fl) && fl.DefValue == "false") && (isSetting || fl.DefValue != "0") {
		notes = append(notes, "default "+fl.DefValue)
	}
	if isSetting {
		env := s.Env
		if s.Secret {
			env += " or " + s.Env + "_FILE"
		}
		notes = append(notes, env)
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(notes, "; "))
	}
	fmt.Fprintln(w)
}

func isBool(fl *flag.Flag) bool {
	b, ok := fl.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// isHelp tells whether a dispatcher's argument asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}
