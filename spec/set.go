package spec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/benchrig/benchrig"
)

// ApplySet applies --set overrides to s. Each item is key=v1,v2,... and
// replaces the values of param key: a narrower list runs part of the
// matrix, a different one runs other values. A value may contain '=' but
// not ','. A later item for the same key wins. s is changed only when every
// item is valid.
//
// Narrowing keeps the cases the spec compares against: a value of the
// baseline or the ceiling that the new list lacks is put back (the
// baseline's first, the ceiling's last), and exclude entries that would
// remove every such case no longer apply, so `--set impl=busybox` still
// compares with GNU grep and shows cat's ceiling. The returned notes say
// what was kept, for the user.
func ApplySet(s *benchrig.Spec, sets []string) ([]string, error) {
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
	given := map[string]string{} // param -> the --set item that replaced it
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
		given[key] = item
	}
	if len(errs) > 0 {
		return nil, errs
	}
	var notes []string
	exclude := s.Exclude
	for _, sel := range []struct {
		name string
		m    map[string]string
	}{{"baseline", s.Baseline}, {"ceiling", s.Ceiling}} {
		var kept, items []string
		for _, name := range benchrig.SortedKeys(sel.m) {
			i := paramIndex(params, name)
			if i < 0 || given[name] == "" || contains(params[i].Values, sel.m[name]) {
				continue
			}
			v := sel.m[name]
			if sel.name == "baseline" {
				params[i].Values = append([]string{v}, params[i].Values...)
			} else {
				params[i].Values = append(slices.Clone(params[i].Values), v)
			}
			kept = append(kept, name+"="+v)
			items = append(items, "--set "+given[name])
		}
		if len(kept) > 0 {
			notes = append(notes, fmt.Sprintf("kept %s, the spec's %s, beside %s", strings.Join(kept, ","), sel.name, strings.Join(items, " ")))
		}
		if len(sel.m) > 0 && len(exclude) > 0 && !Selects(params, exclude, sel.m) {
			var dropped []string
			exclude, dropped = unexclude(params, exclude, sel.m)
			if len(dropped) > 0 {
				notes = append(notes, fmt.Sprintf("kept the spec's %s %s after --set: exclude %s no longer applies", sel.name, caseText(sel.m), strings.Join(dropped, ", ")))
			}
		}
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
		return nil, errs
	}
	if benchrig.CountCases(params, exclude) == 0 {
		return nil, &benchrig.Error{Code: benchrig.EInvalid, File: s.File, Field: "exclude",
			Msg: "after --set: leaves no case of the matrix to run"}
	}
	s.Params = params
	s.Exclude = exclude
	return notes, nil
}

// unexclude drops the exclude entries that remove the first case of the
// matrix sel picks, so that sel picks it again, and describes them.
func unexclude(params []benchrig.Param, exclude []map[string]string, sel map[string]string) ([]map[string]string, []string) {
	for c := range benchrig.EachCase(params, nil) {
		match := true
		for k, v := range sel {
			if got, ok := c.Get(k); ok && got != v {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		var keep []map[string]string
		var dropped []string
		for _, e := range exclude {
			if benchrig.Excluded(c.Params, []map[string]string{e}) {
				dropped = append(dropped, caseText(e))
				continue
			}
			keep = append(keep, e)
		}
		return keep, dropped
	}
	return exclude, nil
}

// caseText renders a partial case as {k: v, ...}, keys sorted.
func caseText(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range benchrig.SortedKeys(m) {
		parts = append(parts, k+": "+m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
