// Package spec owns the benchmark spec file format: it decodes YAML into a
// validated benchrig.Spec, reports every problem of a spec with its line and
// field, and applies --set overrides to a parsed spec.
//
// The decoder walks yaml.Node trees by hand rather than unmarshalling into
// structs, because struct decoding loses the line of most problems and stops
// at the first one; a user fixing a spec wants all of them, each located.
package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/yamlnode"
	"gopkg.in/yaml.v3"
)

// Defaults of a spec, applied where the file says nothing.
const (
	DefaultRepeat = 10 // fixed trials per case
	DefaultWarmup = 1  // one warmup trial absorbs cold caches and lazy loading

	// Adaptive repetition defaults: 5 trials is the fewest that give a
	// usable confidence interval of the median; 30 bounds the cost of a
	// noisy case.
	DefaultAdaptiveMin = 5
	DefaultAdaptiveMax = 30

	// maxUntilCI is the loosest accepted stopping width. A half-width of
	// more than half the median says nothing useful about a difference.
	maxUntilCI = 0.5
)

var (
	nameRE      = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	paramNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// topFields are the known top-level fields, in the order the docs list them.
var topFields = []string{
	"name", "description", "command", "params", "exclude", "repeat", "warmup", "timeout",
	"env", "workdir", "setup", "prepare", "cleanup", "throughput", "image", "images",
	"baseline", "order", "scaling", "instances", "requires", "resources", "cache",
	"ceiling", "pools", "placement", "container", "expect", "collect", "profile",
}

// maxInstances bounds instances: more copies than this on one node measure
// the scheduler, not the program.
const maxInstances = 1024

// MaxBytes bounds a spec file: the largest reference benchmark is 4 KiB,
// and reading is refused past this rather than growing without end (a spec
// named /dev/zero by mistake).
const MaxBytes = 1 << 20

// DefaultMaxCases bounds the matrix a spec may make unless the user raises
// it (run and validate --max-cases): each case is planned, recorded and
// reported, and 3 params of 200 values (8,000,000 cases) would exhaust the
// machine before the first trial.
const DefaultMaxCases = 10000

// Load reads the spec file at path and parses it.
func Load(path string) (*benchrig.Spec, error) {
	data, err := readLimited(path)
	if err != nil {
		// The *PathError repeats the path; keep only its reason since File
		// already names it.
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &benchrig.Error{Code: benchrig.EInvalid, File: path, Msg: "read spec", Err: err}
	}
	return Parse(path, data)
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("larger than %d KiB: not a spec (specs are small YAML files)", MaxBytes>>10)
	}
	return data, nil
}

// CheckCases refuses a spec whose matrix has more than max cases (<= 0:
// DefaultMaxCases), before anything expands it.
func CheckCases(s *benchrig.Spec, max int) error {
	if max <= 0 {
		max = DefaultMaxCases
	}
	if n := benchrig.CountCases(s.Params, s.Exclude); n > max {
		count := strconv.Itoa(n)
		if n == math.MaxInt {
			count = "more than " + strconv.Itoa(math.MaxInt)
		}
		return &benchrig.Error{Code: benchrig.EInvalid, File: s.File, Field: "params",
			Msg: fmt.Sprintf("the matrix has %s cases, more than the %d allowed: narrow it with --set, or raise the cap with --max-cases", count, max)}
	}
	return nil
}

// Parse decodes and validates the spec in data, which was read from file
// ("" when it comes from memory). On failure it returns benchrig.Errors
// holding every problem found, sorted by line.
func Parse(file string, data []byte) (*benchrig.Spec, error) {
	p := &parser{Problems: yamlnode.Problems{File: file}}
	var s *benchrig.Spec
	if doc := p.document(data); doc != nil {
		s = p.spec(doc)
	}
	if len(p.Errs) > 0 {
		sort.SliceStable(p.Errs, func(i, j int) bool { return p.Errs[i].Line < p.Errs[j].Line })
		return nil, p.Errs
	}
	sum := sha256.Sum256(data)
	s.File = file
	s.Hash = hex.EncodeToString(sum[:])
	s.Source = bytes.Clone(data)
	return s, nil
}

// parser holds the state of one Parse call.
type parser struct {
	yamlnode.Problems

	params     []benchrig.Param
	paramsOK   bool // params decoded without problems, so the baseline can be judged
	namesKnown bool // every param name is known, so template references can be judged
	// sample maps each param to its first value: templates are executed
	// against it to find references to unknown params and runtime errors.
	sample map[string]string
}

// document returns the content of the spec's single YAML document, or nil
// after recording why there is none.
func (p *parser) document(data []byte) *yaml.Node {
	doc, ok := p.Document(data, "a spec file")
	switch {
	case !ok:
		return nil
	case doc == nil:
		p.Errorf(nil, "", "spec is empty")
		return nil
	}
	content := yamlnode.Content(doc)
	if content == nil {
		p.Errorf(doc, "", "spec is empty")
	}
	return content
}

func (p *parser) spec(n *yaml.Node) *benchrig.Spec {
	n = yamlnode.Deref(n)
	if yamlnode.IsNull(n) {
		p.Errorf(n, "", "spec is empty")
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, "", "expected a mapping of spec fields, got %s", yamlnode.Describe(n))
		return nil
	}
	s := &benchrig.Spec{
		Repeat: benchrig.Repeat{Min: DefaultRepeat, Max: DefaultRepeat},
		Warmup: DefaultWarmup,
		Order:  benchrig.Interleaved,
	}
	fields := map[string]pair{}
	for _, kv := range p.mapping(n, "") {
		if !contains(topFields, kv.key) {
			p.UnknownField(kv.k, kv.key, "", topFields)
			continue
		}
		fields[kv.key] = kv
	}
	// present returns the value of a field, or nil when it is absent or
	// null: an empty "env:" means the same as no env.
	present := func(name string) (*yaml.Node, bool) {
		kv, ok := fields[name]
		if !ok || yamlnode.IsNull(kv.v) {
			return nil, false
		}
		return kv.v, true
	}

	if v, ok := present("name"); ok {
		if name, ok := p.Scalar(v, "name", "a name"); ok {
			if !nameRE.MatchString(name) {
				p.Errorf(v, "name", "bad name %q: use letters, digits, '.', '_' and '-' only", name)
			}
			s.Name = name
		}
	} else {
		p.missing(n, fields, "name")
	}
	if v, ok := present("description"); ok {
		s.Description, _ = p.Scalar(v, "description", "a string")
	}

	// Params come first: templates and the baseline refer to them.
	p.paramsOK, p.namesKnown = true, true
	// Reserved variables are known to every template; instance is 1
	// unless the spec runs several instances.
	p.sample = map[string]string{"instance": "1", "spec_dir": ".", "node": "local", "arch": "amd64"}
	if v, ok := present("params"); ok {
		p.parseParams(v)
		s.Params = p.params
	} else if kv, ok := fields["params"]; ok {
		p.Errorf(kv.v, "params", "no params given; give each param a list of values, or omit params for a single case")
		p.paramsOK = false
	}

	if v, ok := present("exclude"); ok {
		s.Exclude = p.exclude(v)
	}

	if v, ok := present("command"); ok {
		if c := p.command(v, "command"); c != nil {
			s.Command = *c
		}
	} else {
		p.missing(n, fields, "command")
	}
	if v, ok := present("repeat"); ok {
		s.Repeat = p.repeat(v)
	}
	if v, ok := present("warmup"); ok {
		if w, ok := p.Int(v, "warmup"); ok {
			if w < 0 {
				p.Errorf(v, "warmup", "must not be negative, got %d", w)
			}
			s.Warmup = w
		}
	}
	if v, ok := present("timeout"); ok {
		s.Timeout, _ = p.duration(v, "timeout")
	}
	if v, ok := present("env"); ok {
		s.Env = p.env(v)
	}
	if v, ok := present("workdir"); ok {
		if w, ok := p.Scalar(v, "workdir", "a directory"); ok {
			p.template(v, "workdir", w)
			s.Workdir = w
		}
	}
	if v, ok := present("setup"); ok {
		s.Setup = p.command(v, "setup")
	}
	if v, ok := present("prepare"); ok {
		s.Prepare = p.command(v, "prepare")
	}
	if v, ok := present("cleanup"); ok {
		s.Cleanup = p.command(v, "cleanup")
	}
	if v, ok := present("throughput"); ok {
		s.Throughput = p.throughput(v)
	}
	if v, ok := present("image"); ok {
		if img, ok := p.Scalar(v, "image", "an image name"); ok {
			if strings.TrimSpace(img) == "" {
				p.Errorf(v, "image", "image is empty")
			}
			p.template(v, "image", img)
			s.Image = img
		}
	}
	if v, ok := present("images"); ok {
		s.Images = p.images(v)
	}
	if v, ok := present("baseline"); ok {
		s.Baseline = p.caseSelector(v, "baseline")
	}
	if v, ok := present("order"); ok {
		if o, ok := p.Scalar(v, "order", "an order"); ok {
			switch benchrig.Order(o) {
			case benchrig.Interleaved, benchrig.Sequential:
				s.Order = benchrig.Order(o)
			default:
				p.Errorf(v, "order", "unknown order %q (want %s or %s)", o, benchrig.Interleaved, benchrig.Sequential)
			}
		}
	}
	if v, ok := present("scaling"); ok {
		s.Scaling = p.scaling(v, s.Params)
	}
	if v, ok := present("ceiling"); ok {
		s.Ceiling = p.caseSelector(v, "ceiling")
	}
	p.checkExcluded(s, fields)
	if v, ok := present("instances"); ok {
		s.Instances = p.instances(v)
	}
	if v, ok := present("requires"); ok {
		s.Requires = p.requires(v)
	}
	if v, ok := present("resources"); ok {
		s.Resources = p.resources(v)
	}
	if v, ok := present("pools"); ok {
		s.Placement.Pools = p.names(v, "pools", "a pool name")
	}
	if v, ok := present("placement"); ok {
		p.placement(v, &s.Placement)
	}
	if v, ok := present("container"); ok {
		s.Container = p.container(v)
	}
	if v, ok := present("expect"); ok {
		s.Expect = p.expect(v)
	}
	if v, ok := present("collect"); ok {
		s.Collect = p.collectBlock(v)
	}
	if v, ok := present("profile"); ok {
		s.Profile = p.profileBlock(v)
	}
	if v, ok := present("cache"); ok {
		if c, ok := p.Scalar(v, "cache", "warm or cold"); ok {
			if out, ok := p.template(v, "cache", c); ok {
				if _, err := benchrig.ParseCache(out); err != nil {
					p.Errorf(v, "cache", "%v", err)
				}
			}
			s.Cache = c
		}
	}
	return s
}

// instances decodes instances: a positive integer, or a template that
// gives one for each case (checked here for the first values).
func (p *parser) instances(n *yaml.Node) string {
	v, ok := p.Scalar(n, "instances", "a number of instances")
	if !ok {
		return ""
	}
	if out, ok := p.template(n, "instances", v); ok && p.paramsOK {
		if _, err := benchrig.ParseInstances(out); err != nil {
			p.Errorf(n, "instances", "%v", err)
		}
	}
	return v
}

var requireFields = []string{"program", "files", "gpu", "hint"}

// requires decodes a list of requirements, each a program name,
// {program, hint}, {files, hint} or {gpu, hint}.
func (p *parser) requires(n *yaml.Node) []benchrig.Requirement {
	if n.Kind != yaml.SequenceNode {
		p.Errorf(n, "requires", "expected a list of programs, got %s", yamlnode.Describe(n))
		return nil
	}
	var out []benchrig.Requirement
	for i, item := range n.Content {
		item = yamlnode.Deref(item)
		field := fmt.Sprintf("requires[%d]", i)
		var r benchrig.Requirement
		hasFiles, hasGPU := false, false
		switch item.Kind {
		case yaml.ScalarNode:
			r.Program, _ = p.Scalar(item, field, "a program")
		case yaml.MappingNode:
			for _, kv := range p.mapping(item, field) {
				switch kv.key {
				case "program":
					r.Program, _ = p.Scalar(kv.v, field+".program", "a program")
				case "files":
					hasFiles = true
					r.Files = p.requiredFiles(kv.v, field+".files")
				case "gpu":
					hasGPU = true
					r.GPUs = p.gpuCount(kv.v, field+".gpu")
				case "hint":
					r.Hint, _ = p.Scalar(kv.v, field+".hint", "a string")
				default:
					p.UnknownField(kv.k, kv.key, field, requireFields)
				}
			}
		default:
			p.Errorf(item, field, "expected a program name, {program, hint}, {files, hint} or {gpu, hint}, got %s", yamlnode.Describe(item))
			continue
		}
		if hasGPU {
			if r.Program != "" || hasFiles {
				p.Errorf(item, field, "expected one of program, files and gpu, got more")
				continue
			}
			if r.GPUs == "" {
				continue // reported by gpuCount
			}
			p.shellTemplate(item, field+".hint", r.Hint)
			out = append(out, r)
			continue
		}
		if hasFiles {
			if r.Program != "" {
				p.Errorf(item, field, "expected one of program and files, got both")
				continue
			}
			if r.Files == nil {
				continue // reported by requiredFiles
			}
			p.shellTemplate(item, field+".hint", r.Hint) // a command to paste
			out = append(out, r)
			continue
		}
		if strings.TrimSpace(r.Program) == "" {
			p.Errorf(item, field, "program is empty")
			continue
		}
		p.template(item, field, r.Program)
		p.shellTemplate(item, field+".hint", r.Hint) // a command to paste
		out = append(out, r)
	}
	return out
}

// gpuCount decodes how many GPUs a case needs: a count, true (1), or a
// template giving a count; "" when it is bad (reported).
func (p *parser) gpuCount(n *yaml.Node, field string) string {
	v, ok := p.Scalar(n, field, "a number of GPUs, true, or a template")
	if !ok {
		return ""
	}
	v = strings.TrimSpace(v)
	if strings.Contains(v, "{{") {
		p.template(n, field, v)
		return v
	}
	if _, err := benchrig.ParseGPUCount(v); err != nil {
		p.Errorf(n, field, "%v", err)
		return ""
	}
	return v
}

// requiredFiles decodes the globs of a requirement: one or a list.
func (p *parser) requiredFiles(n *yaml.Node, field string) []string {
	n = yamlnode.Deref(n)
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
		if len(items) == 0 {
			p.Errorf(n, field, "empty list of file globs")
			return nil
		}
	}
	var out []string
	for i, item := range items {
		f := field
		if n.Kind == yaml.SequenceNode {
			f = fmt.Sprintf("%s[%d]", field, i)
		}
		glob, ok := p.glob(yamlnode.Deref(item), f)
		if !ok {
			return nil
		}
		out = append(out, glob)
	}
	return out
}

var resourceFields = []string{"read_bps", "read_device", "cpus", "cpuset", "memory"}

func (p *parser) resources(n *yaml.Node) benchrig.Resources {
	var r benchrig.Resources
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, "resources", "expected a mapping of resource limits, got %s", yamlnode.Describe(n))
		return r
	}
	for _, kv := range p.mapping(n, "resources") {
		field := "resources." + kv.key
		switch kv.key {
		case "read_bps":
			v, ok := p.Scalar(kv.v, field, "a read rate")
			if !ok {
				continue
			}
			if out, ok := p.template(kv.v, field, v); ok && p.paramsOK {
				if _, err := benchrig.ParseReadBPS(out); err != nil {
					p.Errorf(kv.v, field, "%v", err)
				}
			}
			r.ReadBPS = v
		case "read_device":
			v, ok := p.Scalar(kv.v, field, "a path")
			if !ok {
				continue
			}
			p.template(kv.v, field, v)
			r.ReadDevice = v
		case "cpus":
			v, ok := p.Scalar(kv.v, field, "a number of cores")
			if !ok {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || !(f > 0) || math.IsInf(f, 0) {
				p.Errorf(kv.v, field, "expected a positive number of cores like 1 or 1.5, got %s", yamlnode.Describe(kv.v))
				continue
			}
			r.CPUs = f
		case "cpuset":
			v, ok := p.Scalar(kv.v, field, "a CPU list")
			if !ok {
				continue
			}
			if !cpusetRE.MatchString(v) {
				p.Errorf(kv.v, field, "expected a CPU list like 0, 0-1 or 0,2-3, got %q", v)
				continue
			}
			r.CPUSet = v
		case "memory":
			v, ok := p.Scalar(kv.v, field, "a size")
			if !ok {
				continue
			}
			b, err := benchrig.ParseBytes(strings.TrimSpace(v))
			if err != nil || b <= 0 {
				p.Errorf(kv.v, field, "expected a size like 512MB or 2GiB, got %q", v)
				continue
			}
			r.MemoryBytes = b
		default:
			p.UnknownField(kv.k, kv.key, "resources", resourceFields)
		}
	}
	return r
}

var collectFields = []string{"enabled", "interval"}

// collectBlock decodes the collect block: enabled (a bool, default true) and
// interval (a duration of at least benchrig.MinCollectInterval).
func (p *parser) collectBlock(n *yaml.Node) benchrig.Collect {
	var c benchrig.Collect
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, "collect", "expected a mapping of %s, got %s", strings.Join(collectFields, ", "), yamlnode.Describe(n))
		return c
	}
	for _, kv := range p.mapping(n, "collect") {
		field := "collect." + kv.key
		if yamlnode.IsNull(kv.v) && contains(collectFields, kv.key) {
			continue
		}
		switch kv.key {
		case "enabled":
			if on, ok := p.Bool(kv.v, field); ok {
				c.Disabled = !on
			}
		case "interval":
			d, ok := p.duration(kv.v, field)
			if !ok {
				continue
			}
			if d < benchrig.MinCollectInterval {
				p.Errorf(kv.v, field, "must be at least %s, got %s", benchrig.MinCollectInterval, kv.v.Value)
				continue
			}
			c.Interval = d
		default:
			p.UnknownField(kv.k, kv.key, "collect", collectFields)
		}
	}
	return c
}

var profileFields = []string{"event", "freq", "trials", "in", "call_graph"}

// perfEventRE is what a perf event name may look like (cpu-clock,
// sched:sched_switch, r003c, cpu/event=0x3c/): it goes to perf's -e as one
// argument, and must not read as an option.
var perfEventRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:/=,-]*$`)

// profileBlock decodes the profile block: "cpu" (the defaults), or a
// mapping of event (default cpu-clock), freq (Hz, 1..10000, default 99),
// trials (extra profiled trials per case, default 1), in (extra, the
// default, or measured) and call_graph (fp, the default, or dwarf).
func (p *parser) profileBlock(n *yaml.Node) benchrig.Profiling {
	pr := benchrig.Profiling{Enabled: true}
	if n.Kind == yaml.ScalarNode {
		if v, ok := p.Scalar(n, "profile", "cpu or a mapping of "+strings.Join(profileFields, ", ")); ok && v != "cpu" {
			p.Errorf(n, "profile", "expected cpu or a mapping of %s, got %q", strings.Join(profileFields, ", "), v)
		}
		return pr
	}
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, "profile", "expected cpu or a mapping of %s, got %s", strings.Join(profileFields, ", "), yamlnode.Describe(n))
		return pr
	}
	var trials *yaml.Node
	for _, kv := range p.mapping(n, "profile") {
		field := "profile." + kv.key
		if yamlnode.IsNull(kv.v) && contains(profileFields, kv.key) {
			continue
		}
		switch kv.key {
		case "event":
			if e, ok := p.Scalar(kv.v, field, "a perf event name"); ok {
				if !perfEventRE.MatchString(e) {
					p.Errorf(kv.v, field, "expected a perf event name like cpu-clock or task-clock, got %q", e)
					continue
				}
				pr.Event = e
			}
		case "freq":
			if f, ok := p.Int(kv.v, field); ok {
				if f < 1 || f > benchrig.MaxProfileFreq {
					p.Errorf(kv.v, field, "must be between 1 and %d Hz, got %d", benchrig.MaxProfileFreq, f)
					continue
				}
				pr.Freq = f
			}
		case "trials":
			if t, ok := p.Int(kv.v, field); ok {
				if t < 1 {
					p.Errorf(kv.v, field, "must be at least 1, got %d", t)
					continue
				}
				pr.Trials = t
				trials = kv.v
			}
		case "in":
			if v, ok := p.Scalar(kv.v, field, "extra or measured"); ok {
				switch v {
				case "extra":
				case "measured":
					pr.InMeasured = true
				default:
					p.Errorf(kv.v, field, "expected extra or measured, got %q", v)
				}
			}
		case "call_graph":
			if v, ok := p.Scalar(kv.v, field, "fp or dwarf"); ok {
				switch v {
				case "fp", "dwarf":
					pr.CallGraph = v
				default:
					p.Errorf(kv.v, field, "expected fp (frame pointers) or dwarf (unwinding from the binaries' .eh_frame), got %q", v)
				}
			}
		default:
			p.UnknownField(kv.k, kv.key, "profile", profileFields)
		}
	}
	if pr.InMeasured && trials != nil {
		p.Errorf(trials, "profile.trials", "counts extra profiled trials, and in: measured profiles the measured trials instead")
	}
	return pr
}

// scaling checks that the named param exists and that every value of it
// is a positive number: a parallelism level.
func (p *parser) scaling(n *yaml.Node, params []benchrig.Param) string {
	name, ok := p.Scalar(n, "scaling", "a param name")
	if !ok {
		return ""
	}
	if !p.paramsOK {
		return name // the params' own errors are reported already
	}
	var known []string
	for _, par := range params {
		known = append(known, par.Name)
		if par.Name != name {
			continue
		}
		for i, v := range par.Values {
			if f, err := strconv.ParseFloat(v, 64); err != nil || !(f > 0) || math.IsInf(f, 0) {
				p.Errorf(n, "scaling", "param %q is not a parallelism level: its value params.%s[%d] = %q is not a positive number", name, name, i, v)
				return ""
			}
		}
		return name
	}
	p.Errorf(n, "scaling", "unknown param %q (known params: %s)", name, strings.Join(known, ", "))
	return ""
}

// missing reports a required field that is absent or null.
func (p *parser) missing(top *yaml.Node, fields map[string]pair, name string) {
	if kv, ok := fields[name]; ok {
		p.Errorf(kv.v, name, "required field is empty")
		return
	}
	p.Errorf(top, name, "required field is missing")
}

func (p *parser) parseParams(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, "params", "expected a mapping of param name to list of values, got %s", yamlnode.Describe(n))
		p.paramsOK, p.namesKnown = false, false
		return
	}
	pairs := p.mapping(n, "params")
	if len(pairs) == 0 {
		p.Errorf(n, "params", "no params given; give each param a list of values, or omit params for a single case")
		p.paramsOK = false
		return
	}
	before := len(p.Errs)
	for _, kv := range pairs {
		field := "params." + kv.key
		if !paramNameRE.MatchString(kv.key) {
			p.Errorf(kv.k, field, "bad param name %q: use letters, digits and '_', not starting with a digit, so templates can say {{.name}}", kv.key)
			// Known all the same, so that templates naming it are not
			// reported a second time.
			p.sample[kv.key] = ""
			continue
		}
		if contains(benchrig.ReservedVars, kv.key) {
			p.Errorf(kv.k, field, "param name %q is reserved: benchrig sets {{.%s}} itself", kv.key, kv.key)
			continue
		}
		param := benchrig.Param{Name: kv.key}
		v := yamlnode.Deref(kv.v)
		switch {
		case v.Kind != yaml.SequenceNode:
			p.Errorf(v, field, "expected a list of values, got %s", yamlnode.Describe(v))
		case len(v.Content) == 0:
			p.Errorf(v, field, "param has no values")
		}
		if v.Kind == yaml.SequenceNode {
			first := map[string]string{}
			for i, item := range v.Content {
				item = yamlnode.Deref(item)
				f := fmt.Sprintf("%s[%d]", field, i)
				val, ok := p.Scalar(item, f, "a value")
				if !ok {
					continue
				}
				if prev, dup := first[val]; dup {
					p.Errorf(item, f, "duplicate value %q, already given as %s", val, prev)
					continue
				}
				first[val] = f
				param.Values = append(param.Values, val)
			}
		}
		p.params = append(p.params, param)
		p.sample[param.Name] = ""
		if len(param.Values) > 0 {
			p.sample[param.Name] = param.Values[0]
		}
	}
	if len(p.Errs) > before {
		p.paramsOK = false
	}
}

// command decodes a string (run by /bin/sh -c) or an argv list.
func (p *parser) command(n *yaml.Node, field string) *benchrig.Command {
	switch n.Kind {
	case yaml.ScalarNode:
		sh, ok := p.Scalar(n, field, "a command")
		if !ok {
			return nil
		}
		if strings.TrimSpace(sh) == "" {
			p.Errorf(n, field, "command is empty")
			return nil
		}
		p.shellTemplate(n, field, sh)
		return &benchrig.Command{Shell: sh}
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			p.Errorf(n, field, "empty command list; give the program and its arguments")
			return nil
		}
		c := &benchrig.Command{}
		for i, item := range n.Content {
			item = yamlnode.Deref(item)
			f := fmt.Sprintf("%s[%d]", field, i)
			arg, ok := p.Scalar(item, f, "a string")
			if !ok {
				continue
			}
			if i == 0 && strings.TrimSpace(arg) == "" {
				p.Errorf(item, f, "program name is empty")
			}
			p.template(item, f, arg)
			c.Argv = append(c.Argv, arg)
		}
		return c
	}
	p.Errorf(n, field, "expected a string (run by /bin/sh -c) or a list of program and arguments, got %s", yamlnode.Describe(n))
	return nil
}

var repeatFields = []string{"min", "max", "until_ci", "max_time"}

func (p *parser) repeat(n *yaml.Node) benchrig.Repeat {
	def := benchrig.Repeat{Min: DefaultRepeat, Max: DefaultRepeat}
	switch n.Kind {
	case yaml.ScalarNode:
		v, ok := p.Int(n, "repeat")
		if !ok {
			return def
		}
		if v < 1 {
			p.Errorf(n, "repeat", "must be at least 1, got %d", v)
			return def
		}
		return benchrig.Repeat{Min: v, Max: v}
	case yaml.MappingNode:
	default:
		p.Errorf(n, "repeat", "expected a count or a mapping of %s, got %s", strings.Join(repeatFields, ", "), yamlnode.Describe(n))
		return def
	}
	r := benchrig.Repeat{Min: DefaultAdaptiveMin, Max: DefaultAdaptiveMax}
	var minSet, maxSet, countsOK = false, false, true
	for _, kv := range p.mapping(n, "repeat") {
		field := "repeat." + kv.key
		v := kv.v
		if yamlnode.IsNull(v) && contains(repeatFields, kv.key) {
			continue
		}
		switch kv.key {
		case "min", "max":
			c, ok := p.Int(v, field)
			if !ok {
				countsOK = false
				continue
			}
			if c < 1 {
				p.Errorf(v, field, "must be at least 1, got %d", c)
				countsOK = false
				continue
			}
			if kv.key == "min" {
				r.Min, minSet = c, true
			} else {
				r.Max, maxSet = c, true
			}
		case "until_ci":
			r.UntilCI, _ = p.untilCI(v, field)
		case "max_time":
			r.MaxTime, _ = p.duration(v, field)
		default:
			p.UnknownField(kv.k, kv.key, "repeat", repeatFields)
		}
	}
	if countsOK && r.Min > r.Max {
		what := func(name string, v int, set bool) string {
			if set {
				return fmt.Sprintf("%s %d", name, v)
			}
			return fmt.Sprintf("%s %d (the default)", name, v)
		}
		p.Errorf(n, "repeat", "%s is greater than %s", what("min", r.Min, minSet), what("max", r.Max, maxSet))
	}
	return r
}

// untilCI accepts a percentage ("2%") or a fraction (0.02).
func (p *parser) untilCI(n *yaml.Node, field string) (float64, bool) {
	var v float64
	switch {
	case n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float"):
		if err := n.Decode(&v); err != nil {
			p.Errorf(n, field, "expected a fraction like 0.02 or a percentage like 2%%, got %s", yamlnode.Describe(n))
			return 0, false
		}
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && strings.HasSuffix(strings.TrimSpace(n.Value), "%"):
		num := strings.TrimSuffix(strings.TrimSpace(n.Value), "%")
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil {
			p.Errorf(n, field, "expected a fraction like 0.02 or a percentage like 2%%, got %s", yamlnode.Describe(n))
			return 0, false
		}
		v = f / 100
	default:
		p.Errorf(n, field, "expected a fraction like 0.02 or a percentage like 2%%, got %s", yamlnode.Describe(n))
		return 0, false
	}
	if !(v > 0 && v <= maxUntilCI) {
		p.Errorf(n, field, "must be more than 0 and at most 0.5 (50%%), got %s", n.Value)
		return 0, false
	}
	return v, true
}

func (p *parser) env(n *yaml.Node) map[string]string {
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, "env", "expected a mapping of variable name to value, got %s", yamlnode.Describe(n))
		return nil
	}
	env := map[string]string{}
	for _, kv := range p.mapping(n, "env") {
		field := "env." + kv.key
		if kv.key == "" || strings.ContainsAny(kv.key, "=\x00") {
			p.Errorf(kv.k, field, "bad variable name %q: it must be non-empty and contain no '='", kv.key)
			continue
		}
		v := yamlnode.Deref(kv.v)
		if yamlnode.IsNull(v) {
			p.Errorf(v, field, "expected a value, got null (write \"\" for an empty value)")
			continue
		}
		val, ok := p.Scalar(v, field, "a value")
		if !ok {
			continue
		}
		p.template(v, field, val)
		env[kv.key] = val
	}
	return env
}

var throughputFields = []string{"bytes", "items", "files"}

func (p *parser) throughput(n *yaml.Node) *benchrig.Throughput {
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, "throughput", "expected a mapping with one of %s, got %s", strings.Join(throughputFields, ", "), yamlnode.Describe(n))
		return nil
	}
	var found []pair
	for _, kv := range p.mapping(n, "throughput") {
		if !contains(throughputFields, kv.key) {
			p.UnknownField(kv.k, kv.key, "throughput", throughputFields)
			continue
		}
		found = append(found, kv)
	}
	if len(found) == 2 && (found[0].key == "items") != (found[1].key == "items") {
		// items with bytes or files: items/s first, and bytes/s beside.
		items, bytes := found[0], found[1]
		if bytes.key == "items" {
			items, bytes = bytes, items
		}
		t := p.throughputOne(items)
		b := p.throughputOne(bytes)
		if t == nil || b == nil {
			return nil
		}
		t.Bytes = b
		return t
	}
	switch len(found) {
	case 0:
		p.Errorf(n, "throughput", "expected exactly one of bytes, items or files, got none")
		return nil
	case 1:
	default:
		keys := make([]string, len(found))
		for i, kv := range found {
			keys[i] = kv.key
		}
		p.Errorf(found[1].k, "throughput", "expected exactly one of bytes, items or files (or items with one of the others), got %s", strings.Join(keys, " and "))
		return nil
	}
	return p.throughputOne(found[0])
}

// throughputOne decodes one throughput measure.
func (p *parser) throughputOne(kv pair) *benchrig.Throughput {
	field := "throughput." + kv.key
	v := yamlnode.Deref(kv.v)
	if kv.key == "files" {
		return p.throughputFiles(v, field)
	}
	t := &benchrig.Throughput{Unit: benchrig.ThroughputUnit(kv.key)}
	const want = "a positive number or a template giving one"
	if v.Kind != yaml.ScalarNode || yamlnode.IsNull(v) {
		p.Errorf(v, field, "expected %s, got %s", want, yamlnode.Describe(v))
		return nil
	}
	switch v.ShortTag() {
	case "!!int":
		var i int64
		if err := v.Decode(&i); err != nil {
			p.Errorf(v, field, "expected %s, got %s", want, yamlnode.Describe(v))
			return nil
		}
		if i <= 0 {
			p.Errorf(v, field, "must be positive, got %d", i)
			return nil
		}
		t.Value = strconv.FormatInt(i, 10)
	case "!!float":
		var f float64
		if err := v.Decode(&f); err != nil || math.IsNaN(f) {
			p.Errorf(v, field, "expected %s, got %s", want, yamlnode.Describe(v))
			return nil
		}
		if f <= 0 || f > math.MaxFloat64 {
			p.Errorf(v, field, "must be a positive finite number, got %s", v.Value)
			return nil
		}
		t.Value = strconv.FormatFloat(f, 'f', -1, 64)
	default:
		s := v.Value
		if strings.Contains(s, "{{") {
			p.template(v, field, s)
			t.Value = s
			break
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) {
			p.Errorf(v, field, "expected %s, got %s", want, yamlnode.Describe(v))
			return nil
		}
		if f <= 0 || f > math.MaxFloat64 {
			p.Errorf(v, field, "must be a positive finite number, got %s", s)
			return nil
		}
		t.Value = strings.TrimSpace(s)
	}
	return t
}

func (p *parser) throughputFiles(n *yaml.Node, field string) *benchrig.Throughput {
	if n.Kind != yaml.SequenceNode {
		p.Errorf(n, field, "expected a list of file globs, got %s", yamlnode.Describe(n))
		return nil
	}
	if len(n.Content) == 0 {
		p.Errorf(n, field, "empty list of file globs")
		return nil
	}
	t := &benchrig.Throughput{Unit: benchrig.Bytes}
	for i, item := range n.Content {
		if glob, ok := p.glob(yamlnode.Deref(item), fmt.Sprintf("%s[%d]", field, i)); ok {
			t.Files = append(t.Files, glob)
		}
	}
	return t
}

// glob decodes a file glob, a template, checking its syntax for the
// first values of the params.
func (p *parser) glob(item *yaml.Node, field string) (string, bool) {
	glob, ok := p.Scalar(item, field, "a file glob")
	if !ok {
		return "", false
	}
	if strings.TrimSpace(glob) == "" {
		p.Errorf(item, field, "file glob is empty")
		return "", false
	}
	if expanded, ok := p.template(item, field, glob); ok {
		if _, err := matchGlob(expanded); err != nil {
			p.Errorf(item, field, "bad glob %q: %v", expanded, err)
			return "", false
		}
	}
	return glob, true
}

// NormalizeArch is benchrig.NormalizeArch, kept for callers of this
// package.
func NormalizeArch(arch string) (string, bool) { return benchrig.NormalizeArch(arch) }

func (p *parser) images(n *yaml.Node) map[string]string {
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, "images", "expected a mapping of architecture to image, got %s", yamlnode.Describe(n))
		return nil
	}
	images := map[string]string{}
	first := map[string]pair{}
	for _, kv := range p.mapping(n, "images") {
		field := "images." + kv.key
		arch, ok := NormalizeArch(kv.key)
		if !ok {
			p.Errorf(kv.k, field, "unknown architecture %q (known: %s; x86_64 and aarch64 are accepted too)", kv.key, strings.Join(benchrig.KnownArchs, ", "))
			continue
		}
		if prev, dup := first[arch]; dup {
			p.Errorf(kv.k, field, "duplicate architecture: %s is %s, already given as %s at line %d", kv.key, arch, prev.key, prev.k.Line)
			continue
		}
		first[arch] = kv
		img, ok := p.Scalar(yamlnode.Deref(kv.v), field, "an image name")
		if !ok {
			continue
		}
		if strings.TrimSpace(img) == "" {
			p.Errorf(kv.v, field, "image is empty")
			continue
		}
		p.template(kv.v, field, img)
		images[arch] = img
	}
	return images
}

// exclude decodes a list of partial cases, each a mapping of param name to
// value, that the matrix leaves out.
func (p *parser) exclude(n *yaml.Node) []map[string]string {
	if n.Kind != yaml.SequenceNode {
		p.Errorf(n, "exclude", "expected a list of mappings of param name to value (the combinations to leave out), got %s", yamlnode.Describe(n))
		return nil
	}
	var out []map[string]string
	for i, item := range n.Content {
		item = yamlnode.Deref(item)
		field := fmt.Sprintf("exclude[%d]", i)
		if item.Kind != yaml.MappingNode || len(item.Content) == 0 {
			p.Errorf(item, field, "expected a mapping of param name to value, e.g. {impl: cat, pattern: regex}, got %s", yamlnode.Describe(item))
			continue
		}
		if e := p.caseSelector(item, field); len(e) > 0 {
			out = append(out, e)
		}
	}
	return out
}

// checkExcluded reports a matrix that exclude empties, and a baseline or
// ceiling whose every case it removes.
func (p *parser) checkExcluded(s *benchrig.Spec, fields map[string]pair) {
	if len(s.Exclude) == 0 || !p.paramsOK {
		return
	}
	kv := fields["exclude"]
	if benchrig.CountCases(s.Params, s.Exclude) == 0 {
		p.Errorf(kv.v, "exclude", "leaves no case of the matrix to run")
		return
	}
	for _, sel := range []struct {
		name string
		m    map[string]string
	}{{"baseline", s.Baseline}, {"ceiling", s.Ceiling}} {
		if len(sel.m) == 0 || len(checkBaseline(s.Params, sel.m)) > 0 {
			continue
		}
		if !Selects(s.Params, s.Exclude, sel.m) {
			p.Errorf(fields[sel.name].v, sel.name, "every case it names is removed by exclude (line %d)", kv.k.Line)
		}
	}
}

// Selects reports whether some case of the matrix (params without what
// exclude removes) has every param value of sel. Names that are not params
// (node, arch) are judged by the runner.
func Selects(params []benchrig.Param, exclude []map[string]string, sel map[string]string) bool {
	narrowed := make([]benchrig.Param, len(params))
	for i, prm := range params {
		narrowed[i] = prm
		if v, ok := sel[prm.Name]; ok {
			narrowed[i] = benchrig.Param{Name: prm.Name, Values: []string{v}}
		}
	}
	return benchrig.CountCases(narrowed, exclude) > 0
}

// caseSelector decodes a mapping of param name to value that picks a case,
// or one case per group of the params it does not name.
func (p *parser) caseSelector(n *yaml.Node, what string) map[string]string {
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, what, "expected a mapping of param name to value, got %s", yamlnode.Describe(n))
		return nil
	}
	base := map[string]string{}
	keyNodes := map[string]*yaml.Node{}
	for _, kv := range p.mapping(n, what) {
		v := yamlnode.Deref(kv.v)
		val, ok := p.Scalar(v, what+"."+kv.key, "a param value")
		if !ok {
			continue
		}
		base[kv.key] = val
		keyNodes[kv.key] = kv.k
	}
	if len(base) == 0 {
		// {} names no case in particular: the default, the first case.
		return nil
	}
	if !p.paramsOK {
		// Judging names against params that failed to decode would only
		// repeat their errors.
		return base
	}
	for _, pr := range checkBaseline(p.params, base) {
		at, field := n, what
		if pr.param != "" {
			at, field = keyNodes[pr.param], what+"."+pr.param
		}
		p.Errorf(at, field, "%s", pr.msg)
	}
	return base
}

type problem struct {
	param string // the baseline key at fault, "" for the baseline as a whole
	msg   string
}

// checkBaseline reports whether every param base names exists and has the
// named value. Params it does not name group the cases: each group gets its
// own baseline (see benchrig.Run.Baselines).
func checkBaseline(params []benchrig.Param, base map[string]string) []problem {
	var probs []problem
	for _, name := range benchrig.SortedKeys(base) {
		if name == benchrig.PerNode || name == benchrig.PerArch {
			// The placement's param: its values are known only when the
			// run meets its nodes, and the runner judges them then.
			continue
		}
		i := paramIndex(params, name)
		if i < 0 {
			probs = append(probs, problem{name, fmt.Sprintf("unknown param %q (%s)", name, knownParams(params))})
			continue
		}
		if !contains(params[i].Values, base[name]) {
			probs = append(probs, problem{name, fmt.Sprintf("%q is not a value of param %s (values: %s)", base[name], name, strings.Join(params[i].Values, ", "))})
		}
	}
	return probs
}

func paramIndex(params []benchrig.Param, name string) int {
	for i, prm := range params {
		if prm.Name == name {
			return i
		}
	}
	return -1
}

// knownParams says which params there are, for error messages.
func knownParams(params []benchrig.Param) string {
	if len(params) == 0 {
		return "the spec has no params"
	}
	names := make([]string, len(params))
	for i, prm := range params {
		names[i] = prm.Name
	}
	return "known params: " + strings.Join(names, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
