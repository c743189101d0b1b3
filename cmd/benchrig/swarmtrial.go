package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner/docker"
)

// newSwarmTrialCommand is the helper a run starts on a Swarm node for a
// profiled trial (see runner/docker's swarm_profile.go): not for people,
// hidden from help.
func newSwarmTrialCommand(d *deps) *cobra.Command {
	return &cobra.Command{
		Use:    "swarm-trial",
		Short:  "Run one profiled trial on this Swarm node's engine (started by benchrig on the node)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			req := d.getenv(docker.SwarmTrialEnv)
			if req == "" {
				return usageError{benchrig.Errorf(benchrig.EInvalid, "swarm-trial: $%s is empty: this command is started by benchrig on a Swarm node", docker.SwarmTrialEnv)}
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			// The node's engine is the socket mounted at the usual path;
			// the shims sit beside this binary in benchrig's image.
			return docker.RunSwarmTrial(cmd.Context(), []byte(req), "unix:///var/run/docker.sock", filepath.Dir(exe), d.stdout)
		}),
	}
}
