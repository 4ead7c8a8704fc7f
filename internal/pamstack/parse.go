// Package pamstack reads a PAM configuration directory (/etc/pam.d),
// follows @include, include and substack, and reports the stacks that lock
// people out of pam_duo_go or let them past it ("check --pam-stack").
package pamstack

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// maxDepth bounds include nesting (libpam's own limit is similar); deeper
// nesting or a loop is reported, never followed forever.
const maxDepth = 16

// maxFileSize bounds how much of one PAM file is read.
const maxFileSize = 1 << 20

// Rule is one line of a PAM file.
type Rule struct {
	File    string   // file name inside the directory (or the include target as written)
	Line    int      // 1-based line number (of the line's start, for continued lines)
	Type    string   // auth, account, password, session; "@include" for Debian's whole-file include
	Dash    bool     // the type had a leading "-": a missing module is silently skipped
	Control string   // the control field as written: required, [success=1 default=ignore], include, substack
	Module  string   // module path or name (the include target for include/substack/@include)
	Args    []string // module arguments
}

// IsInclude reports whether r pulls in another file.
func (r Rule) IsInclude() bool {
	return r.Type == "@include" || r.Control == "include" || r.Control == "substack"
}

// File is a parsed PAM file.
type File struct {
	Name  string
	Rules []Rule
	// Raw is the file's text, for the checks that look at comments
	// (pam-auth-update and authselect markers).
	Raw string
	// Symlink is the link target when the file is a symbolic link.
	Symlink string
}

// ReadFile reads and parses the PAM file name in dir. A symbolic link
// with an absolute target is followed under root ("" or "/" for the host),
// so that a copied tree (authselect's links into /etc/authselect) reads
// its own files.
func ReadFile(dir, name, root string) (*File, error) {
	p := filepath.Join(dir, name)
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, fmt.Errorf("pam file %s: %w", name, err)
	}
	f := &File{Name: name}
	if fi.Mode()&os.ModeSymlink != 0 {
		if f.Symlink, err = os.Readlink(p); err != nil {
			return nil, fmt.Errorf("pam file %s: %w", name, err)
		}
	}
	if filepath.IsAbs(f.Symlink) && root != "" && root != "/" {
		p = filepath.Join(root, f.Symlink)
	}
	data, err := readBounded(p)
	if err != nil {
		return nil, fmt.Errorf("pam file %s: %w", name, err)
	}
	f.Raw = string(data)
	f.Rules = Parse(name, data)
	return f, nil
}

func readBounded(p string) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO someone left in the directory must not
	// wait for a writer.
	fh, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", maxFileSize)
	}
	return data, nil
}

// Parse parses the text of one PAM file (pam.d format: no service
// column). Comments, blank lines and lines it cannot read are skipped;
// a bracketed control may contain spaces; a trailing backslash continues
// a line.
func Parse(name string, data []byte) []Rule {
	var rules []Rule
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxFileSize+1)
	lineNo, start := 0, 0
	var pending strings.Builder
	for sc.Scan() {
		lineNo++
		text := sc.Text()
		if pending.Len() == 0 {
			start = lineNo
		}
		if strings.HasSuffix(text, "\\") {
			pending.WriteString(strings.TrimSuffix(text, "\\"))
			pending.WriteByte(' ')
			continue
		}
		pending.WriteString(text)
		full := pending.String()
		pending.Reset()
		if r, ok := parseLine(full); ok {
			r.File, r.Line = name, start
			rules = append(rules, r)
		}
	}
	return rules
}

func parseLine(s string) (Rule, bool) {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return Rule{}, false
	}
	if strings.HasPrefix(s, "@include") {
		f := strings.Fields(s)
		if len(f) < 2 || f[0] != "@include" {
			return Rule{}, false
		}
		return Rule{Type: "@include", Control: "@include", Module: f[1]}, true
	}
	f := strings.Fields(s)
	if len(f) < 3 {
		return Rule{}, false
	}
	var r Rule
	r.Type = strings.ToLower(f[0])
	if strings.HasPrefix(r.Type, "-") {
		r.Dash, r.Type = true, r.Type[1:]
	}
	rest := strings.TrimSpace(strings.TrimPrefix(s, f[0]))
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return Rule{}, false
		}
		r.Control = "[" + strings.Join(strings.Fields(rest[1:end]), " ") + "]"
		rest = rest[end+1:]
	} else {
		r.Control = strings.ToLower(f[1])
		rest = strings.TrimSpace(strings.TrimPrefix(rest, f[1]))
	}
	mf := strings.Fields(rest)
	if len(mf) == 0 {
		return Rule{}, false
	}
	r.Module, r.Args = mf[0], mf[1:]
	return r, true
}

// ModuleName is the module's base name: "pam_unix.so" for
// "/lib/x86_64-linux-gnu/security/pam_unix.so".
func (r Rule) ModuleName() string { return filepath.Base(r.Module) }

// Arg returns the value of the module argument key=value, and whether it
// was given.
func (r Rule) Arg(key string) (string, bool) {
	for _, a := range r.Args {
		if v, ok := strings.CutPrefix(a, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// controlActions is a parsed control: the action for each PAM return value name
// ("success", "ignore", "auth_err", ... and "default").
type controlActions map[string]string

// parseControl turns a control (keyword or bracketed list) into actions.
// The keywords expand as pam.conf(5) defines them.
func parseControl(control string) controlActions {
	switch control {
	case "required":
		return controlActions{"success": "ok", "new_authtok_reqd": "ok", "ignore": "ignore", "default": "bad"}
	case "requisite":
		return controlActions{"success": "ok", "new_authtok_reqd": "ok", "ignore": "ignore", "default": "die"}
	case "sufficient":
		return controlActions{"success": "done", "new_authtok_reqd": "done", "default": "ignore"}
	case "optional":
		return controlActions{"success": "ok", "new_authtok_reqd": "ok", "default": "ignore"}
	}
	a := controlActions{}
	if !strings.HasPrefix(control, "[") {
		return a
	}
	for _, kv := range strings.Fields(strings.Trim(control, "[]")) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		a[strings.ToLower(k)] = strings.ToLower(v)
	}
	return a
}

// For returns the action for the return value named rv.
func (a controlActions) For(rv string) string {
	if v, ok := a[rv]; ok {
		return v
	}
	if v, ok := a["default"]; ok {
		return v
	}
	return "bad"
}

// jump returns N for a numeric action.
func jump(action string) (int, bool) {
	n, err := strconv.Atoi(action)
	return n, err == nil && n > 0
}
