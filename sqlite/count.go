package sqlite

import (
	"context"
	"fmt"

	"github.com/benchrig/benchrig"
)

// CountRuns counts the runs by effective status, for the server's
// /metrics: a running run whose heartbeat is stale counts as interrupted,
// as ListRuns reports it. One pass over the runs_status index.
func (d *DB) CountRuns(ctx context.Context) (map[benchrig.RunStatus]int, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT r.status, r.status = 'running' AND `+staleCond+`, count(*)
		FROM runs r GROUP BY 1, 2`, staleBefore(d.now()))
	if err != nil {
		return nil, fmt.Errorf("count runs: %w", err)
	}
	defer rows.Close()
	out := map[benchrig.RunStatus]int{}
	for rows.Next() {
		var status string
		var stale bool
		var n int
		if err := rows.Scan(&status, &stale, &n); err != nil {
			return nil, fmt.Errorf("count runs: %w", err)
		}
		st := benchrig.RunStatus(status)
		if stale {
			st = benchrig.RunInterrupted
		}
		out[st] += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count runs: %w", err)
	}
	return out, nil
}
