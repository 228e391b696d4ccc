// Package config parses a binary's flags, where every flag can also be set
// by an environment variable OPSMCP_<FLAG> (upper case, dashes as
// underscores). A flag on the command line wins over the variable.
package config

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// EnvName is the environment variable that sets flag name.
func EnvName(flag string) string {
	return "OPSMCP_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// NewFlagSet returns a flag set whose usage lists each flag with its
// environment variable.
func NewFlagSet(binary, summary string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(binary, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.Usage = func() { Usage(fs.Output(), binary, summary, fs) }
	return fs
}

// Usage prints summary and the flag table with env names.
func Usage(w io.Writer, binary, summary string, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "%s: %s\n\nUsage: %s [flags]\n\nFlags (each also read from the environment variable shown):\n", binary, summary, binary)
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		name := "--" + f.Name
		if t := f.Value.Type(); t != "bool" {
			name += " " + t
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "[]" && f.DefValue != "false" && f.DefValue != "0" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  %-32s %s%s\n  %-32s env %s\n", name, f.Usage, def, "", EnvName(f.Name))
	})
}

// Parse parses args, then fills every flag not given on the command line
// from its environment variable. Repeatable flags take a comma-separated
// list from the environment.
func Parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	return FromEnv(fs, os.LookupEnv)
}

// FromEnv sets unset flags from lookup.
func FromEnv(fs *pflag.FlagSet, lookup func(string) (string, bool)) error {
	var errs []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		v, ok := lookup(EnvName(f.Name))
		if !ok {
			return
		}
		if sv, isSlice := f.Value.(pflag.SliceValue); isSlice {
			var parts []string
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					parts = append(parts, p)
				}
			}
			if err := sv.Replace(parts); err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: %v", EnvName(f.Name), v, err))
			}
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: %v", EnvName(f.Name), v, err))
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("environment: %s", strings.Join(errs, "; "))
	}
	return nil
}
