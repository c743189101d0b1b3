package collect

import (
	"context"

	"github.com/benchrig/benchrig"
)

// Sink stores the collector's samples: the run store by default, or
// Elasticsearch. The collector calls WriteSamples from its flusher
// goroutine only, never from a sampler, so a slow sink delays shipping,
// not sampling; samples wait in the collector's bounded buffer meanwhile.
// WriteSamples returns once the batch is stored, or is held by the sink
// itself (a sink that spools to disk when its server is down). An error
// means the batch was neither: the collector counts it and says so.
// Writing a sample whose ID is already stored stores nothing.
type Sink interface {
	WriteSamples(ctx context.Context, samples []benchrig.Sample) error
}
