package spec

import (
	"fmt"
	"strings"

	"github.com/benchrig/benchrig"
)

// ApplySet applies --set overrides to s. Each item is key=v1,v2,... and
// replaces the values of param key: a narrower list runs part of the
// matrix, a different one runs other values. A value may contain '=' but
// not ','. A later item for the same key wins. s is changed only when every
// item is valid and the baseline still names exactly one case.
func ApplySet(s *benchrig.Spec, sets []string) error {
	params := make([]benchrig.Param, len(s.Params))
	copy(params, s.Params)
	var errs benchrig.Errors
	fail := func(format string, args ...any) {
		errs = append(errs, &benchrig.Error{
			Code:  benchrig.EInvalid,
			Field: "--set",
			Msg:   fmt.Sprintf(format, args...) + " (" + knownParams(s.Params) + ")",
		})
	}
	for _, item := range sets {
		key, list, ok := strings.Cut(item, "=")
		if !ok || key == "" {
			fail("expected param=value[,value...], got %q", item)
			continue
		}
		i := paramIndex(params, key)
		if i < 0 {
			fail("unknown param %q in %q", key, item)
			continue
		}
		if list == "" {
			fail("no values for param %s in %q", key, item)
			continue
		}
		values := strings.Split(list, ",")
		bad := false
		seen := map[string]bool{}
		for _, v := range values {
			switch {
			case v == "":
				fail("empty value for param %s in %q", key, item)
				bad = true
			case seen[v]:
				fail("duplicate value %q for param %s in %q", v, key, item)
				bad = true
			}
			seen[v] = true
		}
		if bad {
			continue
		}
		params[i] = benchrig.Param{Name: key, Values: values}
	}
	if len(errs) > 0 {
		return errs
	}
	for _, sel := range []struct {
		name string
		m    map[string]string
	}{{"baseline", s.Baseline}, {"ceiling", s.Ceiling}} {
		for _, pr := range checkBaseline(params, sel.m) {
			field := sel.name
			if pr.param != "" {
				field += "." + pr.param
			}
			errs = append(errs, &benchrig.Error{
				Code:  benchrig.EInvalid,
				File:  s.File,
				Field: field,
				Msg:   "after --set: " + pr.msg,
			})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	s.Params = params
	return nil
}
