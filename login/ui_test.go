package login

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestNewTalk: what each UI lets the flow do, as the five flags the front
// ends set before there was a UI (login_duo_go headless set Headless and
// NoProgress, sshd StatusPrompt and HeadlessFallback).
func TestNewTalk(t *testing.T) {
	for _, tt := range []struct {
		name string
		ui   UI
		want talk
	}{
		{"interactive", UI{}, talk{progress: true, courtesy: true}},
		{"interactive, quiet", UI{Quiet: true}, talk{progress: true}},
		{"sshd", UI{Mode: HeldInfo}, talk{statusPrompt: true, fallback: true, progress: true, courtesy: true}},
		{"sshd, quiet", UI{Mode: HeldInfo, Quiet: true}, talk{statusPrompt: true, fallback: true, progress: true}},
		{"headless", UI{Mode: Headless}, talk{headless: true}},
		{"headless, quiet", UI{Mode: Headless, Quiet: true}, talk{headless: true}},
	} {
		assert.Equal(t, tt.want, newTalk(tt.ui), tt.name)
	}
}

// TestGoHeadlessKeepsParams: going headless changes the session's way of
// talking, never the Params the caller passed.
func TestGoHeadlessKeepsParams(t *testing.T) {
	p := Params{UI: UI{Mode: HeldInfo}}
	s := &session{p: p, talk: newTalk(p.UI)}
	s.goHeadless(errors.New("conversation refused the prompt"))
	assert.Equal(t, UI{Mode: HeldInfo}, s.p.UI)
	assert.Equal(t, talk{headless: true, fallback: true, progress: true, courtesy: true}, s.talk)
	assert.True(t, s.unprompted, "no prompt was answered before")
}
