//go:build race

package main

// raceEnabled: the tests run with -race, so the binaries they build do too.
const raceEnabled = true
