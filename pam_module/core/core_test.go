package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCommandIsSudoCommand: the core gives the handler SUDO_COMMAND as the
// process has it and nothing else, as the C module gives the worker: with
// SUDO_COMMAND unset the command is empty, not this process's command
// line.
func TestCommandIsSudoCommand(t *testing.T) {
	var h handle // Command reads no PAM item
	t.Setenv("SUDO_COMMAND", "/usr/bin/id -u")
	assert.Equal(t, "/usr/bin/id -u", h.Command())
	os.Unsetenv("SUDO_COMMAND") // t.Setenv restores it at the end
	assert.Empty(t, h.Command(), "no SUDO_COMMAND: no command, whatever the process's command line")
}
