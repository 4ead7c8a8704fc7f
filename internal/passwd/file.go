package passwd

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// lookupFile finds q in a passwd(5) file: the lookup without cgo, and
// what the tests compare the C library's answer with.
func lookupFile(path string, q query) (*Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), maxLine)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) != 7 {
			continue
		}
		uid, err := strconv.Atoi(fields[2])
		if err != nil {
			continue
		}
		if q.byName && fields[0] != q.name || !q.byName && uid != q.uid {
			continue
		}
		gid, err := strconv.Atoi(fields[3])
		if err != nil {
			continue
		}
		return &Entry{Name: fields[0], UID: uid, GID: gid, Gecos: fields[4], Dir: fields[5], Shell: fields[6]}, nil
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, ErrNotFound
}

// maxLine bounds one line of a passwd file.
const maxLine = 1 << 20
