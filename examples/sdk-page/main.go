// Command sdk-page serves examples/sdk-page/index.html: a page of another
// site that plays on an arena server through its browser SDK,
// /sdk/arena.js, and loads nothing else of arena's (docs/sdk.md).
//
//	go run ./cmd/arena -allowed-origins http://127.0.0.1:8080
//	go run ./examples/sdk-page
//
// then open http://127.0.0.1:8080/. The page is served from its own origin,
// as a third party's would be, not by arena: the arena server must admit
// that origin (-allowed-origins), and it serves the SDK to any origin.
// Flags: -host, -port (also $PORT; default 8080) and -arena, the arena
// server's URL (also $ARENA_URL; default http://127.0.0.1:8765). The page
// can also be opened from disk: it then plays on http://127.0.0.1:8765.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

//go:embed index.html
var page []byte

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

// run serves the page until ctx is done and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("sdk-page", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.String("host", "", "address to listen on; empty listens on every interface")
	port := fs.Int("port", 8080, "port to serve the page on (also $PORT)")
	arena := fs.String("arena", "http://127.0.0.1:8765", "the arena server's URL (also $ARENA_URL)")
	if p := getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			fmt.Fprintf(stderr, "sdk-page: PORT %q is not a number\n", p)
			return 2
		}
		*port = n
	}
	if a := getenv("ARENA_URL"); a != "" {
		*arena = a
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	h, err := handler(*arena)
	if err != nil {
		fmt.Fprintln(stderr, "sdk-page:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		log.Error("cannot listen", "err", err)
		return 1
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	log.Info("sdk-page listening", "addr", ln.Addr().String(), "arena", *arena)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		log.Error("server failed", "err", err)
		return 1
	}
	return 0
}

// handler serves the page at / and sends a visit without ?server= to the
// same page with the arena server's URL there, where the page reads it: the
// address bar then says which server the page plays on.
func handler(arena string) (http.Handler, error) {
	u, err := url.Parse(arena)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-arena %q: want the arena server's http:// or https:// URL", arena)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("server") == "" {
			q.Set("server", u.Scheme+"://"+u.Host)
			http.Redirect(w, r, "/?"+q.Encode(), http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	return mux, nil
}
