package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxPathLine bounds one line of a --paths-from file: a path is at most
// 4096 bytes on Linux, so a longer line is not a list of paths.
const maxPathLine = 64 << 10

// pathList is the images a command works through: the arguments, then the
// lines of a --paths-from file (or standard input), read as they are
// needed so that a list of any size costs no memory.
type pathList struct {
	args []string
	name string // the file's name in errors
	r    *bufio.Reader
	c    io.Closer
}

// openPathList opens the --paths-from file ("" for none, "-" for stdin)
// before anything slower, so a wrong name fails at once.
func openPathList(args []string, from string) (*pathList, error) {
	l := &pathList{args: args, name: from}
	switch from {
	case "":
	case "-":
		l.name, l.r = "standard input", bufio.NewReader(os.Stdin)
	default:
		f, err := os.Open(from)
		if err != nil {
			return nil, fmt.Errorf("--paths-from: %w", err)
		}
		l.r, l.c = bufio.NewReader(f), f
	}
	return l, nil
}

// each calls fn with every path in order; it stops at fn's first error.
// A line is a path exactly as written (a trailing CR is dropped); blank
// lines are skipped.
func (l *pathList) each(fn func(path string) error) error {
	for _, p := range l.args {
		if err := fn(p); err != nil {
			return err
		}
	}
	if l.r == nil {
		return nil
	}
	for n := 1; ; n++ {
		line, err := l.readLine()
		if errors.Is(err, io.EOF) && line == "" {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("--paths-from %s line %d: %w", l.name, n, err)
		}
		if p := strings.TrimSuffix(line, "\r"); strings.TrimSpace(p) != "" {
			if err := fn(p); err != nil {
				return err
			}
		}
	}
}

// readLine returns the next line without its newline; io.EOF comes with
// the last line if it has no newline.
func (l *pathList) readLine() (string, error) {
	var b []byte
	for {
		chunk, err := l.r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxPathLine {
			return "", fmt.Errorf("longer than %d bytes: not a path", maxPathLine)
		}
		switch {
		case err == nil:
			return string(b[:len(b)-1]), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return string(b), err
		}
	}
}

func (l *pathList) Close() error {
	if l.c == nil {
		return nil
	}
	return l.c.Close()
}
