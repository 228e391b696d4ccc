// Package warmup keeps each lane's model loaded on its Ollama hosts
// during the hours the team configures: it preloads the model with the
// configured keep_alive (an /api/generate without a prompt, with the
// runner options the lane's requests carry, so they find it as loaded),
// resets its expiry before it runs out, and loads it again when a poll
// of /api/ps shows it gone (evicted, a host restart). It never preloads
// a model that would push out another lane's model: it counts what the
// host holds (/api/ps) against the VRAM configured for it, or, with none
// configured, the most the host has been seen holding at once.
package warmup

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is the warm-up section of the orchestrator's config file.
type Config struct {
	// KeepAlive is sent with each preload: how long Ollama keeps the
	// model after it; negative: until it is unloaded. Setting it turns
	// the warm-up on.
	KeepAlive time.Duration `yaml:"keep_alive,omitempty"`
	// Hours are the daily windows ("07:00-19:00", "22:00-02:00") in
	// which the models are kept warm; none: all day.
	Hours []string `yaml:"hours,omitempty"`
	// Days are the weekdays ("mon", "mon-fri") the windows start on;
	// none: every day.
	Days []string `yaml:"days,omitempty"`
	// Timezone is the IANA zone of Hours (default: the local zone).
	Timezone string `yaml:"timezone,omitempty"`
	// Every is how often each host is checked (default 15s).
	Every time.Duration `yaml:"every,omitempty"`
	// Lanes are the lanes kept warm (default: every lane).
	Lanes []string `yaml:"lanes,omitempty"`
	// VRAM is each host's memory for models ("24GiB", "16GB", bytes),
	// by endpoint name.
	VRAM map[string]string `yaml:"vram,omitempty"`
}

// DefaultEvery is how often a host is checked when Every is not set.
const DefaultEvery = 15 * time.Second

// Enabled reports whether the warm-up is configured.
func (c Config) Enabled() bool { return c.KeepAlive != 0 }

// Settings is a checked Config.
type Settings struct {
	KeepAlive time.Duration
	Every     time.Duration
	Window    Window
	Lanes     []string
	VRAM      map[string]int64
}

// Parse checks c and returns its settings, with an error that says what
// to fix.
func (c Config) Parse() (Settings, error) {
	s := Settings{KeepAlive: c.KeepAlive, Every: c.Every, Lanes: c.Lanes, VRAM: map[string]int64{}}
	if c.KeepAlive == 0 {
		if len(c.Hours)+len(c.Days)+len(c.Lanes)+len(c.VRAM) > 0 || c.Every != 0 || c.Timezone != "" {
			return s, fmt.Errorf("warmup: keep_alive is required (how long each preload keeps the model loaded, e.g. 30m; -1: until unloaded)")
		}
		return s, nil
	}
	if s.Every == 0 {
		s.Every = DefaultEvery
	}
	if s.Every < time.Second {
		return s, fmt.Errorf("warmup: every %s: use at least 1s", c.Every)
	}
	if c.KeepAlive > 0 && c.KeepAlive < 4*s.Every {
		return s, fmt.Errorf("warmup: keep_alive %s is under 4 checks (every %s): the model would expire between checks; raise keep_alive or lower every", c.KeepAlive, s.Every)
	}
	if c.KeepAlive < 0 {
		s.KeepAlive = -1
	}
	w, err := ParseWindow(c.Hours, c.Days, c.Timezone)
	if err != nil {
		return s, fmt.Errorf("warmup: %w", err)
	}
	s.Window = w
	for host, v := range c.VRAM {
		n, err := ParseBytes(v)
		if err != nil {
			return s, fmt.Errorf("warmup: vram of %s: %w", host, err)
		}
		s.VRAM[host] = n
	}
	return s, nil
}

// ParseBytes reads a size: a number of bytes, or one with a unit (KB,
// MB, GB, TB powers of 1000; KiB, MiB, GiB, TiB powers of 1024).
func ParseBytes(v string) (int64, error) {
	s := strings.TrimSpace(v)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0) || !(f*float64(mult) < 1<<62) { // NaN fails both
		return 0, fmt.Errorf("%q: write a positive size such as 24GiB, 16GB or 25769803776", v)
	}
	return int64(f * float64(mult)), nil
}
