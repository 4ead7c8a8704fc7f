package duo_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pam-duo-go/pam_duo_go/duo"
	"github.com/pam-duo-go/pam_duo_go/duo/duotest"
)

// TestProbe: the probe pings over a new connection, never one that an
// earlier call left in the pool, and its errors classify like any call's.
func TestProbe(t *testing.T) {
	s := duotest.NewServer()
	defer s.Close()
	s.AddUser(duotest.User{Name: "alice", Preauth: duo.ResultAllow})
	c, err := duo.New(s.ClientOptions())
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()

	_, err = c.Preauth(ctx, duo.PreauthRequest{Username: "alice"})
	require.NoError(t, err)
	require.Equal(t, 1, s.Connections())
	require.NoError(t, c.Probe(ctx, 2*time.Second))
	assert.Equal(t, 2, s.Connections(), "a fresh connection for the probe")
	assert.Len(t, s.RequestsTo("/auth/v2/ping"), 1)

	s.Inject("/auth/v2/ping", duotest.Fault{Status: 503, Times: 1})
	err = c.Probe(ctx, 2*time.Second)
	assert.Equal(t, duo.KindOutage, duo.Classify(err), "%v", err)

	s.Inject("/auth/v2/ping", duotest.Fault{HTML: true, Status: 403, Times: 1})
	err = c.Probe(ctx, 2*time.Second)
	assert.Equal(t, duo.KindRefused, duo.Classify(err), "%v", err)

	s.Inject("/auth/v2/ping", duotest.Fault{Hang: true, Times: 1})
	start := time.Now()
	err = c.Probe(ctx, 300*time.Millisecond)
	assert.Equal(t, duo.KindOutage, duo.Classify(err), "%v", err)
	assert.Less(t, time.Since(start), 5*time.Second, "bounded by its timeout")
}
