package keeper

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pam-duo-go/pam_duo_go/internal/remember"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServe(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the remember store must be owned by root")
	}
	good := remember.Scope{User: "alice", Service: "login_duo_go", RHost: "192.0.2.1"}
	request := func(sc remember.Scope) string {
		b, err := json.Marshal(keeperRequest{Scope: sc, Token: "tok", MaxAge: time.Hour})
		require.NoError(t, err)
		return string(b)
	}
	tests := []struct {
		name  string
		in    string
		exit  int
		saved bool
	}{
		{"an approval of the user in the service", request(good), 0, true},
		{"nothing: the login saved nothing", "", 0, false},
		{"another user", request(remember.Scope{User: "bob", Service: "login_duo_go"}), 2, false},
		{"another service", request(remember.Scope{User: "alice", Service: "sshd"}), 2, false},
		{"not JSON", "{", 2, false},
		{"too large", strings.Repeat(" ", maxKeeperInput+1), 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &remember.Store{Dir: filepath.Join(t.TempDir(), "remember")}
			assert.Equal(t, tt.exit, serve(strings.NewReader(tt.in), "alice", "login_duo_go", store, time.Minute))
			_, ok, _ := store.Lookup(good, time.Hour)
			assert.Equal(t, tt.saved, ok, "saved")
		})
	}
}
