package faults

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// proc is a child process of the harness (an agent, a load generator, a
// CLI command) running in a node's namespace.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *os.File // its stderr (and stdout, unless piped)
	done chan struct{}
	err  error // valid after done
}

// startProc starts argv with stderr (and stdout unless stdout is set) in
// the file logPath. The child gets SIGKILL if the harness dies
// (Pdeathsig: also when the harness is killed and no deferred cleanup
// runs) and its own process group, so that a Ctrl-C at the terminal
// reaches only the harness, which then stops it in order.
// stdin and stdout are files (pipes) so that no copying goroutine holds
// Wait up.
func startProc(name, logPath string, argv []string, stdin, stdout *os.File) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSetup, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: start %s: %v", ErrSetup, name, err)
	}
	p := &proc{name: name, cmd: cmd, log: f, done: make(chan struct{})}
	go func() { // ends when the child exits; kill ends it at the latest
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// signal sends sig to the process (an exited one is not an error).
func (p *proc) signal(sig syscall.Signal) error {
	if p.exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !p.exited() {
		return fmt.Errorf("%w: %s: %v: %v", ErrFault, p.name, sig, err)
	}
	return nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to d for the process to exit and returns its exit code
// (-1 if killed by a signal); ok is false on timeout.
func (p *proc) wait(d time.Duration) (code int, ok bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), true
	case <-t.C:
		return 0, false
	}
}

// kill continues (if stopped) and kills the process, and waits for it.
func (p *proc) kill() {
	_ = p.signal(syscall.SIGCONT)
	_ = p.signal(syscall.SIGKILL)
	<-p.done
}
