// Package build checks the build's bookkeeping without building: that the
// Makefile rebuilds the Go binaries for a changed source file but not for a
// changed test (make -q on a copy of the tree, with the build outputs
// faked newer than every source), and that the version is written in one
// place, the file VERSION, with which debian/changelog, the rpm spec and
// the man pages (whose formats need it written out) agree.
package build
