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

// Returns says what each module returns in a simulated run: a PAM return
// value's name as pam.conf(5) spells it ("success", "ignore", "auth_err").
type Returns func(Rule) string

// Outcome is the result of a simulated run of a stack.
type Outcome struct {
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

// Simulate runs a stack as libpam's dispatcher does (pam_dispatch.c: the
// impression/status machine, ok, done, bad, die, ignore, reset and jumps),
// with each module returning what ret says.
func Simulate(nodes []Node, ret Returns) Outcome {
	o := Outcome{Ran: map[string]bool{}}
	imp, status := simulate(nodes, ret, o.Ran)
	o.Success = imp == positive && status == "success"
	o.Status = status
	if imp != positive && imp != negative {
		o.Status = "perm_denied"
	}
	return o
}

func simulate(nodes []Node, ret Returns, ran map[string]bool) (int, string) {
	imp, status := undef, "perm_denied"
	skip := 0
	for _, n := range nodes {
		if skip > 0 {
			skip--
			continue
		}
		var rv string
		var actions Actions
		if n.Sub != nil {
			si, ss := simulate(n.Sub, ret, ran)
			switch {
			case si == positive && ss == "success":
				rv = "success"
			case si == undef:
				rv = "perm_denied"
			default:
				rv = ss
			}
			actions = ParseControl("required")
		} else {
			ran[n.Rule.Key()] = true
			rv = ret(n.Rule)
			actions = ParseControl(n.Rule.Control)
		}
		act := actions.For(rv)
		switch act {
		case "ignore":
		case "bad", "die":
			if imp != negative {
				imp, status = negative, rv
			}
			if act == "die" {
				return imp, status
			}
		case "ok", "done":
			if (imp == undef || (imp == positive && status == "success")) && rv != "ignore" {
				imp, status = positive, rv
			}
			if imp != negative && act == "done" {
				return imp, status
			}
		case "reset":
			imp, status = undef, "perm_denied"
		default:
			if j, ok := jump(act); ok {
				if (imp == undef || (imp == positive && status == "success")) && rv != "ignore" {
					imp, status = positive, rv
				}
				skip = j
			} else if imp != negative { // an action libpam does not know: treated as bad
				imp, status = negative, rv
			}
		}
	}
	return imp, status
}

// isModule reports whether r loads the module named name (a bare name or
// any path ending in it).
func isModule(r Rule, name string) bool {
	return !r.IsInclude() && strings.EqualFold(r.ModuleName(), name)
}
