package reports

import (
	"io"

	"github.com/benchrig/benchrig"
)

// WriteGateText writes g for a terminal: the run's verdict, then a line
// per case with its numbers and reason. Stub: owned by helper B1.
func WriteGateText(w io.Writer, g *benchrig.GateResult) error { return nil }

// WriteJUnit writes run as JUnit XML: one test case per benchmark case; a
// regression or failed trials is a failure whose message has the numbers;
// an inconclusive case is skipped with its reason. g may be nil (no gate).
func WriteJUnit(w io.Writer, run *benchrig.Run, g *benchrig.GateResult) error { return nil }

// WriteGateMarkdown writes a summary of run and g fit for a pull-request
// comment or a CI step summary. g may be nil.
func WriteGateMarkdown(w io.Writer, run *benchrig.Run, g *benchrig.GateResult) error { return nil }
