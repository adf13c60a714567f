package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"time"
)

// process is one child process of the harness: a system under test or the simulator.
type process struct {
	name   string
	path   string
	args   []string
	log    string   // file receiving stdout and stderr
	env    []string // added to the harness's environment
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

func newProcess(name, path, log string, args ...string) *process {
	return &process{name: name, path: path, args: args, log: log}
}

// start runs the process, appending its output to its log file.
func (p *process) start() error {
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.path, p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	if len(p.env) > 0 {
		cmd.Env = append(os.Environ(), p.env...)
	}
	// Own process group: a Ctrl-C to the harness reaches the harness only, which then
	// stops its children in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd, p.exited, p.err = cmd, make(chan struct{}), nil
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	return nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL, as a crash would, and waits for the exit.
func (p *process) kill() {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop sends SIGTERM and waits up to grace before killing.
func (p *process) stop(grace time.Duration) {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.kill()
	}
}

// logTail returns the end of the process's log for error messages.
func (p *process) logTail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// waitHTTP polls url until it answers 200, the process exits or ctx ends.
func (p *process) waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if code, _, err := httpGet(ctx, url); err == nil && code == http.StatusOK {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited: %v\n%s", p.name, p.err, p.logTail())
		case <-ctx.Done():
			return fmt.Errorf("%s: %s not ready after %s\n%s", p.name, url, timeout, p.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

var httpClient = &http.Client{Timeout: 2 * time.Minute}

func httpGet(ctx context.Context, url string) (int, []byte, error) {
	return httpDo(ctx, http.MethodGet, url)
}

func httpDo(ctx context.Context, method, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// freeAddr returns a 127.0.0.1 address with a port nobody listens on right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// version runs "binary --version" and returns the version field of its first line
// ("prometheus, version 2.42.0+ds (branch: ...)").
func version(binary string) string {
	out, err := exec.Command(binary, "--version").CombinedOutput()
	if err != nil && len(out) == 0 {
		return "unknown"
	}
	m := versionRE.FindStringSubmatch(string(out))
	if m == nil {
		return "unknown"
	}
	if m[1] == "" {
		return "unstamped build"
	}
	return m[1]
}

var versionRE = regexp.MustCompile(`version (\S*)`)

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

var errIncomplete = errors.New("incomplete")
