package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// runNATS runs a NATS server with JetStream on 127.0.0.1, embedded from the
// module arena already depends on, until ctx is done: the cluster a
// benchmark's nodes share, on a machine without nats-server.
func runNATS(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("arena-bench nats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 4222, "port to listen on, on 127.0.0.1 (-1: any free port)")
	dir := fs.String("dir", "", "JetStream's store directory (required; a temporary one)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "arena-bench nats: -dir is required, and nothing else may follow the flags")
		return 2
	}
	s, err := startNATS(*port, *dir)
	if err != nil {
		fmt.Fprintln(stderr, "arena-bench nats:", err)
		return 1
	}
	fmt.Fprintln(stdout, "arena-bench nats: serving", s.ClientURL())
	<-ctx.Done()
	s.Shutdown()
	s.WaitForShutdown()
	return 0
}

// startNATS starts a NATS server with JetStream, storing in dir, on
// 127.0.0.1:port, and waits until it takes clients.
func startNATS(port int, dir string) (*server.Server, error) {
	s, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      port,
		JetStream: true,
		StoreDir:  dir,
		NoLog:     true,
		NoSigs:    true,
	})
	if err != nil {
		return nil, err
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("not ready in 10s on port %d", port)
	}
	return s, nil
}
