package eval

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Pair is two image paths and whether they show the same person.
type Pair struct {
	A, B string
	Same bool
}

// ReadPairs parses `pathA pathB same|diff` lines; relative paths are taken
// from the file's folder. Blank lines and # comments are skipped.
func ReadPairs(path string) ([]Pair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	base := filepath.Dir(path)
	var out []Pair
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 3 || (fs[2] != "same" && fs[2] != "diff") {
			return nil, fmt.Errorf("%s:%d: want `pathA pathB same|diff`, got %q", path, n, line)
		}
		out = append(out, Pair{A: rel(base, fs[0]), B: rel(base, fs[1]), Same: fs[2] == "same"})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no pairs", path)
	}
	return out, nil
}

func rel(base, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

// IdentityPairs builds every genuine pair within each sub-folder of dir
// and every impostor pair across sub-folders.
func IdentityPairs(dir string) ([]Pair, error) {
	ids, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var groups [][]string
	for _, id := range ids {
		if !id.IsDir() {
			continue
		}
		files, err := imageFiles(filepath.Join(dir, id.Name()))
		if err != nil {
			return nil, err
		}
		if len(files) > 0 {
			groups = append(groups, files)
		}
	}
	if len(groups) < 2 {
		return nil, fmt.Errorf("%s: need at least two identity folders with images", dir)
	}
	var out []Pair
	for gi, g := range groups {
		for i := range g {
			for j := i + 1; j < len(g); j++ {
				out = append(out, Pair{A: g[i], B: g[j], Same: true})
			}
			for _, h := range groups[gi+1:] {
				for _, b := range h {
					out = append(out, Pair{A: g[i], B: b})
				}
			}
		}
	}
	return out, nil
}

// imageFiles lists the image files in a folder, sorted.
func imageFiles(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range es {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg", ".png", ".webp":
			if !e.IsDir() {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// Images returns the distinct paths the pairs use, in first-seen order.
func Images(pairs []Pair) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range pairs {
		for _, x := range []string{p.A, p.B} {
			if !seen[x] {
				seen[x] = true
				out = append(out, x)
			}
		}
	}
	return out
}

// LivenessSet lists dir/live and dir/spoof images.
func LivenessSet(dir string) (live, spoof []string, err error) {
	if live, err = imageFiles(filepath.Join(dir, "live")); err != nil {
		return nil, nil, err
	}
	if spoof, err = imageFiles(filepath.Join(dir, "spoof")); err != nil {
		return nil, nil, err
	}
	if len(live) == 0 || len(spoof) == 0 {
		return nil, nil, fmt.Errorf("%s: need images in live/ and spoof/", dir)
	}
	return live, spoof, nil
}
