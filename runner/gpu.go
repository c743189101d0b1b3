package runner

import (
	"fmt"
	"strings"

	"github.com/benchrig/benchrig"
)

// lackingGPUs checks the spec's GPU requirements for one case against the
// accelerators of where it runs (where names it: "this host", "node
// lab1"). It returns why the case cannot run there and the requirement's
// field, or "".
func lackingGPUs(reqs []benchrig.Requirement, vars map[string]string, acc *benchrig.Accelerators, where string) (msg, field string) {
	for i, req := range reqs {
		if req.GPUs == "" {
			continue
		}
		field = fmt.Sprintf("requires[%d].gpu", i)
		s, err := benchrig.Expand(req.GPUs, vars)
		if err != nil {
			return err.Error(), field
		}
		need, err := benchrig.ParseGPUCount(s)
		if err != nil {
			return err.Error(), field
		}
		if have := acc.Count(); have < need {
			msg = fmt.Sprintf("needs %s, but %s has %s", plural(need, "GPU"), where, haveGPUs(acc))
			if hint, err := benchrig.ExpandShell(req.Hint, vars); err == nil && hint != "" {
				msg += "; " + hint
			}
			return msg, field
		}
	}
	return "", ""
}

// neededGPUs is how many GPUs one case needs: the largest count of the
// spec's GPU requirements, expanded for it.
func neededGPUs(reqs []benchrig.Requirement, vars map[string]string) (need int, field string, err error) {
	for i, req := range reqs {
		if req.GPUs == "" {
			continue
		}
		field = fmt.Sprintf("requires[%d].gpu", i)
		s, err := benchrig.Expand(req.GPUs, vars)
		if err != nil {
			return 0, field, err
		}
		n, err := benchrig.ParseGPUCount(s)
		if err != nil {
			return 0, field, err
		}
		need = max(need, n)
	}
	return need, "", nil
}

// haveGPUs says what a host has: "none (nvidia-smi not found)", "1 GPU
// (1 x NVIDIA A40 ...)".
func haveGPUs(acc *benchrig.Accelerators) string {
	switch {
	case acc == nil:
		return "no known GPU (its accelerators were not looked for)"
	case acc.Count() == 0:
		return acc.String()
	}
	return fmt.Sprintf("%s (%s)", plural(acc.Count(), "GPU"), acc)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// constGPUs is the largest GPU count the spec's requirements ask of every
// case alike (those without a template); 0 for none. Placement leaves out
// nodes with fewer; templated counts are checked per case.
func constGPUs(spec *benchrig.Spec) (need int, field string) {
	for i, req := range spec.Requires {
		if req.GPUs == "" || strings.Contains(req.GPUs, "{{") {
			continue
		}
		if n, err := benchrig.ParseGPUCount(req.GPUs); err == nil && n > need {
			need, field = n, fmt.Sprintf("requires[%d].gpu", i)
		}
	}
	return need, field
}
