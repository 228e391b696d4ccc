package serve

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/opsmcp/opsmcp/shared/mask"
	"github.com/opsmcp/opsmcp/shared/transport"
)

// AuditIsRequired is --audit-required: as given, else true over HTTP
// (a call whose audit line cannot be written fails) and false over stdio
// (the one local user started the process).
func (o *Options) AuditIsRequired() bool {
	if o.AuditRequired != nil {
		return *o.AuditRequired
	}
	return o.Transport == "http"
}

// Masker returns the masker --mask-key-file asks for (a random key per
// process without it).
func (o *Options) Masker() (*mask.Masker, error) {
	key, _, err := o.keys()
	if err != nil {
		return nil, err
	}
	return mask.New(key), nil
}

// AuditKey is the key of the audit lines' args_sha256 HMAC (the
// servers' cursor key): nil, for a random one per process, without
// --mask-key-file.
func (o *Options) AuditKey() ([]byte, error) {
	_, k, err := o.keys()
	return k, err
}

// keys derives the masker's and the cursors' keys from --mask-key-file;
// both nil (random per process) without it.
func (o *Options) keys() (key, cursorKey []byte, err error) {
	if o.MaskKeyFile == "" {
		return nil, nil, nil
	}
	raw, err := os.ReadFile(o.MaskKeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read --mask-key-file: %w", err)
	}
	sum := sha256.Sum256(raw)
	// A separate key for cursors, from the same secret, so cursors
	// survive a restart as placeholders do.
	c := sha256.Sum256(append([]byte("opsmcp cursor key\x00"), raw...))
	return sum[:], c[:], nil
}

// HTTPOptions returns what every host on the shared listener shares:
// auth (token file, OIDC, delegates), allowed origins and hosts, and the
// body limit. The caller adds its routes, metrics and readiness.
func (o *Options) HTTPOptions(ctx context.Context, log *slog.Logger) (transport.HTTPOptions, error) {
	verifier, delegation, err := o.Auth(ctx, log)
	if err != nil {
		return transport.HTTPOptions{}, err
	}
	return transport.HTTPOptions{Verifier: verifier, Delegation: delegation, AllowedOrigins: o.AllowedOrigins,
		AllowedHosts: o.AllowedHosts, MaxBodyBytes: o.MaxBodyBytes, Logger: log}, nil
}

// ListenAndServe serves h on --listen (TLS with --tls-cert) until ctx
// ends, SIGINT or SIGTERM, then shuts down. attrs are logged with the
// address once listening.
func ListenAndServe(ctx context.Context, name string, o Options, h http.Handler, log *slog.Logger, attrs ...any) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Listen, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() {
		if o.TLSCert != "" {
			errc <- srv.ServeTLS(ln, o.TLSCert, o.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	scheme := "http"
	if o.TLSCert != "" {
		scheme = "https"
	}
	log.Info("serving on HTTP", append([]any{"server", name, "addr", scheme + "://" + ln.Addr().String()}, attrs...)...)
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "server", name)
	grace := o.ShutdownGrace
	if grace <= 0 {
		grace = DefaultShutdownGrace
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	// Shutdown waits for calls in flight; open SSE streams never finish on
	// their own, so after the grace period they are closed outright.
	if err := srv.Shutdown(shutCtx); err != nil {
		srv.Close()
	}
	return nil
}

// SetDefault changes a registered flag's default (value and help), for a
// binary whose sensible default differs from the suite's; unlike fs.Set it
// leaves the flag unchanged, so the environment still applies.
func SetDefault(fs *pflag.FlagSet, name, value string) error {
	f := fs.Lookup(name)
	if f == nil {
		return fmt.Errorf("no flag --%s", name)
	}
	if err := f.Value.Set(value); err != nil {
		return fmt.Errorf("default of --%s: %w", name, err)
	}
	f.DefValue = value
	return nil
}

// optionalBool is a bool flag that remembers whether it was given, so its
// default can depend on other flags (--audit-required on --transport).
type optionalBool struct{ p **bool }

func (b optionalBool) String() string {
	if *b.p == nil {
		return ""
	}
	return strconv.FormatBool(**b.p)
}

func (b optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false: %w", err)
	}
	*b.p = &v
	return nil
}

func (b optionalBool) Type() string { return "bool" }
