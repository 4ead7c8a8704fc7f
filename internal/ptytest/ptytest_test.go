package ptytest

import (
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestPTY drives a program by hand on the pseudo-terminal: what it
// shows, what is typed, its exit status.
func TestPTY(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("skipping: no sh")
	}
	p := Open(t)
	cmd := exec.Command("/bin/sh", "-c", `stty -echo; printf 'Code: '; read a; stty echo; echo; echo "got $a"; exit 4`)
	p.Start(t, cmd)
	at := p.WaitForAfter(t, 0, "Code: ", 10*time.Second)
	p.Type(t, "1234\n")
	p.WaitForAfter(t, at, "got 1234\n", 10*time.Second)
	assert.Equal(t, 4, p.Wait(t, cmd, 10*time.Second), "exit status")
	assert.Equal(t, "Code: \ngot 1234\n", p.Screen(), "echo off hides what was typed")
}
