// Package portalproc runs the portal as a child process for the load
// tools (cmd/httpbench, cmd/soak): built from this repository or taken
// from a given binary, in development mode on loopback ports of its own,
// its log written to a file, stopped with SIGTERM. It also reads the few
// /proc figures the tools print beside their results.
package portalproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options say how to start the portal.
type Options struct {
	// Bin is the portal binary; empty builds ./cmd/portal into Dir.
	Bin string
	// Dir is a folder of the caller's for the binary, the data folder and
	// the log.
	Dir string
	// Env is the portal's configuration beyond the development defaults
	// Start sets (PORTAL_ENV, the addresses, the data folder): PORTAL_
	// variables of the caller's environment are not passed on, so the
	// tool alone decides.
	Env []string
}

// Portal is a running portal process.
type Portal struct {
	Cmd     *exec.Cmd
	Addr    string // 127.0.0.1:port
	Base    string // http://127.0.0.1:port
	Metrics string // the metrics listener's /metrics URL
	LogPath string

	log      *os.File
	done     chan struct{}
	stopOnce sync.Once
	stopErr  error
}

// readyWithin bounds the start: migrations and the demo data.
const readyWithin = 2 * time.Minute

// Start builds the portal when no binary is given, starts it and waits
// until /readyz answers 200. The child gets a parent-death signal, so it
// does not outlive a tool that dies without stopping it.
func Start(ctx context.Context, o Options) (*Portal, error) {
	bin := o.Bin
	if bin == "" {
		root, err := ModuleRoot()
		if err != nil {
			return nil, err
		}
		bin = filepath.Join(o.Dir, "portal")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/portal")
		build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
		began := time.Now()
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/portal: %w", err)
		}
		fmt.Printf("built the portal in %v\n", time.Since(began).Round(100*time.Millisecond))
	}
	var addrs [3]string
	for i := range addrs {
		a, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	addr, idp, metrics := addrs[0], addrs[1], addrs[2]
	data := filepath.Join(o.Dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return nil, err
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PORTAL_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"PORTAL_ENV=development",
		"PORTAL_LISTEN="+addr,
		"PORTAL_PUBLIC_URL=http://"+addr,
		"PORTAL_DATA_DIR="+data,
		"PORTAL_DEV_IDP_LISTEN="+idp,
		"PORTAL_METRICS_LISTEN="+metrics,
	)
	env = append(env, o.Env...)

	p := &Portal{Addr: addr, Base: "http://" + addr, Metrics: "http://" + metrics + "/metrics",
		LogPath: filepath.Join(o.Dir, "portal.log"), done: make(chan struct{})}
	var err error
	if p.log, err = os.Create(p.LogPath); err != nil {
		return nil, err
	}
	// Not CommandContext: Stop sends SIGTERM first, so the portal shuts
	// down as in production.
	p.Cmd = exec.Command(bin, "serve")
	p.Cmd.Env, p.Cmd.Stdout, p.Cmd.Stderr = env, p.log, p.log
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.Cmd.Start(); err != nil {
		return nil, errors.Join(err, p.log.Close())
	}
	started := time.Now()
	probe := &http.Client{Timeout: 2 * time.Second} // a hung answer is asked again, within readyWithin
	go func() {
		_ = p.Cmd.Wait() // the exit status of a process we stop ourselves says nothing
		close(p.done)
	}()
	for {
		select {
		case <-p.done:
			return nil, errors.Join(fmt.Errorf("the portal exited while starting; its log: %s", p.Tail(3000)), p.Stop())
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), p.Stop())
		case <-time.After(100 * time.Millisecond):
		}
		if resp, err := probe.Get(p.Base + "/readyz"); err == nil {
			_ = resp.Body.Close() // only the status matters
			if resp.StatusCode == http.StatusOK {
				fmt.Printf("the portal was ready after %v\n", time.Since(started).Round(100*time.Millisecond))
				return p, nil
			}
		}
		if time.Since(started) > readyWithin {
			return nil, errors.Join(fmt.Errorf("the portal did not become ready in %v", readyWithin), p.Stop())
		}
	}
}

// Pid is the portal process's id.
func (p *Portal) Pid() int { return p.Cmd.Process.Pid }

// Done is closed when the process has ended.
func (p *Portal) Done() <-chan struct{} { return p.done }

// Stop ends the portal: SIGTERM, then SIGKILL after 30 s, to this process
// only. It may be called more than once.
func (p *Portal) Stop() error {
	p.stopOnce.Do(func() {
		select {
		case <-p.done:
		default:
			_ = p.Cmd.Process.Signal(syscall.SIGTERM) // it may just have exited
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				_ = p.Cmd.Process.Kill() // it would not stop
				<-p.done
			}
		}
		p.stopErr = p.log.Close()
	})
	return p.stopErr
}

// Tail returns the last n bytes of the portal's log, for an error message.
func (p *Portal) Tail(n int) string {
	b, _ := os.ReadFile(p.LogPath) // best effort
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// ModuleRoot is the folder of the go.mod of the working directory.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the tool inside the portal's repository, or give it a portal binary")
	}
	return filepath.Dir(mod), nil
}

// LoadAvg returns the first three fields of /proc/loadavg, or "?".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// ProcCPU returns the user and system CPU time of process pid so far, or
// -1 when it cannot be read.
func ProcCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// The command name may hold spaces; the fields after it are fixed.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// SelfCPU returns this process's user and system CPU time so far.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
