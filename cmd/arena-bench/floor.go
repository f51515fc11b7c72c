package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/arena-server/arena/internal/loadgen"
)

// runFloor measures the floor under any server's CPU at a load: what this
// machine's kernel and Go's runtime charge for writing one message to each
// of N loopback sockets, rate times a second, and, with -in-rate, for
// reading the clients' small messages with a goroutine per socket as any Go
// server does, with no server logic at all: no WebSocket, no encoding. The
// peers run in a child process, as the load generator does, so their cost
// is not counted.
func runFloor(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("arena-bench floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	players := fs.Int("players", 500, "sockets to write to")
	size := fs.Int("bytes", 1024, "bytes per message")
	rate := fs.Int("rate", 20, "messages per socket per second")
	duration := fs.Duration("duration", 10*time.Second, "how long to measure")
	inRate := fs.Int("in-rate", 0, "messages per socket per second from the clients, read by a goroutine per socket (the seed client's moves: 20)")
	inSize := fs.Int("in-bytes", 40, "bytes per client message")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *players < 1 || *size < 1 || *rate < 1 || *duration <= 0 || *inRate < 0 || *inSize < 1 {
		fmt.Fprintln(stderr, "arena-bench floor: players, bytes, rate and duration must be positive")
		return 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(stderr, "arena-bench floor:", err)
		return 1
	}
	defer ln.Close()
	readers := exec.Command(os.Args[0], "floor-readers", ln.Addr().String(), strconv.Itoa(*players), strconv.Itoa(*inRate), strconv.Itoa(*inSize))
	readers.Stderr = stderr
	if err := readers.Start(); err != nil {
		fmt.Fprintln(stderr, "arena-bench floor:", err)
		return 1
	}
	defer func() { _ = readers.Process.Kill(); _ = readers.Wait() }()
	conns := make([]net.Conn, 0, *players)
	for len(conns) < *players {
		_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(stderr, "arena-bench floor: readers did not connect:", err)
			return 1
		}
		defer c.Close()
		conns = append(conns, c)
		if *inRate > 0 {
			go func() {
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}
	msg := make([]byte, *size)
	tick := time.NewTicker(time.Second / time.Duration(*rate))
	defer tick.Stop()
	before := loadgen.SelfCPU()
	start := time.Now()
	for time.Since(start) < *duration {
		<-tick.C
		for _, c := range conns {
			if _, err := c.Write(msg); err != nil {
				fmt.Fprintln(stderr, "arena-bench floor:", err)
				return 1
			}
		}
	}
	after := loadgen.SelfCPU()
	el := time.Since(start)
	user := 100 * float64(after.User-before.User) / float64(el)
	sys := 100 * float64(after.System-before.System) / float64(el)
	what := fmt.Sprintf("writing %d B to %d loopback sockets %d times a second", *size, *players, *rate)
	if *inRate > 0 {
		what += fmt.Sprintf(" and reading %d B from each %d times a second", *inSize, *inRate)
	}
	fmt.Fprintf(stdout, "%s, and nothing else: %.1f%% of a core (user %.1f%%, kernel %.1f%%)\n", what, user+sys, user, sys)
	return 0
}

// runFloorReaders is the child of runFloor: it connects, reads, and writes
// its small messages if asked to.
func runFloorReaders(args []string, stderr io.Writer) int {
	if len(args) != 4 {
		return 2
	}
	n, _ := strconv.Atoi(args[1])
	inRate, _ := strconv.Atoi(args[2])
	inSize, _ := strconv.Atoi(args[3])
	for range n {
		c, err := net.Dial("tcp", args[0])
		if err != nil {
			fmt.Fprintln(stderr, "floor-readers:", err)
			return 1
		}
		go func() { _, _ = io.Copy(io.Discard, bufio.NewReaderSize(c, 64<<10)) }()
		if inRate > 0 {
			go func() {
				msg := make([]byte, inSize)
				t := time.NewTicker(time.Second / time.Duration(inRate))
				for range t.C {
					if _, err := c.Write(msg); err != nil {
						return
					}
				}
			}()
		}
	}
	select {} // until the parent kills us
}
