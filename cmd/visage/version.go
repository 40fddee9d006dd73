package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"

	"github.com/visagehq/visage/internal/config"
	"github.com/visagehq/visage/internal/models"
)

type versionInfo struct {
	Module    string `json:"module"`
	Version   string `json:"version"`
	Revision  string `json:"vcs_revision,omitempty"`
	Time      string `json:"vcs_time,omitempty"`
	Modified  bool   `json:"vcs_modified,omitempty"`
	GoVersion string `json:"go_version"`
	// Models maps each role (detector, embedding, liveness…) to its model
	// id, from the manifest in use.
	Models map[string]string `json:"models"`
	// Packages are the pinned npm packages the models and runtime come
	// from, as name@version.
	Packages []string `json:"packages"`
}

// runVersion prints what this binary was built from (module version and
// VCS stamp, from the build info Go embeds) and which models it runs:
// what a bug report needs.
func runVersion(ctx context.Context, args []string) error {
	fs := newFlagSet("version", "version [flags]", "Print the build's module version, VCS revision and Go version, and the model ids of the manifest in use.")
	var cfg config.Engine
	config.RegisterModelFiles(fs.FlagSet, &cfg)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := fs.parse(args)
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
	bi, _ := debug.ReadBuildInfo()
	v := buildVersion(bi, m)
	if *asJSON {
		return emit(v, false)
	}
	fmt.Printf("visage %s (%s)\n", v.Version, v.Module)
	if v.Revision != "" {
		dirty := ""
		if v.Modified {
			dirty = ", with uncommitted changes"
		}
		fmt.Printf("  commit %s, %s%s\n", v.Revision, v.Time, dirty)
	} else {
		fmt.Println("  no VCS stamp (built outside a git checkout, from a git worktree, or with -buildvcs=false)")
	}
	fmt.Printf("  built with %s\n", v.GoVersion)
	roles := make([]string, 0, len(v.Models))
	for r := range v.Models {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	fmt.Println("models:")
	for _, r := range roles {
		fmt.Printf("  %-10s %s\n", r, v.Models[r])
	}
	fmt.Println("packages:")
	for _, p := range v.Packages {
		fmt.Printf("  %s\n", p)
	}
	return nil
}

// buildVersion reads the build info Go embeds (nil when there is none)
// and the manifest's model ids.
func buildVersion(bi *debug.BuildInfo, m *models.Manifest) *versionInfo {
	v := &versionInfo{Module: "github.com/visagehq/visage", Version: "(unknown)", Models: map[string]string{}}
	if bi != nil {
		v.Module, v.Version, v.GoVersion = bi.Main.Path, bi.Main.Version, bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.time":
				v.Time = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	for role, mod := range m.Models {
		v.Models[role] = mod.ID
	}
	for _, p := range m.Packages {
		v.Packages = append(v.Packages, p.Name+"@"+p.Version)
	}
	return v
}
