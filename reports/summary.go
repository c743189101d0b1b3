package reports

import (
	"io"

	"github.com/benchrig/benchrig"
)

// WriteSummaryMarkdown writes what --md writes for a run of run or submit,
// and what the server's summary.md answers: the gate's summary (verdict,
// per case, then the run) when the run asked for a gate, else the
// summary tables of WriteMarkdown, as before gates.
func WriteSummaryMarkdown(w io.Writer, run *benchrig.Run) error {
	if run.Gate != nil || (run.Request != nil && run.Request.Gate != nil) {
		return WriteGateMarkdown(w, run, run.Gate)
	}
	return WriteMarkdown(w, Build(run))
}
