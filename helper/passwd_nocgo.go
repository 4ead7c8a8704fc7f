//go:build !cgo

package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func lookupUIDImpl(uid int) (*passwd, error) {
	return lookupPasswdFile("/etc/passwd", uid)
}

// lookupPasswdFile finds uid in a passwd(5) file.
func lookupPasswdFile(path string, uid int) (*passwd, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("look up uid %d: %w", uid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) != 7 {
			continue
		}
		u, err := strconv.Atoi(fields[2])
		if err != nil || u != uid {
			continue
		}
		g, err := strconv.Atoi(fields[3])
		if err != nil {
			return nil, fmt.Errorf("look up uid %d: bad gid in %s", uid, path)
		}
		return &passwd{Name: fields[0], UID: u, GID: g, Dir: fields[5], Shell: fields[6]}, nil
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("look up uid %d: %w", uid, err)
	}
	return nil, fmt.Errorf("look up uid %d: %w", uid, errNoSuchUser)
}
