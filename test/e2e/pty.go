package e2e

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/pam-duo-go/pam_duo_go/internal/ptytest"
)

// Prompt is a question a program asked on its terminal and what was typed.
type Prompt struct {
	At      time.Time // when the prompt was complete on the terminal
	Text    string    // the prompt line (the unfinished line the program waits on)
	Context string    // everything shown since the previous answer, Text included
	Answer  string    // what was typed (without the newline)
}

// Responder decides the answer to a prompt; an error stops the dialog
// (the program is killed and the error returned), except ErrNotAPrompt.
type Responder func(p Prompt) (answer string, err error)

// ErrNotAPrompt, returned by a Responder, says the unfinished line is not
// a question (for example the echo of a control character typed with
// OnStart): nothing is typed and the run goes on.
var ErrNotAPrompt = errors.New("not a prompt")

// Answers returns a Responder that gives the answers in order and fails on
// a prompt beyond them.
func Answers(answers ...string) Responder {
	next := 0
	return func(p Prompt) (string, error) {
		if next >= len(answers) {
			return "", fmt.Errorf("unexpected prompt %q: all %d answers were used", EscapeControls(p.Text), len(answers))
		}
		next++
		return answers[next-1], nil
	}
}

// Terminal describes a program run on a new pseudo-terminal by RunTerminal.
type Terminal struct {
	Argv    []string
	Env     []string      // the whole environment; nil = a minimal one
	Respond Responder     // nil = fail on any prompt
	Timeout time.Duration // bound on the whole run; 0 = 60 s
	// Quiet is how long the output must be still, with an unfinished
	// last line on screen, before that line counts as a prompt;
	// 0 = 150 ms.
	Quiet time.Duration
	// OnStart, when set, is called (in its own goroutine) once the
	// program runs, with its pid and a function that types raw bytes
	// on the terminal (Ctrl-Z is "\x1a"). RunTerminal does not wait for
	// it; it must return by the end of the run.
	OnStart func(pid int, typeRaw func(string) error)
}

// TerminalResult is what a RunTerminal run showed and how it ended.
type TerminalResult struct {
	Argv       []string // the command that ran
	Transcript *Transcript
	Prompts    []Prompt
	ExitCode   int  // -1 when killed by a signal or not started
	TimedOut   bool // killed at the deadline
}

// ErrTimeout is returned (wrapped) when a run was killed at its deadline.
var ErrTimeout = errors.New("timed out")

// RunTerminal runs t.Argv on a new pseudo-terminal, as the leader of a new
// session with that terminal as its controlling terminal, records its
// output and answers each prompt it shows. A prompt is an unfinished last
// line that stays unchanged for t.Quiet. The run is bounded by t.Timeout
// and ctx: past either, the whole session is killed and the error wraps
// ErrTimeout. A responder error also kills the session and is returned.
// The result is never nil.
func RunTerminal(ctx context.Context, t Terminal) (*TerminalResult, error) {
	res := &TerminalResult{Argv: t.Argv, Transcript: newTranscript(), ExitCode: -1}
	if len(t.Argv) == 0 {
		return res, errors.New("RunTerminal: no command")
	}
	timeout, quiet := t.Timeout, t.Quiet
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	if quiet <= 0 {
		quiet = 150 * time.Millisecond
	}
	respond := t.Respond
	if respond == nil {
		respond = Answers()
	}
	env := t.Env
	if env == nil {
		env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=dumb", "LANG=C"}
	}

	master, slave, err := ptytest.OpenPair()
	if err != nil {
		return res, err
	}
	defer master.Close()

	cmd := exec.Command(t.Argv[0], t.Argv[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = cmd.Start()
	slave.Close()
	if err != nil {
		return res, fmt.Errorf("starting %s: %w", t.Argv[0], err)
	}
	tr := res.Transcript
	if t.OnStart != nil {
		typeRaw := func(s string) error {
			_, err := master.Write([]byte(s))
			return err
		}
		go t.OnStart(cmd.Process.Pid, typeRaw)
	}

	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			if n > 0 {
				tr.write(buf[:n], time.Now())
			}
			if err != nil {
				return // EIO once every slave descriptor is closed
			}
		}
	}()
	waitDone := make(chan error, 1)
	go func() { waitDone <- cmd.Wait() }()

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	kill := func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

	answeredLine := -1 // index of the line answered last
	answeredText := "" // that line as it was when answered
	lastAnswer := ""   // the answer typed
	answeredUpTo := 0  // where the next prompt's Context starts
	var runErr error
	tick := time.NewTicker(quiet / 3)
	defer tick.Stop()
loop:
	for {
		select {
		case err := <-waitDone:
			res.ExitCode = exitCode(err)
			break loop
		case <-ctx.Done():
			kill()
			res.TimedOut = true
			runErr = fmt.Errorf("%s: %w after %v", t.Argv[0], ErrTimeout, timeout)
			res.ExitCode = exitCode(<-waitDone)
			break loop
		case <-tick.C:
		}
		complete, partial, partialAt, last, _ := tr.state()
		if partial == "" || time.Since(last) < quiet {
			continue
		}
		if complete == answeredLine {
			// The line answered last is still unfinished: a new prompt
			// only if the program wrote more to it than the echo.
			if partial == answeredText || partial == answeredText+lastAnswer {
				continue
			}
		}
		p := Prompt{At: partialAt, Text: partial, Context: tr.since(answeredUpTo)}
		if p.Context == "" {
			p.Context = partial
		}
		answer, err := respond(p)
		if errors.Is(err, ErrNotAPrompt) {
			answeredLine, answeredText, lastAnswer = complete, partial, ""
			continue
		}
		if err != nil {
			kill()
			runErr = fmt.Errorf("%s: %w", t.Argv[0], err)
			res.ExitCode = exitCode(<-waitDone)
			break loop
		}
		p.Answer = answer
		res.Prompts = append(res.Prompts, p)
		answeredLine, answeredUpTo, answeredText, lastAnswer = complete, complete+1, partial, answer
		if _, err := master.Write([]byte(answer + "\n")); err != nil {
			runErr = fmt.Errorf("typing an answer: %w", err)
			kill()
			res.ExitCode = exitCode(<-waitDone)
			break loop
		}
	}
	// Processes the session started may still hold the terminal: give the
	// reader a moment to drain, then kill the session and close.
	select {
	case <-readDone:
	case <-time.After(2 * time.Second):
		kill()
		master.Close()
		<-readDone
	}
	return res, runErr
}

// exitCode returns the exit status in a Wait error, or -1.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		return ee.ExitCode()
	}
	return -1
}

// commandLine is the command that ran, quoted for a log line.
func (r *TerminalResult) commandLine() string { return quoteArgv(r.Argv) }

// quoteArgv formats argv for a log line.
func quoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$\\") {
			q[i] = fmt.Sprintf("%q", a)
		} else {
			q[i] = a
		}
	}
	return strings.Join(q, " ")
}

// DuoAnswers is Answers for logins through pam_duo_go under sshd, where
// the module carries a pending push's status (and a Verified Push code) in
// a prompt whose answer it ignores: those prompts get Enter, and every
// other prompt gets the next answer.
func DuoAnswers(answers ...string) Responder {
	next := Answers(answers...)
	return func(p Prompt) (string, error) {
		if strings.Contains(p.Text, "Press Enter after you answer on your device") ||
			strings.Contains(p.Text, "Press Enter to send the push") {
			return "", nil
		}
		return next(p)
	}
}
