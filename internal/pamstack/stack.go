package pamstack

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Node is one entry of an expanded stack: a module line, or a substack
// (evaluated on its own, then counted as one required module).
type Node struct {
	Rule Rule
	Sub  []Node // set for a substack
}

// Dir is a PAM configuration directory read once, with its files cached.
type Dir struct {
	Path  string
	Root  string // see ReadFile
	files map[string]*File
	errs  map[string]error
}

// OpenDir prepares dir for reading; files are read on first use.
func OpenDir(path, root string) *Dir {
	return &Dir{Path: path, Root: root, files: map[string]*File{}, errs: map[string]error{}}
}

// File returns the parsed file name (a name in the directory, or an
// absolute path as an include may give).
func (d *Dir) File(name string) (*File, error) {
	if f, ok := d.files[name]; ok {
		return f, nil
	}
	if err, ok := d.errs[name]; ok {
		return nil, err
	}
	dir, base := d.Path, name
	if filepath.IsAbs(name) {
		dir, base = filepath.Dir(name), filepath.Base(name)
	}
	f, err := ReadFile(dir, base, d.Root)
	if err != nil {
		d.errs[name] = err
		return nil, err
	}
	f.Name = name
	d.files[name] = f
	return f, nil
}

// IncludeError is an include that could not be followed.
type IncludeError struct {
	Rule Rule
	Err  error
}

// Expand returns the stack of type typ (auth, account, ...) of service,
// with @include and include inlined and substacks nested, and the includes
// it could not follow.
func (d *Dir) Expand(service, typ string) ([]Node, []IncludeError) {
	var errs []IncludeError
	nodes := d.expand(service, typ, 0, map[string]bool{}, &errs)
	return nodes, errs
}

func (d *Dir) expand(name, typ string, depth int, active map[string]bool, errs *[]IncludeError) []Node {
	f, err := d.File(name)
	if err != nil {
		return nil
	}
	active[name] = true
	defer delete(active, name)
	var out []Node
	for _, r := range f.Rules {
		if r.Type != "@include" && r.Type != typ {
			continue
		}
		if !r.IsInclude() {
			out = append(out, Node{Rule: r})
			continue
		}
		target := r.Module
		switch {
		case depth+1 > maxDepth:
			*errs = append(*errs, IncludeError{r, fmt.Errorf("includes nested deeper than %d", maxDepth)})
			continue
		case active[target]:
			*errs = append(*errs, IncludeError{r, fmt.Errorf("include loop through %s", target)})
			continue
		}
		if _, err := d.File(target); err != nil {
			*errs = append(*errs, IncludeError{r, err})
			continue
		}
		sub := d.expand(target, typ, depth+1, active, errs)
		if r.Control == "substack" {
			out = append(out, Node{Rule: r, Sub: sub})
		} else {
			out = append(out, sub...)
		}
	}
	return out
}

// Flatten lists the module lines of a stack in order, substacks inlined.
func Flatten(nodes []Node) []Rule {
	var out []Rule
	for _, n := range nodes {
		if n.Sub != nil {
			out = append(out, Flatten(n.Sub)...)
		} else {
			out = append(out, n.Rule)
		}
	}
	return out
}

// returnFunc says what each module returns in a simulated run: a PAM return
// value's name as pam.conf(5) spells it ("success", "ignore", "auth_err").
type returnFunc func(Rule) string

// outcome is the result of a simulated run of a stack.
type outcome struct {
	Success bool
	Status  string          // the return value name libpam would return
	Ran     map[string]bool // keys (Key) of the module lines that ran
}

// Key identifies a rule in traces: "file:line".
func (r Rule) Key() string { return fmt.Sprintf("%s:%d", r.File, r.Line) }

const (
	undef = iota
	positive
	negative
)

// mustFail is libpam's PAM_MUST_FAIL_CODE.
const mustFail = "perm_denied"

// handler is one entry of the list libpam walks: substacks are inlined
// one level deeper, after an entry that stands for the substack line.
type handler struct {
	rule  Rule
	level int
	sub   bool
}

func handlers(nodes []Node, level int, out []handler) []handler {
	for _, n := range nodes {
		if n.Sub != nil {
			out = append(out, handler{rule: n.Rule, level: level, sub: true})
			out = handlers(n.Sub, level+1, out)
			continue
		}
		out = append(out, handler{rule: n.Rule, level: level})
	}
	return out
}

// simulate runs a stack as libpam's dispatcher does for pam_authenticate,
// with each module returning what ret says. The rules, as pam.conf(5)
// and Linux-PAM 1.5 behave (TestSimulateMatchesLibpam holds it to the
// real libpam):
//   - the stack keeps one impression (undecided, positive, negative) and
//     one status, shared by substacks; it starts undecided, status
//     PAM_PERM_DENIED;
//   - ok and done make it positive with the module's value while it is
//     undecided or positive with PAM_SUCCESS; done then ends the stack
//     (a substack: only it) if the impression is positive;
//   - bad and die make it negative with the module's value (PAM_IGNORE
//     becomes PAM_PERM_DENIED) unless it is already negative; die then
//     ends the (sub)stack;
//   - reset restores what it was when the (sub)stack was entered;
//   - a jump N skips the next N lines of the same (sub)stack without
//     changing the impression; jumping past its end fails the stack;
//   - the result is success only with a positive impression and
//     PAM_SUCCESS.
func simulate(nodes []Node, ret returnFunc) outcome {
	o := outcome{Ran: map[string]bool{}}
	hs := handlers(nodes, 0, nil)
	type saved struct {
		imp    int
		status string
	}
	imp, status := undef, mustFail
	entry := map[int]saved{0: {imp, status}}
	prev := 0
	for i := 0; i < len(hs); i++ {
		h := hs[i]
		if h.level > prev {
			entry[h.level] = saved{imp, status}
		}
		prev = h.level
		if h.sub {
			continue
		}
		o.Ran[h.rule.Key()] = true
		rv := ret(h.rule)
		act := parseControl(h.rule.Control).For(rv)
		decided := false
		switch act {
		case "ignore":
		case "reset":
			imp, status = entry[h.level].imp, entry[h.level].status
		case "ok", "done":
			if imp == undef || (imp == positive && status == "success") {
				imp, status = positive, rv
			}
			decided = imp == positive && act == "done"
		case "bad", "die":
			if imp != negative {
				imp, status = negative, rv
				if rv == "ignore" {
					status = mustFail
				}
			}
			decided = act == "die"
		default:
			n, ok := jump(act)
			for ok && n > 0 && i+1 < len(hs) && hs[i+1].level >= h.level {
				i++
				for i+1 < len(hs) && hs[i+1].level > h.level {
					i++
				}
				n--
			}
			if !ok || n > 0 { // an unknown action, or a jump past the end
				imp, status = negative, mustFail
			}
		}
		if decided { // skip the rest of this (sub)stack
			for i+1 < len(hs) && hs[i+1].level >= h.level {
				i++
			}
		}
	}
	if status == "success" && imp != positive {
		status = mustFail
	}
	o.Success = status == "success"
	o.Status = status
	return o
}

// isModule reports whether r loads the module named name (a bare name or
// any path ending in it).
func isModule(r Rule, name string) bool {
	return !r.IsInclude() && strings.EqualFold(r.ModuleName(), name)
}
