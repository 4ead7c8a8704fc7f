package duo_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
)

// observed is one call of Options.Observe.
type observed struct {
	endpoint string
	status   int
}

// recorder collects Observe calls.
type recorder struct {
	mu    sync.Mutex
	calls []observed
	total time.Duration
}

func (r *recorder) observe(endpoint string, status int, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, observed{endpoint, status})
	r.total += d
}

// TestObserveEachRoundTrip: Observe sees every HTTP round trip once, each
// 429 and its retry included, with its status, and adds no request.
func TestObserveEachRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		fault *duotest.Fault
		call  func(context.Context, *duo.Client) error
		path  string
		want  []observed
	}{
		{"ping", nil, func(ctx context.Context, c *duo.Client) error { _, err := c.Ping(ctx); return err },
			"/auth/v2/ping", []observed{{"ping", 200}}},
		{"preauth", nil, func(ctx context.Context, c *duo.Client) error {
			_, err := c.Preauth(ctx, duo.PreauthRequest{Username: "alice"})
			return err
		}, "/auth/v2/preauth", []observed{{"preauth", 200}}},
		{"preauth after two 429s", &duotest.Fault{Status: 429, RetryAfter: "0", Times: 2}, func(ctx context.Context, c *duo.Client) error {
			_, err := c.Preauth(ctx, duo.PreauthRequest{Username: "alice"})
			return err
		}, "/auth/v2/preauth", []observed{{"preauth", 429}, {"preauth", 429}, {"preauth", 200}}},
		{"auth refused", &duotest.Fault{Status: 400}, func(ctx context.Context, c *duo.Client) error {
			_, err := c.Auth(ctx, duo.AuthRequest{Username: "alice", Factor: duo.FactorPasscode, Passcode: "123456"})
			return err
		}, "/auth/v2/auth", []observed{{"auth", 400}}},
		{"no answer", &duotest.Fault{CloseConnection: true, Times: -1}, func(ctx context.Context, c *duo.Client) error {
			_, err := c.Ping(ctx)
			return err
		}, "/auth/v2/ping", []observed{{"ping", 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := duotest.NewServer()
			defer s.Close()
			s.AddUser(duotest.User{Name: "alice", Passcodes: []string{"123456"}})
			if tt.fault != nil {
				s.Inject(tt.path, *tt.fault)
			}
			rec := &recorder{}
			o := s.ClientOptions()
			o.Observe = rec.observe
			o.Timeout = 5 * time.Second
			c, err := duo.New(o)
			require.NoError(t, err)
			defer c.Close()
			_ = tt.call(testCtx(t), c)
			assert.Equal(t, tt.want, rec.calls)
			assert.Len(t, s.Requests(), len(tt.want), "one round trip observed per request the server saw")
			assert.Positive(t, rec.total)
		})
	}
}

// TestObserveOffAddsNothing: without Observe the same calls make the same
// requests (the hook adds none).
func TestObserveOffAddsNothing(t *testing.T) {
	counts := map[bool]int{}
	for _, on := range []bool{false, true} {
		s := duotest.NewServer()
		s.AddUser(duotest.User{Name: "alice", Passcodes: []string{"123456"}})
		o := s.ClientOptions()
		if on {
			o.Observe = (&recorder{}).observe
		}
		c, err := duo.New(o)
		require.NoError(t, err)
		_, err = c.Preauth(testCtx(t), duo.PreauthRequest{Username: "alice"})
		require.NoError(t, err)
		_, err = c.Auth(testCtx(t), duo.AuthRequest{Username: "alice", Factor: duo.FactorPasscode, Passcode: "123456"})
		require.NoError(t, err)
		c.Close()
		counts[on] = len(s.Requests())
		s.Close()
	}
	assert.Equal(t, 2, counts[false])
	assert.Equal(t, counts[false], counts[true])
}
