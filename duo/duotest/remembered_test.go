package duotest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
)

// The Remembered Devices policy: every allow carries the token, and a
// preauth with that token (only that one) answers allow.
func TestRememberedDevices(t *testing.T) {
	s := duotest.NewServer()
	defer s.Close()
	s.AddUser(duotest.User{Name: "alice", Passcodes: []string{"123456"}, TrustedDeviceToken: "TDT1"})
	s.AddUser(duotest.User{Name: "bob", Passcodes: []string{"123456"}})
	s.AddUser(duotest.User{Name: "carol", Passcodes: []string{"123456"}, TrustedDeviceToken: "TDT3", LockedOut: true})
	c := newClient(t, s)

	tests := []struct {
		name, user, token, want string
	}{
		{"no token", "alice", "", duo.ResultAuth},
		{"the token", "alice", "TDT1", duo.ResultAllow},
		{"another token", "alice", "TDT2", duo.ResultAuth},
		{"another user's token", "bob", "TDT1", duo.ResultAuth},
		{"locked out", "carol", "TDT3", duo.ResultAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pre, err := c.Preauth(ctx(t), duo.PreauthRequest{Username: tt.user, TrustedDeviceToken: tt.token})
			require.NoError(t, err)
			assert.Equal(t, tt.want, pre.Result)
		})
	}

	for _, async := range []bool{false, true} {
		for _, factor := range []string{duo.FactorPasscode, duo.FactorPush} {
			req := duo.AuthRequest{Username: "alice", Factor: factor, Device: "auto", Async: async}
			if factor == duo.FactorPasscode {
				req.Passcode, req.Device = "123456", ""
			}
			resp, err := c.Auth(ctx(t), req)
			require.NoError(t, err)
			token := resp.TrustedDeviceToken
			if async {
				require.NotEmpty(t, resp.TxID)
				for range 5 {
					st, err := c.AuthStatus(ctx(t), resp.TxID)
					require.NoError(t, err)
					if st.Result != duo.ResultWaiting {
						require.Equal(t, duo.ResultAllow, st.Result)
						token = st.TrustedDeviceToken
						break
					}
					assert.Empty(t, st.TrustedDeviceToken, "only the allow carries it")
				}
			}
			assert.Equal(t, "TDT1", token, "factor %s async %v", factor, async)
		}
	}
	resp, err := c.Auth(ctx(t), duo.AuthRequest{Username: "alice", Factor: duo.FactorPasscode, Passcode: "000000"})
	require.NoError(t, err)
	assert.Empty(t, resp.TrustedDeviceToken, "a deny carries no token")
}
