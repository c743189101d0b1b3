package nodes

import (
	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/pools"
)

// Policies loads the policies of the named pools of a pools file, for the
// check of a submitted spec before any node is contacted
// (runner.CheckPolicy). An unknown pool is EInvalid.
//
// (The pools helper's branch has the same function in nodes/status.go,
// over its richer benchrig.PoolPolicy: on merge, keep that one and drop
// this file.)
func Policies(poolsFile string, names []string) (map[string]benchrig.PoolPolicy, error) {
	f, err := pools.Load(poolsFile)
	if err != nil {
		return nil, err
	}
	out := make(map[string]benchrig.PoolPolicy, len(names))
	for _, name := range names {
		p, err := f.Pool(name)
		if err != nil {
			return nil, &benchrig.Error{Code: benchrig.EInvalid, File: poolsFile, Field: "pools", Msg: err.Error()}
		}
		pol := benchrig.PoolPolicy{Privileged: p.Policy.Privileged, Devices: p.Policy.Devices, HostNetwork: p.Policy.HostNetwork}
		if p.Policy.HostMounts {
			pol.HostMounts = []string{"/"}
		}
		out[name] = pol
	}
	return out, nil
}
