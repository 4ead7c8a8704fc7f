package duo

import "crypto/x509"

// What only duo's tests use, exported for its external tests (package
// duo_test) too.

// DefaultMaxRetryWait is the retry budget New applies when
// Options.MaxRetryWait is 0.
const DefaultMaxRetryWait = defaultMaxRetryWait

// DuoRoots returns a new pool holding the embedded roots that New trusts
// when neither Options.RootCAs nor Options.CAFile is set.
func DuoRoots() (*x509.CertPool, error) {
	pool, err := duoRoots()
	if err != nil {
		return nil, err
	}
	return pool.Clone(), nil
}
